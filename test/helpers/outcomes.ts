import { challenge } from './app.js';

/** The expected RFC 6750 answer of a hostile-token case: status, exact challenge and body. */
export interface Outcome {
  status: number;
  challenge?: string;
  body?: unknown;
  label: string;
  /** The server may close the connection instead of (or before) its answer being read. */
  mayResetConnection?: boolean;
}

export const invalidToken = (description: string): Outcome => ({
  status: 401,
  challenge: challenge({ error: 'invalid_token', description }),
  body: { statusCode: 401, error: 'Unauthorized', message: description },
  label: `401 invalid_token "${description}"`,
});
export const invalidRequest = (description: string): Outcome => ({
  status: 400,
  challenge: challenge({ error: 'invalid_request', description }),
  body: { statusCode: 400, error: 'Bad Request', message: description },
  label: `400 invalid_request "${description}"`,
});
export const insufficientScope = (scope: string): Outcome => ({
  status: 403,
  challenge: challenge({ error: 'insufficient_scope', description: 'Insufficient scope', scope }),
  body: { statusCode: 403, error: 'Forbidden', message: 'Insufficient scope' },
  label: `403 insufficient_scope for "${scope}"`,
});
/**
 * 401 invalid_token whose description is not pinned: the first check that trips depends on
 * jsonwebtoken's order (a JSON-array payload fails on `aud` before our payload-shape check).
 */

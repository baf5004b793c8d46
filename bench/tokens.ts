import { randomUUID } from 'node:crypto';
import { DOCUMENTS_API_AUDIENCE, type DevIssuer, type IssueTokenOptions } from '@nest-m2m/dev-issuer';

/**
 * A token of the dev issuer that no other carries: a `jti` of its own. The default (Auth0) profile
 * has none, so tokens signed in the same second would be byte-identical, and a list of "distinct"
 * tokens one or two — each verified-token cache entry the benches mean to create would not be.
 */
export function uniqueToken(issuer: DevIssuer, options: Partial<IssueTokenOptions> = {}): Promise<string> {
  const { clientId = 'documents-caller', audience = DOCUMENTS_API_AUDIENCE, claims } = options;
  return issuer.controls.issueToken({ ...options, clientId, audience, claims: { ...claims, jti: randomUUID() } });
}

/** `count` distinct tokens of `documents-caller` for the documents API (checked). */
export async function distinctTokens(issuer: DevIssuer, count: number): Promise<string[]> {
  const tokens = await Promise.all(Array.from({ length: count }, () => uniqueToken(issuer)));
  if (new Set(tokens).size !== count) throw new Error('tokens are not distinct');
  return tokens;
}

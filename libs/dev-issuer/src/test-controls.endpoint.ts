import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { delaySchema } from './faults.js';
import { mediaType, readBody, sendJson } from './http.js';
import { hostnameOf, isLoopback } from './loopback.js';
import type { DevIssuerControls } from './types.js';

export const TEST_CONTROLS_PREFIX = '/__test/';

const rotateSchema = z.strictObject({ keepOld: z.boolean().optional() });
const quotaSchema = z.strictObject({ clientId: z.string().min(1), quotaPerHour: z.number().int().nonnegative().nullable() });
const issueTokenSchema = z.strictObject({
  clientId: z.string().min(1),
  audience: z.string().min(1),
  claims: z.record(z.string(), z.unknown()).optional(),
  header: z.record(z.string(), z.unknown()).optional(),
  expiresIn: z.number().int().optional(),
});

type Route = { method: 'GET' | 'POST' | 'DELETE'; run: (body: unknown) => unknown };

/** Routes over DevIssuerControls for tests that run the issuer in another process. */
function routes(controls: DevIssuerControls): Record<string, Route> {
  return {
    rotate: { method: 'POST', run: async (body) => ({ kid: await controls.rotateKeys(rotateSchema.parse(body ?? {})) }) },
    faults: { method: 'POST', run: (body) => controls.failNext(body as never) },
    'clear-faults': { method: 'POST', run: () => controls.clearFaults() },
    delay: {
      method: 'POST',
      run: (body) => {
        const { endpoint, ms } = delaySchema.parse(body);
        controls.setDelay(endpoint, ms);
      },
    },
    quota: {
      method: 'POST',
      run: (body) => {
        const { clientId, quotaPerHour } = quotaSchema.parse(body);
        controls.setQuota(clientId, quotaPerHour);
      },
    },
    tokens: { method: 'POST', run: async (body) => ({ access_token: await controls.issueToken(issueTokenSchema.parse(body)) }) },
    reset: { method: 'POST', run: () => controls.reset() },
    counters: { method: 'GET', run: () => controls.counters() },
    'reset-counters': { method: 'POST', run: () => controls.resetCounters() },
  };
}

/**
 * Why a request may not drive the controls, if it may not. They mint tokens and rotate keys, so a
 * web page in the developer's browser must not reach them: a Host other than loopback is DNS
 * rebinding, an Origin other than loopback is a cross-site request, and only JSON bodies are taken
 * because a JSON POST cannot be sent cross-site without a CORS preflight, which this server never
 * grants (text/plain and form POSTs can).
 */
function refusal(req: IncomingMessage, method: Route['method']): [status: number, error: string, description: string] | undefined {
  const host = req.headers.host;
  const hostname = host === undefined ? undefined : hostnameOf(host, 'host');
  if (hostname === undefined || !isLoopback(hostname))
    return [403, 'access_denied', 'Test controls answer only requests addressed to a loopback Host'];
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const originHost = hostnameOf(origin, 'origin');
    if (originHost === undefined || !isLoopback(originHost))
      return [403, 'access_denied', 'Test controls answer only requests from a loopback Origin'];
  }
  if (method !== 'GET' && mediaType(req) !== 'application/json')
    return [415, 'invalid_request', 'Test controls take Content-Type: application/json'];
  return undefined;
}

/** Answers /__test/<name>; false when no such control exists (the caller answers 404). */
export async function handleTestControl(
  controls: DevIssuerControls,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const table = routes(controls);
  const route = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!route) return false;
  if (req.method !== route.method) {
    sendJson(res, 405, { error: 'method_not_allowed', error_description: `Use ${route.method}` }, { Allow: route.method });
    return true;
  }
  const refused = refusal(req, route.method);
  if (refused) {
    sendJson(res, refused[0], { error: refused[1], error_description: refused[2] });
    return true;
  }
  try {
    const text = route.method === 'GET' ? '' : await readBody(req);
    const result = await route.run(text.trim() === '' ? undefined : JSON.parse(text));
    if (result === undefined) {
      res.writeHead(204).end();
    } else {
      sendJson(res, 200, result);
    }
  } catch (error) {
    const message =
      error instanceof z.ZodError
        ? error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')
        : (error as Error).message;
    sendJson(res, 400, { error: 'invalid_request', error_description: message });
  }
  return true;
}

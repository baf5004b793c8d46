import { readTextWithin } from './limited-body.js';
import { isSecureUrl, SECURE_URL_RULE } from './secure-url.js';

/** JSON over HTTP for discovery and JWKS: https (or loopback), a hard deadline, no redirects, a size limit. */
export class FetchError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

/** Counted while the body streams (JWKS and discovery documents are a few KiB). */
const MAX_BODY_BYTES = 512 * 1024;

export async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  // The last line behind the option and discovery checks: a `resolveJwksUri` of the user's own
  // must not send us to fetch keys over plain http across the network either.
  if (!isSecureUrl(url)) throw new FetchError(`GET ${url} refused: the URL ${SECURE_URL_RULE}`);
  let response: Response;
  try {
    // redirect: 'error' — a JWKS or metadata document that moves is a configuration problem, and
    // following it would let whoever controls the redirect target choose our keys.
    response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
    throw new FetchError(timedOut ? `GET ${url} timed out after ${timeoutMs} ms` : `GET ${url} failed: ${(err as Error).message}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new FetchError(`GET ${url} answered ${response.status}`, response.status);
  }
  let text: string | undefined;
  try {
    text = await readTextWithin(response, MAX_BODY_BYTES);
  } catch (err) {
    const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
    throw new FetchError(
      timedOut ? `GET ${url} timed out after ${timeoutMs} ms` : `GET ${url} failed while reading: ${(err as Error).message}`,
    );
  }
  if (text === undefined) throw new FetchError(`GET ${url} answered a body over ${MAX_BODY_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw new FetchError(`GET ${url} did not answer JSON`);
  }
}

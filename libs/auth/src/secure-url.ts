import { isIP } from 'node:net';

/** The rule's wording, for every message that refuses a URL. */
export const SECURE_URL_RULE = 'must be an https:// URL (http:// only for loopback hosts: localhost, 127.0.0.0/8, [::1])';

/**
 * The one transport rule for every URL this package fetches from or sends a credential to,
 * configured or discovered: https, or plain http to this machine (local issuers, tests). Over http
 * across a network an on-path attacker swaps the JWKS for their own keys and forges any token, or
 * reads the client secret off the token request.
 */
export function isSecureUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/** WHATWG URL has already normalised the host (`127.1` → `127.0.0.1`, `[::1]` bracketed, lower case). */
function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

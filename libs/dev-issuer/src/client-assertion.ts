import { decodeJwt, errors, jwtVerify } from 'jose';
import { CLIENT_ASSERTION_ALGORITHMS } from './config.js';
import { invalidClient } from './errors.js';
import type { RegisteredClient, Registry } from './registry.js';
import type { DevIssuerClock } from './types.js';

/** RFC 7523 §2.2: the only client assertion type we accept. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/*
 * Auth0's limits ("Authenticate with Private Key JWT"): a lifetime of at most 5 minutes, a clock
 * skew of up to 10 seconds for `iat` and `nbf`, an assertion of at most 2048 bytes, and `iss`,
 * `sub` and `jti` of at most 64 characters (`alg` at most 16). The five minutes also bound the
 * replay cache.
 */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 10;
export const MAX_ASSERTION_BYTES = 2048;
const MAX_CLAIM_CHARACTERS = 64;

/**
 * Verifies `private_key_jwt` client assertions (RFC 7523 §3, OIDC Core §9): signed by a key the
 * client registered, `iss` = `sub` = client id, `aud` the issuer or token endpoint, short-lived,
 * and each `jti` used once — a captured assertion cannot be replayed (RFC 7523 §3 item 7).
 */
export class ClientAssertionVerifier {
  /** `${clientId}\0${jti}` → exp. Entries past exp are dropped: an expired assertion fails anyway. */
  private readonly usedJtis = new Map<string, number>();

  constructor(
    private readonly registry: Registry,
    private readonly audiences: string[],
    private readonly clock: DevIssuerClock,
  ) {}

  async verify(assertion: string, bodyClientId: string | undefined): Promise<RegisteredClient> {
    if (Buffer.byteLength(assertion) > MAX_ASSERTION_BYTES)
      throw invalidClient(`client_assertion must be at most ${MAX_ASSERTION_BYTES} bytes`);
    let unverified: ReturnType<typeof decodeJwt>;
    try {
      unverified = decodeJwt(assertion);
    } catch {
      throw invalidClient('Malformed client_assertion');
    }
    for (const claim of ['iss', 'sub', 'jti'] as const) {
      const value = unverified[claim];
      if (typeof value === 'string' && value.length > MAX_CLAIM_CHARACTERS)
        throw invalidClient(`client_assertion ${claim} must be at most ${MAX_CLAIM_CHARACTERS} characters`);
    }
    const clientId = unverified.sub;
    if (typeof clientId !== 'string' || unverified.iss !== clientId) {
      throw invalidClient('client_assertion iss and sub must both be the client_id');
    }
    if (bodyClientId !== undefined && bodyClientId !== clientId) throw invalidClient('client_id does not match the client_assertion');
    const client = this.registry.clients.get(clientId);
    if (!client) throw invalidClient('Unknown client');
    if (!client.allows('private_key_jwt') || !client.keySet)
      throw invalidClient('Client is not allowed to authenticate with private_key_jwt');

    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(assertion, client.keySet, {
        algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
        issuer: clientId,
        subject: clientId,
        audience: this.audiences,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock.now()),
      }));
    } catch (error) {
      throw invalidClient(describe(error));
    }

    const now = Math.floor(this.clock.now() / 1000);
    // jose checks nbf against the tolerance but takes any iat; Auth0 allows the same 10 s for both.
    if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_TOLERANCE_SECONDS) {
      throw invalidClient(`client_assertion iat is more than ${CLOCK_TOLERANCE_SECONDS} seconds in the future`);
    }
    const exp = payload.exp!;
    const from = typeof payload.iat === 'number' ? payload.iat : now;
    if (exp - from > MAX_ASSERTION_LIFETIME_SECONDS || exp - now > MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
      throw invalidClient(`client_assertion exp must be at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds after iat and now`);
    }
    this.forgetExpired(now);
    const key = `${clientId}\0${String(payload.jti)}`;
    if (this.usedJtis.has(key)) throw invalidClient('client_assertion jti has already been used');
    this.usedJtis.set(key, exp);
    return client;
  }

  private forgetExpired(now: number): void {
    for (const [key, exp] of this.usedJtis) if (exp + CLOCK_TOLERANCE_SECONDS < now) this.usedJtis.delete(key);
  }
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'client_assertion has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `client_assertion ${error.claim} claim is invalid: ${error.message}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'client_assertion signature is invalid';
  if (error instanceof errors.JOSEAlgNotAllowed) return `client_assertion alg must be one of ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}`;
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return 'No registered key of the client matches the client_assertion';
  return `Invalid client_assertion: ${error instanceof Error ? error.message : String(error)}`;
}

import type { ServerResponse } from 'node:http';
import type { ClientAuthenticator } from './client-auth.js';
import type { Counters } from './counters.js';
import type { DpopTokenEndpoint } from './dpop.js';
import type { FaultEndpoint, Faults } from './faults.js';
import type { SigningKeys } from './keys.js';
import type { Quotas } from './quota.js';
import type { RateLimiter } from './rate-limit.js';
import type { Registry } from './registry.js';
import type { DevIssuerClock, DevIssuerLogger } from './types.js';

/** Everything an endpoint handler needs, built once per issuer by the server. */
export interface IssuerContext {
  url: string;
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  registry: Registry;
  keys: SigningKeys;
  authenticator: ClientAuthenticator;
  faults: Faults;
  quotas: Quotas;
  /** Absent when the issuer was started with `rateLimit: false`. */
  rateLimiter?: RateLimiter;
  counters: Counters;
  defaultLifetimeSeconds: number;
  /** DPoP proofs on token requests (RFC 9449 §5). */
  dpop: DpopTokenEndpoint;
  logger?: DevIssuerLogger;
  clock: DevIssuerClock;
  /** Applies any injected fault; true when it answered (or hung) the request itself. */
  runFaults(endpoint: FaultEndpoint, res: ServerResponse, headers?: Record<string, string>): Promise<boolean>;
}

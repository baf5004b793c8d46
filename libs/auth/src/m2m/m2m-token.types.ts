import type { M2MQuota } from './quota.js';

/** What `M2MTokenService` is asked for. */
export interface M2MTokenRequest {
  /** Audience (Auth0) or resource indicator (RFC 8707) of the API to call. */
  audience: string;
  scopes?: string[];
  /** A DPoP-bound token (RFC 9449) for the module's `dpop` key, cached apart from Bearer tokens. */
  dpop?: boolean;
}

export interface M2MToken {
  accessToken: string;
  expiresAt: Date;
  scope?: string;
  tokenType: string;
}

export interface M2MStats {
  /** HTTP requests sent to the token endpoint, retries included. */
  tokenRequests: number;
  cacheHits: number;
  cacheMisses: number;
  /** Renewals that failed after their retries. */
  failures: number;
}

/** Events for metrics and tracing; payloads never contain a token or a secret. */
export interface M2MEvents {
  token_request: [{ audience: string; attempt: number }];
  token_issued: [{ audience: string; scopes: string[]; expiresAt: Date }];
  failure: [{ audience: string; scopes: string[]; error: Error; servedStale: boolean }];
  quota: [M2MQuota];
}

/**
 * Embedded Auth0-compatible OAuth 2.0 authorization server for the client-credentials grant.
 * For local runs and tests only: it refuses NODE_ENV=production and non-loopback addresses.
 */
export { startDevIssuer } from './dev-issuer.server.js';
export { DevIssuerTokenError, type GetTokenOptions } from './client-token.js';
export type { DevIssuer, DevIssuerClock, DevIssuerControls, DevIssuerLogger, DevIssuerOptions, IssueTokenOptions } from './types.js';
export {
  AUDIT_API_AUDIENCE,
  DEFAULT_APIS,
  DEFAULT_CLIENTS,
  DEFAULT_DEV_ISSUER_CONFIG,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  DOCUMENTS_API_AUDIENCE,
} from './defaults.js';
export {
  ACCESS_TOKEN_PROFILES,
  CLIENT_ASSERTION_ALGORITHMS,
  DevIssuerConfigError,
  loadDevIssuerConfig,
  ORGANIZATION_USAGES,
  resolveDevIssuerConfig,
  TOKEN_ENDPOINT_AUTH_METHODS,
} from './config.js';
export type {
  AccessTokenProfile,
  DevIssuerApi,
  DevIssuerClient,
  DevIssuerClientGrant,
  DevIssuerConfig,
  DevIssuerOrganization,
  DevIssuerTenantSettings,
  OrganizationUsage,
  TokenEndpointAuthMethod,
} from './config.js';
export { DEFAULT_RATE_LIMIT, RATE_LIMIT_MESSAGE, type RateLimitOptions } from './rate-limit.js';
export type { FaultEndpoint, FaultSpec } from './faults.js';
export type { DevIssuerCounters } from './counters.js';
export { JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';
export { DEFAULT_STATE_FILE, readDevIssuerState, removeDevIssuerState, writeDevIssuerState } from './state-file.js';
export type { DevIssuerState } from './state-file.js';

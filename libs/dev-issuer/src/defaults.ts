import type { DevIssuerApi, DevIssuerClient, DevIssuerConfig } from './config.js';

export const DOCUMENTS_API_AUDIENCE = 'https://documents.nest-m2m.local';
export const AUDIT_API_AUDIENCE = 'https://audit.nest-m2m.local';

/** The two sample APIs of nest-m2m, with RBAC so tokens carry `permissions` like Auth0's. */
export const DEFAULT_APIS: readonly DevIssuerApi[] = [
  {
    identifier: DOCUMENTS_API_AUDIENCE,
    name: 'Documents API',
    scopes: ['read:documents', 'write:documents', 'delete:documents'],
    rbac: true,
  },
  { identifier: AUDIT_API_AUDIENCE, name: 'Audit API', scopes: ['write:audit', 'read:audit'], rbac: true },
];

/**
 * Default clients. Secrets are left out on purpose: they are generated at every start, so no
 * well-known credential exists. `any` lets local tools use post or basic without configuration.
 */
export const DEFAULT_CLIENTS: readonly DevIssuerClient[] = [
  {
    clientId: 'documents-caller',
    name: 'Documents caller',
    tokenEndpointAuthMethod: 'any',
    grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents', 'write:documents', 'delete:documents'] }],
  },
  {
    clientId: 'nest-m2m-service',
    name: 'nest-m2m service (its own identity for outgoing calls)',
    tokenEndpointAuthMethod: 'any',
    grants: [{ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] }],
  },
  {
    clientId: 'auditor',
    name: 'Auditor',
    tokenEndpointAuthMethod: 'any',
    grants: [{ audience: AUDIT_API_AUDIENCE, scopes: ['read:audit'] }],
  },
];

export const DEFAULT_DEV_ISSUER_CONFIG: DevIssuerConfig = {
  apis: DEFAULT_APIS.map((api) => ({ ...api, scopes: [...api.scopes] })),
  clients: DEFAULT_CLIENTS.map((client) => ({ ...client, grants: client.grants.map((g) => ({ ...g, scopes: [...g.scopes] })) })),
};

/** Auth0's default access-token lifetime for an API ("Token Expiration", 86400 s). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 86_400;

import type { IssuerDiscovery } from '@nest-m2m/auth';
import { type AppConfig, configuredTokenEndpoint } from './app-config.js';

/**
 * The issuer's token endpoint, for outgoing tokens, their readiness probe and the OpenAPI scheme:
 * the configured one (`AUTH_TOKEN_URL`, Auth0's `/oauth/token`), else the discovered `token_endpoint`.
 */
export async function resolveTokenEndpoint(config: AppConfig, discovery: IssuerDiscovery): Promise<string> {
  const configured = configuredTokenEndpoint(config.env);
  if (configured) return configured;
  const endpoint = (await discovery.get()).token_endpoint;
  if (!endpoint) throw new Error(`Issuer ${config.issuer.issuer} publishes no token_endpoint; set AUTH_TOKEN_URL`);
  return endpoint;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { signAccessToken } from './access-token.js';
import { ClientAuthenticator } from './client-auth.js';
import type { DevIssuerApi, DevIssuerClientGrant, DevIssuerOrganization } from './config.js';
import type { IssuerContext } from './context.js';
import { accessDenied, invalidRequest, OAuthError, unauthorizedClient } from './errors.js';
import { mediaType, readBody, sendError, sendJson } from './http.js';
import type { RegisteredClient } from './registry.js';
import { parseTokenRequestBody, single, type RequestParams } from './request-params.js';

/** RFC 6749 §5.1: token responses (and, here, error responses) must not be cached. */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/**
 * The requested API. Auth0 reads `audience`; RFC 8707's `resource` only under the tenant's Resource
 * Parameter Compatibility Profile, and then only when there is no `audience` (Auth0: "If both the
 * resource and audience are available, the audience will still be used").
 */
function requestedAudience(ctx: IssuerContext, params: RequestParams): string | undefined {
  const audience = single(params, 'audience');
  if (audience !== undefined || ctx.registry.config.tenant?.resourceParameterProfile !== 'compatibility') return audience;
  const resources = (params.get('resource') ?? []).filter((value) => value !== '');
  if (resources.length > 1) throw new OAuthError(400, 'invalid_target', 'Only one resource per request is supported');
  const resource = resources[0];
  // RFC 8707 §2: a resource is an absolute URI without a fragment.
  if (resource !== undefined && (!URL.canParse(resource) || resource.includes('#'))) {
    throw new OAuthError(400, 'invalid_target', 'resource must be an absolute URI without a fragment');
  }
  return resource;
}

/** The API and the client's grant for it, or Auth0's refusal (its exact messages). */
function grantedApi(
  ctx: IssuerContext,
  client: RegisteredClient,
  audience: string | undefined,
): { api: DevIssuerApi; grant: DevIssuerClientGrant } {
  if (audience === undefined) throw accessDenied(403, 'No audience parameter was provided, and no default audience has been configured');
  const api = ctx.registry.apis.get(audience);
  if (!api) throw accessDenied(403, `Service not found: ${audience}`);
  const grant = client.grantFor(audience);
  if (!grant) {
    throw accessDenied(
      403,
      `Client is not authorized to access "${audience}". You might probably want to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
    );
  }
  return { api, grant };
}

/**
 * The organization named by the `organization` parameter, checked against the grant's
 * `organization_usage` (Auth0 "Machine-to-Machine Access for Organizations"). The texts are ours:
 * Auth0 documents the rules, not the messages.
 */
function requestedOrganization(
  ctx: IssuerContext,
  params: RequestParams,
  client: RegisteredClient,
  grant: DevIssuerClientGrant,
): DevIssuerOrganization | undefined {
  const named = single(params, 'organization');
  const usage = grant.organizationUsage ?? 'deny';
  if (named === undefined) {
    if (usage === 'require') throw accessDenied(403, `An organization is required to access "${grant.audience}"`);
    return undefined;
  }
  if (usage === 'deny') throw accessDenied(403, `Organizations are not allowed for the client grant to "${grant.audience}"`);
  const organization = ctx.registry.organization(named);
  if (!organization) throw accessDenied(403, `Organization not found: ${named}`);
  const associated = (organization.clientGrants ?? []).some(
    (link) => link.clientId === client.clientId && link.audience === grant.audience,
  );
  if (!grant.allowAnyOrganization && !associated) {
    throw accessDenied(403, `Client is not authorized to access "${grant.audience}" for organization "${organization.id}"`);
  }
  return organization;
}

/**
 * Auth0 ignores a `scope` parameter that asks for less: the token carries every granted scope. The
 * response names the scopes only when they differ from the requested ones (RFC 6749 §5.1: `scope`
 * is optional when identical), which is what Auth0 does.
 */
function responseScope(params: RequestParams, granted: readonly string[]): string | undefined {
  if (granted.length === 0) return undefined;
  const requested = single(params, 'scope')?.split(' ').filter(Boolean);
  const same = requested !== undefined && requested.length === granted.length && granted.every((scope) => requested.includes(scope));
  return same ? undefined : granted.join(' ');
}

async function issue(ctx: IssuerContext, params: RequestParams, authorization: string | undefined, jkt?: string) {
  const grantType = single(params, 'grant_type');
  if (grantType === undefined) throw invalidRequest('Missing required parameter: grant_type');
  if (grantType !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);

  const { client } = await ctx.authenticator.authenticate(params, authorization);
  if (!client.allowsGrantType(grantType)) throw unauthorizedClient(grantType);

  const { api, grant } = grantedApi(ctx, client, requestedAudience(ctx, params));
  const organization = requestedOrganization(ctx, params, client, grant);

  const now = ctx.clock.now();
  const quota = ctx.quotas.check(client.clientId, now / 1000);
  if (quota.exceeded) throw new OAuthError(429, 'too_many_requests', 'Client quota exceeded', quota.headers);

  const scopes = [...grant.scopes];
  const lifetimeSeconds = api.tokenLifetimeSeconds ?? ctx.defaultLifetimeSeconds;
  const withOrgName = ctx.registry.config.tenant?.allowOrganizationNameInAuthenticationApi === true;
  const accessToken = await signAccessToken(
    ctx.keys,
    ctx.issuer,
    {
      clientId: client.clientId,
      audience: api.identifier,
      scopes,
      lifetimeSeconds,
      api,
      organization,
      withOrgName,
      claims: jkt ? { cnf: { jkt } } : undefined,
    },
    now,
  );
  const headers = ctx.quotas.consume(client.clientId, now / 1000);
  ctx.counters.increment('tokensIssued');
  const scope = responseScope(params, scopes);
  const body = { access_token: accessToken, ...(scope !== undefined ? { scope } : {}), expires_in: lifetimeSeconds, token_type: 'Bearer' };
  return { body, headers };
}

/**
 * POST /oauth/token — the client-credentials grant (RFC 6749 §4.4) with Auth0's extensions. Order:
 * count, parse, injected faults (only when a test queued one), rate limit (its headers go on every
 * answer after it, as Auth0's do), then `issue`.
 */
export async function handleTokenRequest(ctx: IssuerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  ctx.counters.increment('tokenRequests');
  let params: RequestParams | OAuthError;
  try {
    params = parseTokenRequestBody(mediaType(req), await readBody(req));
    const claimed = ClientAuthenticator.claimedClientId(params, req.headers.authorization);
    if (claimed !== undefined) ctx.counters.tokenRequestBy(claimed);
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    params = error;
  }
  if (await ctx.runFaults('token', res, NO_STORE)) return;
  let rateLimitHeaders: Record<string, string> = {};
  try {
    rateLimitHeaders = ctx.rateLimiter?.take(ctx.clock.now() / 1000) ?? {};
    if (params instanceof OAuthError) throw params;
    // RFC 9449 §5: a valid DPoP proof binds the token to its key (dpop.ts).
    const jkt = await ctx.dpop.check(req);
    const { body, headers } = await issue(ctx, params, req.headers.authorization, jkt);
    if (jkt) body.token_type = 'DPoP';
    sendJson(res, 200, body, { ...NO_STORE, ...rateLimitHeaders, ...headers });
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    sendError(res, error, { ...NO_STORE, ...rateLimitHeaders });
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { signAccessToken } from './access-token.js';
import { ClientAuthenticator } from './client-auth.js';
import type { IssuerContext } from './context.js';
import { accessDenied, invalidRequest, OAuthError } from './errors.js';
import { mediaType, readBody, sendError, sendJson } from './http.js';
import { parseTokenRequestBody, single, type RequestParams } from './request-params.js';

/** RFC 6749 §5.1: token responses (and, here, error responses) must not be cached. */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/**
 * The requested API: Auth0's `audience`, or RFC 8707's `resource` (one per request here). Both at
 * once must agree.
 */
function requestedAudience(params: RequestParams): string | undefined {
  const audience = single(params, 'audience');
  const resources = (params.get('resource') ?? []).filter((value) => value !== '');
  if (resources.length > 1) throw new OAuthError(400, 'invalid_target', 'Only one resource per request is supported');
  const resource = resources[0];
  // RFC 8707 §2: a resource is an absolute URI without a fragment.
  if (resource !== undefined && (!URL.canParse(resource) || resource.includes('#'))) {
    throw new OAuthError(400, 'invalid_target', 'resource must be an absolute URI without a fragment');
  }
  if (audience !== undefined && resource !== undefined && audience !== resource) throw invalidRequest('audience and resource name different APIs');
  return audience ?? resource;
}

async function issue(ctx: IssuerContext, params: RequestParams, authorization: string | undefined, jkt?: string) {
  const grantType = single(params, 'grant_type');
  if (grantType === undefined) throw invalidRequest('Missing required parameter: grant_type');
  if (grantType !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);

  const { client } = await ctx.authenticator.authenticate(params, authorization);

  const audience = requestedAudience(params);
  // Auth0's exact messages, so clients' error handling can be tested against them.
  if (audience === undefined) throw accessDenied(403, 'No audience parameter was provided, and no default audience has been configured');
  const api = ctx.registry.apis.get(audience);
  if (!api) throw accessDenied(403, `Service not found: ${audience}`);
  const grant = client.grantFor(audience);
  if (!grant) {
    throw accessDenied(
      403,
      `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
    );
  }

  const quota = ctx.quotas.check(client.clientId);
  if (quota.exceeded) throw new OAuthError(429, 'too_many_requests', 'Client quota exceeded', quota.headers);

  // Auth0 ignores a `scope` parameter that asks for less: the token carries every granted scope.
  const scopes = [...grant.scopes];
  const lifetimeSeconds = api.tokenLifetimeSeconds ?? ctx.defaultLifetimeSeconds;
  const accessToken = await signAccessToken(ctx.keys, ctx.issuer, { clientId: client.clientId, audience, scopes, lifetimeSeconds, api, claims: jkt ? { cnf: { jkt } } : undefined });
  const headers = ctx.quotas.consume(client.clientId);
  ctx.counters.increment('tokensIssued');
  const body = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: lifetimeSeconds,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  };
  return { body, headers };
}

/** POST /oauth/token — the client-credentials grant (RFC 6749 §4.4) with Auth0's extensions. */
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
  try {
    if (params instanceof OAuthError) throw params;
    // RFC 9449 §5: a valid DPoP proof binds the token to its key (dpop.ts).
    const jkt = await ctx.dpop.check(req);
    const { body, headers } = await issue(ctx, params, req.headers.authorization, jkt);
    if (jkt) body.token_type = 'DPoP';
    sendJson(res, 200, body, { ...NO_STORE, ...headers });
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    sendError(res, error, NO_STORE);
  }
}

import { signAccessToken } from './access-token.js';
import type { IssuerContext } from './context.js';
import type { DevIssuerControls } from './types.js';

/** The programmatic test controls; the HTTP routes under /__test/ call these. */
export function createControls(ctx: IssuerContext): DevIssuerControls {
  return {
    rotateKeys: async (options = {}) => {
      const kid = await ctx.keys.rotate(options.keepOld ?? false);
      ctx.logger?.log(`dev issuer: rotated signing key to ${kid} (${options.keepOld ? 'old keys kept' : 'old keys dropped'})`);
      return kid;
    },
    currentKid: () => ctx.keys.current.kid,
    jwks: () => ctx.keys.jwks(),
    issueToken: async ({ clientId, audience, claims, header, expiresIn }) => {
      const api = ctx.registry.apis.get(audience);
      const scopes = ctx.registry.clients.get(clientId)?.grantFor(audience)?.scopes ?? [];
      const lifetimeSeconds = expiresIn ?? api?.tokenLifetimeSeconds ?? ctx.defaultLifetimeSeconds;
      return signAccessToken(ctx.keys, ctx.issuer, { clientId, audience, scopes, lifetimeSeconds, api, claims, header }, ctx.clock.now());
    },
    failNext: (fault) => ctx.faults.failNext(fault),
    setDelay: (endpoint, ms) => ctx.faults.setDelay(endpoint, ms),
    clearFaults: () => ctx.faults.clear(),
    setQuota: (clientId, quotaPerHour) => ctx.quotas.set(clientId, quotaPerHour),
    counters: () => ctx.counters.snapshot(),
    resetCounters: () => ctx.counters.reset(),
    reset: () => {
      ctx.faults.clear();
      ctx.counters.reset();
      ctx.quotas.reset();
      ctx.rateLimiter?.reset();
    },
  };
}

import { Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AUTH_MODULE_OPTIONS, AUTH_OPTIONS_TYPE, AUTH_ASYNC_OPTIONS_TYPE, ConfigurableAuthModule } from './auth.module-definition.js';
import type { AuthModuleOptions } from './auth.options.js';
import { AuthEvents } from './auth.events.js';
import { BearerErrorFilter } from './bearer-error.filter.js';
import { IssuerDiscovery } from './issuer-discovery.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { DEFAULT_ALGORITHMS, JwtStrategy } from './jwt.strategy.js';
import { KeySource } from './key-source.js';
import { KeyWarmer } from './key-warmer.js';
import { RouteAudiences } from './route-audiences.js';
import { ScopesGuard } from './scopes.guard.js';
import { GlobalAuthGuard } from './global-auth.guard.js';
import { VerifiedTokenCache } from './verified-token.cache.js';
import { assertAuthOptions } from './auth.options.assert.js';
import { systemClock } from './clock.js';
import { DpopVerifier } from './dpop/dpop.verifier.js';

const SYMMETRIC = /^HS/i;

const coreProviders: Provider[] = [
  AuthEvents,
  {
    provide: IssuerDiscovery,
    inject: [AUTH_MODULE_OPTIONS],
    useFactory: (o: AuthModuleOptions) => {
      assertAuthOptions(o);
      return new IssuerDiscovery(o.issuer, o.jwksTimeoutMs ?? 3000);
    },
  },
  {
    provide: KeySource,
    inject: [AUTH_MODULE_OPTIONS, IssuerDiscovery, AuthEvents],
    useFactory: (o: AuthModuleOptions, discovery: IssuerDiscovery, events: AuthEvents) => {
      const source = new KeySource({
        resolveJwksUri: async () => o.jwksUri ?? (await discovery.get()).jwks_uri,
        algorithms: (o.algorithms ?? DEFAULT_ALGORITHMS).filter((a) => !SYMMETRIC.test(a)),
        timeoutMs: o.jwksTimeoutMs ?? 3000,
        cooldownMs: o.jwksCooldownMs ?? 10_000,
        maxAgeMs: o.jwksMaxAgeMs ?? 600_000,
        staleIfErrorMs: o.jwksStaleIfErrorMs ?? 6 * 3600_000,
        clockToleranceMs: (o.clockToleranceSeconds ?? 5) * 1000,
        clock: o.clock ?? systemClock,
      });
      source.onFetch((outcome) => events.emitJwksFetched(outcome));
      return source;
    },
  },
  {
    provide: VerifiedTokenCache,
    inject: [AUTH_MODULE_OPTIONS],
    useFactory: (o: AuthModuleOptions) =>
      new VerifiedTokenCache({ maxEntries: o.verifiedTokenCacheSize, maxBytes: o.verifiedTokenCacheMaxBytes, clock: o.clock }),
  },
  { provide: DpopVerifier, inject: [AUTH_MODULE_OPTIONS], useFactory: (o: AuthModuleOptions) => new DpopVerifier(o) },
  KeyWarmer,
  RouteAudiences,
  JwtStrategy,
  ScopesGuard,
  JwtAuthGuard,
  { provide: APP_FILTER, useClass: BearerErrorFilter },
];

const exported = [AuthEvents, IssuerDiscovery, KeySource, VerifiedTokenCache, RouteAudiences, ScopesGuard, JwtAuthGuard, JwtStrategy];

/**
 * Incoming M2M authentication: `AuthModule.forRoot({ issuer, audience })`, then
 * `@UseGuards(AuthGuard('jwt'), ScopesGuard)` and `@Scopes(...)` on routes — or `globalGuards: true`
 * to protect every route by default (`@Public()` opts out).
 */
@Module({ imports: [PassportModule, DiscoveryModule], providers: coreProviders, exports: exported })
export class AuthModule extends ConfigurableAuthModule {
  static forRoot(options: typeof AUTH_OPTIONS_TYPE) {
    return withGlobalGuards(super.forRoot(options), options.globalGuards);
  }

  static forRootAsync(options: typeof AUTH_ASYNC_OPTIONS_TYPE) {
    return withGlobalGuards(super.forRootAsync(options), options.globalGuards);
  }
}

function withGlobalGuards<T extends { providers?: Provider[] }>(definition: T, globalGuards?: boolean): T {
  if (!globalGuards) return definition;
  return {
    ...definition,
    providers: [
      ...(definition.providers ?? []),
      // JwtAuthGuard then ScopesGuard, as one guard: Nest runs each global guard in turn per request.
      GlobalAuthGuard,
      { provide: APP_GUARD, useExisting: GlobalAuthGuard },
    ],
  };
}

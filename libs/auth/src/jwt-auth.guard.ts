import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { Observable } from 'rxjs';
import { AUTH_STRATEGY_NAME } from './auth.constants.js';
import { JwtStrategy } from './jwt.strategy.js';
import type { AuthPrincipal } from './principal.js';
import { routeRequirements } from './route-requirements.js';
import { DPOP_ROUTE_MODE } from './dpop/dpop.verifier.js';
import { SpanKind, withSpan } from './tracing.js';

/**
 * `AuthGuard('jwt')` that lets `@Public()` routes through; installed globally by `globalGuards`.
 *
 * A token already in the verified-token cache is answered here, without entering passport (which
 * builds a context, closures and a promise per request): the same principal lands on the request,
 * and `ScopesGuard` still checks the route's scopes. Misses, and every refusal's typed error, take
 * passport's path as before.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard(AUTH_STRATEGY_NAME) {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    // Typed by what the guard uses, so that the public declarations never reach passport-jwt's types.
    @Inject(JwtStrategy)
    private readonly strategy: { cachedPrincipal(request: object): AuthPrincipal | Promise<AuthPrincipal> | undefined },
  ) {
    super();
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> | Observable<boolean> {
    const route = routeRequirements(this.reflector, context.getHandler(), context.getClass());
    if (route.public) return true;
    const request = context.switchToHttp().getRequest<Record<string | symbol, unknown>>();
    if (route.dpop !== undefined) request[DPOP_ROUTE_MODE] = route.dpop;
    const principal = this.strategy.cachedPrincipal(request);
    // A cache miss: the full verification (key lookup, maybe a JWKS fetch, signature, claims) in a span.
    if (principal === undefined)
      return withSpan('auth.token.verify', SpanKind.INTERNAL, {}, () => super.canActivate(context) as Promise<boolean>);
    // Where AuthGuard puts the user (PassportModule's `property`, default 'user').
    const property = (this as unknown as { options?: { property?: string } }).options?.property ?? 'user';
    if (principal instanceof Promise) {
      return principal.then((p) => {
        request[property] = p;
        return true;
      });
    }
    request[property] = principal;
    return true;
  }
}

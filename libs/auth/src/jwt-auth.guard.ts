import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AUTH_STRATEGY_NAME, PUBLIC_METADATA } from './auth.constants.js';
import { JwtStrategy } from './jwt.strategy.js';
import type { AuthPrincipal } from './principal.js';
import { RouteMemo } from './route-memo.js';

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
  private readonly isPublic: RouteMemo<boolean>;

  constructor(
    @Inject(Reflector) reflector: Reflector,
    // Typed by what the guard uses, so that the public declarations never reach passport-jwt's types.
    @Inject(JwtStrategy) private readonly strategy: { cachedPrincipal(request: object): AuthPrincipal | undefined },
  ) {
    super();
    this.isPublic = new RouteMemo((targets) => reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets) === true);
  }

  override canActivate(context: ExecutionContext) {
    if (this.isPublic.get(context)) return true;
    const request = context.switchToHttp().getRequest<Record<string, unknown>>();
    const principal = this.strategy.cachedPrincipal(request);
    if (principal === undefined) return super.canActivate(context);
    // Where AuthGuard puts the user (PassportModule's `property`, default 'user').
    request[(this as unknown as { options?: { property?: string } }).options?.property ?? 'user'] = principal;
    return true;
  }
}

import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { InsufficientScopeError, MissingTokenError } from './bearer.errors.js';
import { type AuthPrincipal, scopesOf } from './principal.js';
import { RouteAudiences } from './route-audiences.js';
import { routeRequirements } from './route-requirements.js';

/**
 * Enforces what a route declares of its caller beyond a valid token: `@Audience()` (one of the
 * route's audiences in `aud`, else 401 `invalid_token`) and `@Scopes()` (every scope listed on the
 * class and on the method — getAllAndMerge, so both apply — else 403). Exact membership in a Set: no
 * prefix, suffix, case or separator tricks.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  private audiences?: RouteAudiences;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    // Found across the application (strict: false) on first use, so `@UseGuards(ScopesGuard)` works
    // in any module, whether or not it imports AuthModule, as it did before `@Audience()` existed.
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const route = routeRequirements(this.reflector, context.getHandler(), context.getClass());
    // Nothing to check on a route without `@Scopes()`/`@Audience()`, or marked `@Public()`.
    if (route.scopes.length === 0 && route.audiences.length === 0) return true;

    const principal = context.switchToHttp().getRequest<{ user?: AuthPrincipal }>().user;
    if (!principal) throw new MissingTokenError();
    if (route.audiences.length > 0) {
      this.audiences ??= this.moduleRef.get(RouteAudiences, { strict: false });
      this.audiences.check(route, principal);
    }
    const required = route.scopes;
    if (required.length === 0) return true;
    const granted = principal.scopes instanceof Set ? principal.scopes : scopesOf((principal.claims ?? {}) as Record<string, unknown>);
    for (const scope of required) if (!granted.has(scope)) throw new InsufficientScopeError(required);
    return true;
  }
}

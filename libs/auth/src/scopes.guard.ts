import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InsufficientScopeError, MissingTokenError } from './bearer.errors.js';
import { type AuthPrincipal, scopesOf } from './principal.js';
import { routeRequirements } from './route-requirements.js';

/**
 * Enforces `@Scopes()`: every scope listed on the class and on the method (getAllAndMerge, so both
 * apply). Exact membership in a Set: no prefix, suffix, case or separator tricks.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    // None for a route without `@Scopes()` or marked `@Public()`.
    const required = routeRequirements(this.reflector, context.getHandler(), context.getClass()).scopes;
    if (required.length === 0) return true;

    const principal = context.switchToHttp().getRequest<{ user?: AuthPrincipal }>().user;
    if (!principal) throw new MissingTokenError();
    const granted = principal.scopes instanceof Set ? principal.scopes : scopesOf((principal.claims ?? {}) as Record<string, unknown>);
    for (const scope of required) if (!granted.has(scope)) throw new InsufficientScopeError(required);
    return true;
  }
}

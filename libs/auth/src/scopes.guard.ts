import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_METADATA, SCOPES_METADATA } from './auth.constants.js';
import { InsufficientScopeError, MissingTokenError } from './bearer.errors.js';
import { type AuthPrincipal, scopesOf } from './principal.js';
import { RouteMemo } from './route-memo.js';

/**
 * Enforces `@Scopes()`: every scope listed on the class and on the method (getAllAndMerge, so both
 * apply). Exact membership in a Set: no prefix, suffix, case or separator tricks.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  /** The scopes a route requires; none for a route without `@Scopes()` or marked `@Public()`. */
  private readonly requiredScopes: RouteMemo<string[]>;

  constructor(@Inject(Reflector) reflector: Reflector) {
    this.requiredScopes = new RouteMemo((targets) => {
      if (reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets)) return [];
      return [...new Set(reflector.getAllAndMerge<string[]>(SCOPES_METADATA, targets) ?? [])];
    });
  }

  canActivate(context: ExecutionContext): boolean {
    const required = this.requiredScopes.get(context);
    if (required.length === 0) return true;

    const principal = context.switchToHttp().getRequest().user as AuthPrincipal | undefined;
    if (!principal) throw new MissingTokenError();
    const granted = principal.scopes instanceof Set ? principal.scopes : scopesOf((principal.claims ?? {}) as Record<string, unknown>);
    for (const scope of required) if (!granted.has(scope)) throw new InsufficientScopeError(required);
    return true;
  }
}

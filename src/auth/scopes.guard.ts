import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PUBLIC_METADATA, SCOPES_METADATA } from './auth.constants.js';
import { InsufficientScopeError, MissingTokenError } from './bearer.errors.js';
import { type AuthPrincipal, scopesOf } from './principal.js';

/**
 * Enforces `@Scopes()`: every scope listed on the class and on the method (getAllAndMerge, so both
 * apply). Exact membership in a Set: no prefix, suffix, case or separator tricks.
 */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const required = [...new Set(this.reflector.getAllAndMerge<string[]>(SCOPES_METADATA, targets) ?? [])];
    if (required.length === 0) return true;
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets)) return true;

    const principal = context.switchToHttp().getRequest().user as AuthPrincipal | undefined;
    if (!principal) throw new MissingTokenError();
    const granted = principal.scopes instanceof Set ? principal.scopes : scopesOf((principal.claims ?? {}) as Record<string, unknown>);
    if (!required.every((s) => granted.has(s))) throw new InsufficientScopeError(required);
    return true;
  }
}

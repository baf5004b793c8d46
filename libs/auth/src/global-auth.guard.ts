import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { routeRequirements } from './route-requirements.js';
import { ScopesGuard } from './scopes.guard.js';

/**
 * What `globalGuards: true` installs (internal): `JwtAuthGuard` then `ScopesGuard` as one global
 * guard, so Nest runs one guard per request instead of two, and a `@Public()` route is let through
 * after one lookup of its (cached) requirements. Same order and same answers as the two guards
 * installed in turn: authentication first (its refusal wins), then `@Audience()`/`@Scopes()`.
 * Both are the module's own instances, so `overrideGuard(JwtAuthGuard)` still reaches them.
 */
@Injectable()
export class GlobalAuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(JwtAuthGuard) private readonly authentication: CanActivate,
    @Inject(ScopesGuard) private readonly scopes: CanActivate,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (routeRequirements(this.reflector, context.getHandler(), context.getClass()).public) return true;
    const authenticated = this.authentication.canActivate(context);
    if (typeof authenticated === 'boolean') return authenticated && (this.scopes.canActivate(context) as boolean | Promise<boolean>);
    return settle(authenticated).then((ok) => ok && (this.scopes.canActivate(context) as boolean | Promise<boolean>));
  }
}

/**
 * A guard's answer as a promise: passport's `AuthGuard` answers with one; an Observable gives its
 * last value, as Nest's own GuardsConsumer takes it (`isObservable` + `lastValueFrom`; `false` if it
 * completes without one).
 */
function settle(answer: Promise<boolean> | Observable<boolean>): Promise<boolean> {
  return isObservable(answer) ? lastValueFrom(answer, { defaultValue: false }) : answer;
}

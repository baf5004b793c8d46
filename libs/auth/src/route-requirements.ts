import type { Reflector } from '@nestjs/core';
import { AUDIENCE_METADATA, DPOP_METADATA, PUBLIC_METADATA, SCOPES_METADATA } from './auth.constants.js';
import type { DpopMode } from './dpop/dpop.options.js';

/** What a route asks of its caller, as `@Public()`, `@Scopes()` and `@Audience()` on its class and method declare it. */
export interface RouteRequirements {
  /** `@Public()` on the method or its class: no token needed. */
  readonly public: boolean;
  /** Every scope listed by `@Scopes()` on the class and on the method (all required); none on a public route. */
  readonly scopes: readonly string[];
  /**
   * `@Audience()` on the method, else on its class: names (or literal values) of the audiences the
   * route accepts, resolved by the module's `namedAudiences`; none means every configured audience.
   */
  readonly audiences: readonly string[];
  /** `@Dpop()` on the method, else on its class: the route's DPoP mode; undefined means the module's. */
  readonly dpop?: DpopMode;
}

/** A route handler or controller class, as ExecutionContext.getHandler() and getClass() return them (internal). */
export type RouteTarget = Parameters<typeof routeRequirements>[1];

// Decorators are fixed once a class is defined, and the guards ask on every request: each route is
// read once. Bounded by the number of routes; weak, so classes of discarded test apps can go.
const byController = new WeakMap<object, WeakMap<object, RouteRequirements>>();

/**
 * The one reading of a route's auth metadata. `JwtAuthGuard` (is it public?), `ScopesGuard` (which
 * scopes?) and any documentation built from the routes (the service's OpenAPI document) all ask
 * here, so what is documented cannot drift from what is enforced. `@Public()` uses
 * getAllAndOverride (the method's word wins); `@Scopes()` uses getAllAndMerge (class and method
 * requirements both apply, DESIGN.md); `@Audience()` uses getAllAndOverride (a method narrows or
 * widens its class's choice).
 */
// `Function`: what ExecutionContext.getHandler() and getClass() return (public API, see etc/auth.api.md).
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- see above
export function routeRequirements(reflector: Reflector, handler: Function, controller: Function): RouteRequirements {
  let byHandler = byController.get(controller);
  if (byHandler === undefined) byController.set(controller, (byHandler = new WeakMap()));
  let requirements = byHandler.get(handler);
  if (requirements === undefined) {
    const targets = [handler, controller];
    const isPublic = reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets) === true;
    const scopes = isPublic ? [] : [...new Set(reflector.getAllAndMerge<string[]>(SCOPES_METADATA, targets) ?? [])];
    const audiences = isPublic ? [] : [...(reflector.getAllAndOverride<string[]>(AUDIENCE_METADATA, targets) ?? [])];
    const dpop = isPublic ? undefined : reflector.getAllAndOverride<DpopMode | undefined>(DPOP_METADATA, targets);
    requirements = Object.freeze({
      public: isPublic,
      scopes: Object.freeze(scopes),
      audiences: Object.freeze(audiences),
      ...(dpop !== undefined && { dpop }),
    });
    byHandler.set(handler, requirements);
  }
  return requirements;
}

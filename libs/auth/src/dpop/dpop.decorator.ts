import { SetMetadata } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { DPOP_METADATA } from '../auth.constants.js';
import type { DpopMode } from './dpop.options.js';
import type { RouteTarget } from '../route-requirements.js';

/**
 * Overrides the AuthModule's `dpop` mode for a route or controller (the method's word wins), e.g.
 * `@Dpop('required')` on the routes that must not accept bearer tokens. Read by `JwtAuthGuard`
 * (installed by `globalGuards`, or `@UseGuards(JwtAuthGuard)`); a plain `AuthGuard('jwt')` sees the
 * module's mode only.
 */
export const Dpop = (mode: DpopMode) => SetMetadata(DPOP_METADATA, mode);

// Decorators are fixed once a class is defined: each route is read once (as in route-requirements.ts).
const byController = new WeakMap<object, WeakMap<object, DpopMode | null>>();

/** The route's `@Dpop()` mode, or undefined when it has none. */
export function routeDpopMode(reflector: Reflector, handler: RouteTarget, controller: RouteTarget): DpopMode | undefined {
  let byHandler = byController.get(controller);
  if (byHandler === undefined) byController.set(controller, (byHandler = new WeakMap()));
  let mode = byHandler.get(handler);
  if (mode === undefined) {
    mode = reflector.getAllAndOverride<DpopMode | undefined>(DPOP_METADATA, [handler, controller]) ?? null;
    byHandler.set(handler, mode);
  }
  return mode ?? undefined;
}

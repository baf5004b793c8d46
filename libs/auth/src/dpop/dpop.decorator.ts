import { SetMetadata } from '@nestjs/common';
import { DPOP_METADATA } from '../auth.constants.js';
import type { DpopMode } from './dpop.options.js';

/**
 * Overrides the AuthModule's `dpop` mode for a route or controller (the method's word wins), e.g.
 * `@Dpop('required')` on the routes that must not accept bearer tokens. Read through `routeRequirements` (its `dpop`) by `JwtAuthGuard`
 * (installed by `globalGuards`, or `@UseGuards(JwtAuthGuard)`); a plain `AuthGuard('jwt')` sees the
 * module's mode only.
 */
export const Dpop = (mode: DpopMode) => SetMetadata(DPOP_METADATA, mode);

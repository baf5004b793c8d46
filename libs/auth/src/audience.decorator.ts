import { SetMetadata } from '@nestjs/common';
import { AUDIENCE_METADATA } from './auth.constants.js';

/**
 * Narrows the audiences a route (or every route of a controller) accepts, so that a token minted for
 * one API of a service does not open another: `@Audience('audit')` names an entry of the module's
 * `namedAudiences` option (resolved at start-up, so the audience can come from configuration), or is
 * an audience listed in its `audience` option. A token passes when one of its `aud` values is one of
 * the route's; otherwise 401 `invalid_token` (`ERR_AUTH_AUDIENCE_INVALID`). On a method it replaces
 * the class's. Enforced by `ScopesGuard` (installed with `JwtAuthGuard` by `globalGuards`); an
 * unknown name fails the application's start-up.
 */
export const Audience = (...audiences: [string, ...string[]]) => SetMetadata(AUDIENCE_METADATA, audiences);

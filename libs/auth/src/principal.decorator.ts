import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthPrincipal } from './principal.js';

/** The authenticated caller (`{ clientId, subject, scopes, claims }`), set by the JWT strategy. */
export const Principal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthPrincipal | undefined => ctx.switchToHttp().getRequest<{ user?: AuthPrincipal }>().user,
);

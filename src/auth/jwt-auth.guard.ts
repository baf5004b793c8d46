import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AUTH_STRATEGY_NAME, PUBLIC_METADATA } from './auth.constants.js';

/** `AuthGuard('jwt')` that lets `@Public()` routes through; installed globally by `globalGuards`. */
@Injectable()
export class JwtAuthGuard extends AuthGuard(AUTH_STRATEGY_NAME) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, [context.getHandler(), context.getClass()]);
    return isPublic ? true : super.canActivate(context);
  }
}

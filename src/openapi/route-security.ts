import { Reflector } from '@nestjs/core';
import { PUBLIC_METADATA, SCOPES_METADATA } from '@nest-m2m/auth';

/** A route's requirements exactly as the global guards read them (JwtAuthGuard, ScopesGuard). */
export interface RouteSecurity {
  public: boolean;
  scopes: string[];
}

export function routeSecurity(reflector: Reflector, controller: Function, handler: Function): RouteSecurity {
  const targets = [handler, controller];
  return {
    public: reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets) === true,
    scopes: [...new Set(reflector.getAllAndMerge<string[]>(SCOPES_METADATA, targets) ?? [])],
  };
}

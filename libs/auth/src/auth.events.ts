import { Injectable } from '@nestjs/common';
import type { BearerErrorCode } from './bearer.errors.js';
import type { JwksFetchOutcome } from './key-source.js';

export interface AuthEventListener {
  rejected?(code: BearerErrorCode, status: number): void;
  jwksFetched?(outcome: JwksFetchOutcome): void;
}

/** Hooks for metrics and audit: subscribe with `on(listener)`; the module emits, never awaits. */
@Injectable()
export class AuthEvents {
  private readonly listeners: AuthEventListener[] = [];

  on(listener: AuthEventListener): void {
    this.listeners.push(listener);
  }

  emitRejected(code: BearerErrorCode, status: number): void {
    for (const l of this.listeners) l.rejected?.(code, status);
  }

  emitJwksFetched(outcome: JwksFetchOutcome): void {
    for (const l of this.listeners) l.jwksFetched?.(outcome);
  }
}

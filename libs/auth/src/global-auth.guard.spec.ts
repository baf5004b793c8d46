/**
 * The one global guard `globalGuards: true` installs: JwtAuthGuard then ScopesGuard, in that order,
 * with the same answers as the two guards run in turn by Nest (which is what it replaces).
 */
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { GlobalAuthGuard } from './global-auth.guard.js';
import { Public } from './public.decorator.js';
import { Scopes } from './scopes.decorator.js';

class Routes {
  @Scopes('read:documents')
  guarded() {}

  @Public()
  open() {}
}

/** An HTTP context for one of `Routes`' handlers, as Nest hands it to guards. */
const contextOf = (name: 'guarded' | 'open'): ExecutionContext => {
  const handler: unknown = Object.getOwnPropertyDescriptor(Routes.prototype, name)?.value;
  return { getHandler: () => handler, getClass: () => Routes } as unknown as ExecutionContext;
};

/** A guard that records its calls in `calls` and answers `answer` (or throws it, when an Error). */
function guard(name: string, calls: string[], answer: () => ReturnType<CanActivate['canActivate']>): CanActivate {
  return {
    canActivate: () => {
      calls.push(name);
      return answer();
    },
  };
}

function setUp(auth: () => ReturnType<CanActivate['canActivate']>, scopes: () => ReturnType<CanActivate['canActivate']> = () => true) {
  const calls: string[] = [];
  const subject = new GlobalAuthGuard(new Reflector(), guard('auth', calls, auth), guard('scopes', calls, scopes));
  return { calls, subject };
}

describe('GlobalAuthGuard', () => {
  it('lets_a_public_route_through_without_asking_either_guard', () => {
    const { calls, subject } = setUp(
      () => false,
      () => false,
    );
    expect(subject.canActivate(contextOf('open'))).toBe(true);
    expect(calls).toEqual([]);
  });

  it('authenticates_before_it_checks_scopes_on_a_synchronous_answer', () => {
    const { calls, subject } = setUp(
      () => true,
      () => true,
    );
    expect(subject.canActivate(contextOf('guarded'))).toBe(true);
    expect(calls).toEqual(['auth', 'scopes']);
  });

  it('does_not_check_scopes_when_authentication_refuses', async () => {
    const sync = setUp(() => false);
    expect(sync.subject.canActivate(contextOf('guarded'))).toBe(false);
    expect(sync.calls).toEqual(['auth']);
    const later = setUp(() => Promise.resolve(false));
    await expect(later.subject.canActivate(contextOf('guarded'))).resolves.toBe(false);
    expect(later.calls).toEqual(['auth']);
  });

  it('lets_the_authentication_error_win_over_a_scope_error', async () => {
    const thrown = setUp(
      () => {
        throw new Error('no token');
      },
      () => {
        throw new Error('insufficient scope');
      },
    );
    expect(() => thrown.subject.canActivate(contextOf('guarded'))).toThrow('no token');
    const rejected = setUp(
      () => Promise.reject(new Error('bad signature')),
      () => {
        throw new Error('insufficient scope');
      },
    );
    await expect(rejected.subject.canActivate(contextOf('guarded'))).rejects.toThrow('bad signature');
    expect(rejected.calls).toEqual(['auth']);
  });

  it('checks_scopes_after_a_pending_authentication_and_passes_on_their_refusal', async () => {
    const { calls, subject } = setUp(
      () => Promise.resolve(true),
      () => {
        throw new Error('insufficient scope');
      },
    );
    await expect(subject.canActivate(contextOf('guarded'))).rejects.toThrow('insufficient scope');
    expect(calls).toEqual(['auth', 'scopes']);
  });

  it('takes_the_last_value_of_an_observable_answer_as_nest_does', async () => {
    const granted = setUp(
      () =>
        new Observable<boolean>((s) => {
          s.next(false);
          s.next(true);
          s.complete();
        }),
    );
    await expect(granted.subject.canActivate(contextOf('guarded'))).resolves.toBe(true);
    expect(granted.calls).toEqual(['auth', 'scopes']);
    const refused = setUp(
      () =>
        new Observable<boolean>((s) => {
          s.next(true);
          s.next(false);
          s.complete();
        }),
    );
    await expect(refused.subject.canActivate(contextOf('guarded'))).resolves.toBe(false);
    expect(refused.calls).toEqual(['auth']);
  });
});

import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { Audience } from './audience.decorator.js';
import { Dpop } from './dpop/dpop.decorator.js';
import { Public } from './public.decorator.js';
import { routeRequirements } from './route-requirements.js';
import { Scopes } from './scopes.decorator.js';

@Scopes('read:documents')
class DocumentsController {
  list() {}

  @Scopes('delete:documents')
  remove() {}

  @Scopes('write:documents', 'read:documents')
  replace() {}

  @Public()
  openMethod() {}
}

@Public()
class OpenController {
  @Scopes('write:audit')
  scoped() {}

  plain() {}
}

class PlainController {
  plain() {}
}

@Audience('documents')
class NarrowedController {
  inherits() {}

  @Audience('audit', 'documents')
  replaces() {}

  @Public()
  open() {}
}

@Dpop('required')
class BoundController {
  inherits() {}

  @Dpop('disabled')
  legacy() {}

  @Public()
  open() {}
}

describe('routeRequirements', () => {
  const reflector = new Reflector();
  const of = (controller: { prototype: object }, method: string) => {
    const handler = (controller.prototype as Record<string, (() => unknown) | undefined>)[method];
    if (handler === undefined) throw new Error(`${method} is not a method of the controller`);
    return routeRequirements(reflector, handler, controller as unknown as new () => unknown);
  };

  it('class_and_method_scopes_both_apply_each_listed_once', () => {
    expect(of(DocumentsController, 'remove')).toStrictEqual({
      public: false,
      scopes: ['delete:documents', 'read:documents'],
      audiences: [],
    });
    expect(of(DocumentsController, 'list')).toStrictEqual({ public: false, scopes: ['read:documents'], audiences: [] });
    expect(of(DocumentsController, 'replace')).toStrictEqual({
      public: false,
      scopes: ['write:documents', 'read:documents'],
      audiences: [],
    });
  });

  it('a_route_without_decorators_needs_a_token_and_no_scope', () => {
    expect(of(PlainController, 'plain')).toStrictEqual({ public: false, scopes: [], audiences: [] });
  });

  it('public_on_the_method_or_on_the_class_makes_the_route_public_with_no_scope', () => {
    expect(of(DocumentsController, 'openMethod')).toStrictEqual({ public: true, scopes: [], audiences: [] });
    expect(of(OpenController, 'plain')).toStrictEqual({ public: true, scopes: [], audiences: [] });
    expect(of(OpenController, 'scoped')).toStrictEqual({ public: true, scopes: [], audiences: [] });
  });

  it('a_method_audience_replaces_the_class_audience_and_a_public_route_has_none', () => {
    expect(of(NarrowedController, 'inherits').audiences).toEqual(['documents']);
    expect(of(NarrowedController, 'replaces').audiences).toEqual(['audit', 'documents']);
    expect(of(NarrowedController, 'open').audiences).toEqual([]);
  });

  it('a_method_dpop_mode_replaces_the_class_mode_and_a_route_without_one_has_no_dpop_key', () => {
    expect(of(BoundController, 'inherits')).toStrictEqual({ public: false, scopes: [], audiences: [], dpop: 'required' });
    expect(of(BoundController, 'legacy').dpop).toBe('disabled');
    expect(of(BoundController, 'open')).toStrictEqual({ public: true, scopes: [], audiences: [] });
    expect('dpop' in of(PlainController, 'plain')).toBe(false);
  });

  it('is_read_once_per_route_and_cannot_be_changed_by_a_caller', () => {
    const first = of(DocumentsController, 'remove');
    expect(of(DocumentsController, 'remove')).toBe(first);
    expect(of(DocumentsController, 'list')).not.toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.scopes) && Object.isFrozen(first.audiences)).toBe(true);
  });
});

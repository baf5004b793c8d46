import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { Audience } from './audience.decorator.js';
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

describe('routeRequirements', () => {
  const reflector = new Reflector();
  const of = (controller: { prototype: object }, method: string) => {
    const handler = (controller.prototype as Record<string, (() => unknown) | undefined>)[method];
    if (handler === undefined) throw new Error(`${method} is not a method of the controller`);
    return routeRequirements(reflector, handler, controller as unknown as new () => unknown);
  };

  it('class_and_method_scopes_both_apply_each_listed_once', () => {
    expect(of(DocumentsController, 'remove')).toEqual({ public: false, scopes: ['delete:documents', 'read:documents'], audiences: [] });
    expect(of(DocumentsController, 'list')).toEqual({ public: false, scopes: ['read:documents'], audiences: [] });
    expect(of(DocumentsController, 'replace')).toEqual({ public: false, scopes: ['write:documents', 'read:documents'], audiences: [] });
  });

  it('a_route_without_decorators_needs_a_token_and_no_scope', () => {
    expect(of(PlainController, 'plain')).toEqual({ public: false, scopes: [], audiences: [] });
  });

  it('public_on_the_method_or_on_the_class_makes_the_route_public_with_no_scope', () => {
    expect(of(DocumentsController, 'openMethod')).toEqual({ public: true, scopes: [], audiences: [] });
    expect(of(OpenController, 'plain')).toEqual({ public: true, scopes: [], audiences: [] });
    expect(of(OpenController, 'scoped')).toEqual({ public: true, scopes: [], audiences: [] });
  });

  it('a_method_audience_replaces_the_class_audience_and_a_public_route_has_none', () => {
    expect(of(NarrowedController, 'inherits').audiences).toEqual(['documents']);
    expect(of(NarrowedController, 'replaces').audiences).toEqual(['audit', 'documents']);
    expect(of(NarrowedController, 'open').audiences).toEqual([]);
  });

  it('is_read_once_per_route_and_cannot_be_changed_by_a_caller', () => {
    const first = of(DocumentsController, 'remove');
    expect(of(DocumentsController, 'remove')).toBe(first);
    expect(of(DocumentsController, 'list')).not.toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.scopes) && Object.isFrozen(first.audiences)).toBe(true);
  });
});

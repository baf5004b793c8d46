/**
 * The principal a handler receives is built from the token's claims as signed: the scopes it is
 * granted and the client it is attributed to must come out exactly, whatever shapes the claims have.
 */
import { describe, expect, it } from 'vitest';
import { clientIdOf, isAuth0ClientSubject, scopesOf, toPrincipal } from './principal.js';

describe('scopesOf', () => {
  it('splits_the_scope_claim_on_single_spaces_and_drops_empty_entries', () => {
    expect([...scopesOf({ scope: 'read:documents  write:documents ' })]).toEqual(['read:documents', 'write:documents']);
    expect([...scopesOf({ scope: '' })]).toEqual([]);
  });

  it('adds_auth0_permissions_to_the_scope_claim_each_once', () => {
    expect([...scopesOf({ scope: 'a b', permissions: ['b', 'c'] })]).toEqual(['a', 'b', 'c']);
    expect([...scopesOf({ permissions: ['c'] })]).toEqual(['c']);
  });

  it('grants_nothing_for_claims_of_other_shapes_and_never_throws', () => {
    expect([...scopesOf({ scope: ['read:documents'] })]).toEqual([]);
    expect([...scopesOf({ scope: { 'read:documents': true } })]).toEqual([]);
    expect([...scopesOf({ permissions: 'read:documents' })]).toEqual([]);
    expect([...scopesOf({ permissions: ['', 42, null, { a: 1 }, 'ok'] })]).toEqual(['ok']);
    expect([...scopesOf({})]).toEqual([]);
  });
});

describe('clientIdOf', () => {
  it('prefers_azp_then_client_id_then_sub', () => {
    expect(clientIdOf({ azp: 'from-azp', client_id: 'from-client-id', sub: 'from-sub' })).toBe('from-azp');
    expect(clientIdOf({ client_id: 'from-client-id', sub: 'from-sub' })).toBe('from-client-id');
    expect(clientIdOf({ sub: 'from-sub' })).toBe('from-sub');
    expect(clientIdOf({})).toBeUndefined();
  });

  it('strips_only_a_trailing_auth0_clients_suffix_from_sub', () => {
    expect(clientIdOf({ sub: 'abc@clients' })).toBe('abc');
    expect(clientIdOf({ sub: 'abc@clients.example' })).toBe('abc@clients.example');
  });

  it('skips_claims_that_are_not_strings', () => {
    expect(clientIdOf({ azp: 42, client_id: ['x'], sub: 'from-sub' })).toBe('from-sub');
    expect(clientIdOf({ azp: null, client_id: 'from-client-id' })).toBe('from-client-id');
    expect(clientIdOf({ sub: { id: 'x' } })).toBeUndefined();
  });
});

describe('isAuth0ClientSubject', () => {
  it('is_a_non_empty_client_id_followed_by_the_clients_suffix', () => {
    expect(isAuth0ClientSubject('abc@clients')).toBe(true);
    expect(isAuth0ClientSubject('a@clients')).toBe(true);
    expect(isAuth0ClientSubject('@clients')).toBe(false);
    expect(isAuth0ClientSubject('abc')).toBe(false);
    expect(isAuth0ClientSubject('abc@clients ')).toBe(false);
    expect(isAuth0ClientSubject(undefined)).toBe(false);
    expect(isAuth0ClientSubject(['abc@clients'])).toBe(false);
  });
});

describe('toPrincipal', () => {
  it('carries_client_subject_scopes_and_the_frozen_claims', () => {
    const claims = { sub: 'svc@clients', scope: 'read:documents', permissions: ['write:documents'], aud: 'api' };
    const principal = toPrincipal(claims);
    expect(principal).toEqual({
      clientId: 'svc',
      subject: 'svc@clients',
      scopes: new Set(['read:documents', 'write:documents']),
      claims,
    });
    expect(Object.isFrozen(principal.claims)).toBe(true);
  });

  it('has_no_subject_when_sub_is_not_a_string', () => {
    const principal = toPrincipal({ sub: 42, azp: 'svc' } as never);
    expect(principal.subject).toBeUndefined();
    expect(principal.clientId).toBe('svc');
  });
});

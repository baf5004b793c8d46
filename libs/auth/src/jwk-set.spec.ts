import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importJwkSet } from './jwk-set.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const jwkOf = (key: KeyObject, extra: Record<string, unknown> = {}) => ({ ...(key.export({ format: 'jwk' }) as object), ...extra });

describe('importJwkSet', () => {
  const accepted = ['RS256', 'PS256', 'ES256'];

  it('imports_public_keys_straight_from_the_jwk', () => {
    const { keys, skipped } = importJwkSet(
      [jwkOf(rsa.publicKey, { kid: 'r', alg: 'RS256', use: 'sig' }), jwkOf(ec.publicKey, { kid: 'e' })],
      accepted,
    );
    expect(skipped).toEqual([]);
    expect(keys.map((k) => [k.kid, k.key.asymmetricKeyType, k.algorithms])).toEqual([
      ['r', 'rsa', ['RS256']],
      ['e', 'ec', ['ES256']],
    ]);
    expect(keys[0]?.key.equals(rsa.publicKey)).toBe(true);
  });

  it('a_key_without_alg_verifies_the_accepted_algorithms_of_its_type_only', () => {
    const { keys } = importJwkSet([jwkOf(rsa.publicKey, { kid: 'r' })], accepted);
    expect(keys[0]?.algorithms).toEqual(['RS256', 'PS256']);
  });

  it('a_key_with_alg_verifies_that_algorithm_only', () => {
    const { keys } = importJwkSet([jwkOf(rsa.publicKey, { kid: 'r', alg: 'PS256' })], accepted);
    expect(keys[0]?.algorithms).toEqual(['PS256']);
  });

  it('encryption_keys_and_keys_not_for_verification_are_left_out', () => {
    const { keys, skipped } = importJwkSet(
      [
        jwkOf(rsa.publicKey, { kid: 'enc', use: 'enc' }),
        jwkOf(rsa.publicKey, { kid: 'ops', key_ops: ['encrypt'] }),
        jwkOf(rsa.publicKey, { kid: 'ok', key_ops: ['verify'] }),
      ],
      accepted,
    );
    expect(keys.map((k) => k.kid)).toEqual(['ok']);
    expect(skipped).toEqual(['kid "enc": use "enc"', 'kid "ops": key_ops without verify']);
  });

  it('unsupported_key_types_and_curves_are_left_out', () => {
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    const x25519 = generateKeyPairSync('x25519').publicKey;
    const { keys, skipped } = importJwkSet(
      [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, jwkOf(secp256k1, { kid: 'k1' }), jwkOf(x25519, { kid: 'x' }), { kid: 'none' }],
      accepted,
    );
    expect(keys).toEqual([]);
    expect(skipped).toEqual([
      'kid "hmac": unsupported key type "oct"',
      'kid "k1": unsupported key type "EC" "secp256k1"',
      'kid "x": unsupported key type "OKP" "X25519"',
      'kid "none": unsupported key type undefined',
    ]);
  });

  it('keys_whose_algorithm_is_not_accepted_or_does_not_fit_their_type_are_left_out', () => {
    const { keys, skipped } = importJwkSet(
      [
        jwkOf(ed.publicKey, { kid: 'ed' }),
        jwkOf(rsa.publicKey, { kid: 'rs512', alg: 'RS512' }),
        jwkOf(rsa.publicKey, { kid: 'liar', alg: 'ES256' }),
      ],
      accepted,
    );
    expect(keys).toEqual([]);
    expect(skipped).toEqual([
      'kid "ed": no accepted algorithm (key verifies EdDSA)',
      'kid "rs512": no accepted algorithm (key verifies RS512)',
      'kid "liar": alg "ES256" does not fit key type "RSA"',
    ]);
  });

  it('private_keys_and_members_that_do_not_import_are_left_out_without_failing_the_set', () => {
    const { keys, skipped } = importJwkSet(
      [
        jwkOf(rsa.privateKey, { kid: 'private' }),
        { kty: 'EC', crv: 'P-256', kid: 'broken', x: 'AA', y: 'AA' },
        'junk',
        jwkOf(rsa.publicKey, { kid: 'good' }),
      ],
      accepted,
    );
    expect(keys.map((k) => k.kid)).toEqual(['good']);
    expect(skipped).toEqual([
      'kid "private": private key material',
      expect.stringMatching(/^kid "broken": does not import/),
      'member 2: not a JSON object',
    ]);
  });

  it('the_first_usable_member_with_a_kid_serves_it', () => {
    const { keys, skipped } = importJwkSet(
      [jwkOf(otherRsa.publicKey, { kid: 'k', use: 'enc' }), jwkOf(rsa.publicKey, { kid: 'k' }), jwkOf(otherRsa.publicKey, { kid: 'k' })],
      accepted,
    );
    expect(keys).toHaveLength(1);
    expect(keys[0]?.key.equals(rsa.publicKey)).toBe(true);
    expect(skipped).toEqual(['kid "k": use "enc"', 'kid "k": duplicate kid, the first member with it is used']);
  });

  it('a_document_without_a_keys_array_is_an_error', () => {
    expect(() => importJwkSet(undefined, accepted)).toThrow('the JWKS has no "keys" array');
    expect(() => importJwkSet({ keys: [] }, accepted)).toThrow('the JWKS has no "keys" array');
  });
});

describe('importJwkSet, key types and member shapes', () => {
  const all = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
  const algorithmsOf = (jwk: Record<string, unknown>, accepted: readonly string[] = all) =>
    importJwkSet([jwk], accepted).keys.map((k) => k.algorithms)[0];

  it('each_key_type_and_curve_verifies_its_rfc_7518_algorithms', () => {
    expect(algorithmsOf(jwkOf(rsa.publicKey))).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
    expect(algorithmsOf(jwkOf(ec.publicKey))).toEqual(['ES256']);
    expect(algorithmsOf(jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey))).toEqual(['ES384']);
    expect(algorithmsOf(jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey))).toEqual(['ES512']);
    expect(algorithmsOf(jwkOf(ed.publicKey))).toEqual(['EdDSA']);
    expect(algorithmsOf(jwkOf(generateKeyPairSync('ed448').publicKey))).toEqual(['EdDSA']);
  });

  it('use_sig_and_key_ops_with_verify_are_usable_other_shapes_are_not', () => {
    const { keys, skipped } = importJwkSet(
      [
        jwkOf(rsa.publicKey, { kid: 'sig', use: 'sig' }),
        jwkOf(rsa.publicKey, { kid: 'ops', key_ops: ['sign', 'verify'] }),
        jwkOf(rsa.publicKey, { kid: 'ops-string', key_ops: 'verify' }),
        jwkOf(rsa.publicKey, { kid: 'ops-empty', key_ops: [] }),
        jwkOf(rsa.publicKey, { kid: 'use-null', use: null }),
      ],
      ['RS256'],
    );
    expect(keys.map((k) => k.kid)).toEqual(['sig', 'ops']);
    expect(skipped).toEqual([
      'kid "ops-string": key_ops without verify',
      'kid "ops-empty": key_ops without verify',
      'kid "use-null": use null',
    ]);
  });

  it('a_kid_that_is_empty_or_not_a_string_is_no_kid_and_kidless_members_are_all_kept', () => {
    const { keys, skipped } = importJwkSet(
      [
        jwkOf(rsa.publicKey, { kid: '' }),
        jwkOf(otherRsa.publicKey, { kid: 7 }),
        jwkOf(ec.publicKey),
        jwkOf(rsa.publicKey, { kid: 7, use: 'enc' }),
        null,
        [jwkOf(rsa.publicKey)],
      ],
      ['RS256', 'PS256', 'ES256'],
    );
    expect(keys.map((k) => k.kid)).toEqual([undefined, undefined, undefined]);
    expect(keys[1]!.key.equals(otherRsa.publicKey)).toBe(true);
    expect(skipped).toEqual(['member 3: use "enc"', 'member 4: not a JSON object', 'member 5: not a JSON object']);
  });

  it('a_member_that_does_not_import_does_not_take_its_kid_from_a_later_good_one', () => {
    const { keys, skipped } = importJwkSet(
      [{ kty: 'EC', crv: 'P-256', kid: 'k', x: 'AA', y: 'AA' }, jwkOf(ec.publicKey, { kid: 'k' })],
      ['RS256', 'PS256', 'ES256'],
    );
    expect(keys.map((k) => k.kid)).toEqual(['k']);
    expect(keys[0]!.key.equals(ec.publicKey)).toBe(true);
    expect(skipped).toEqual([expect.stringMatching(/^kid "k": does not import \(.+\)$/)]);
  });

  it('an_rsa_key_that_names_one_algorithm_is_usable_only_when_that_one_is_accepted', () => {
    expect(algorithmsOf(jwkOf(rsa.publicKey, { alg: 'PS512' }))).toEqual(['PS512']);
    expect(importJwkSet([jwkOf(rsa.publicKey, { kid: 'r', alg: 'PS512' })], ['PS256']).skipped).toEqual([
      'kid "r": no accepted algorithm (key verifies PS512)',
    ]);
    expect(importJwkSet([jwkOf(rsa.publicKey, { kid: 'r' })], ['ES256']).skipped).toEqual([
      'kid "r": no accepted algorithm (key verifies RS256, RS384, RS512, PS256, PS384, PS512)',
    ]);
  });
});

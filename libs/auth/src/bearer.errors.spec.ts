import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import {
  type BearerError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  KeysUnavailableError,
  MissingTokenError,
} from './bearer.errors.js';
import { toBearerError } from './jwt-errors.js';
import { DpopReplayStoreUnavailableError, InvalidDpopProofError, UseDpopNonceError } from './dpop/dpop.errors.js';

/** The rows of the code table in bearer.errors.ts: code → [class, status, RFC 6750 error]. */
function documentedCodes(): Map<string, [string, number, string | undefined]> {
  const source = readFileSync(new URL('./bearer.errors.ts', import.meta.url), 'utf8');
  const rows = new Map<string, [string, number, string | undefined]>();
  for (const [, code, cls, status, oauth] of source.matchAll(/^ \* \| `(ERR_AUTH_\w+)`\s*\| (\w+)\s*\| (\d+)\s*\| ([^|]+?)\s*\|/gm)) {
    // None of the four groups is optional: a match has them all.
    rows.set(code!, [cls!, Number(status), oauth!.startsWith('`') ? oauth!.slice(1, -1) : undefined]);
  }
  return rows;
}

describe('BearerError codes', () => {
  const one = (e: BearerError) => [e.code, e] as const;
  const errors = new Map<string, BearerError>([
    one(new MissingTokenError()),
    one(new InvalidRequestError('x')),
    one(new InsufficientScopeError(['a'])),
    one(new KeysUnavailableError(1)),
    one(new InvalidDpopProofError('x')),
    one(new UseDpopNonceError('n')),
    one(new DpopReplayStoreUnavailableError()),
    ...(
      [
        'ERR_AUTH_TOKEN_MALFORMED',
        'ERR_AUTH_TOKEN_EXPIRED',
        'ERR_AUTH_TOKEN_NOT_YET_VALID',
        'ERR_AUTH_AUDIENCE_INVALID',
        'ERR_AUTH_ISSUER_INVALID',
        'ERR_AUTH_SIGNATURE_INVALID',
        'ERR_AUTH_ALGORITHM_UNEXPECTED',
        'ERR_AUTH_KEY_UNKNOWN',
        'ERR_AUTH_HEADER_INVALID',
        'ERR_AUTH_CLAIMS_INVALID',
        'ERR_AUTH_TOKEN_TYPE_INVALID',
        'ERR_AUTH_NOT_M2M',
        'ERR_AUTH_CLIENT_NOT_ALLOWED',
        'ERR_AUTH_DPOP_REQUIRED',
        'ERR_AUTH_DPOP_BINDING_INVALID',
      ] as const
    ).map((code) => one(new InvalidTokenError(code, 'x'))),
  ]);

  it('every_error_carries_the_code_class_status_and_rfc_6750_error_its_table_row_documents', () => {
    const table = documentedCodes();
    expect([...table.keys()].sort()).toEqual([...errors.keys()].sort());
    for (const [code, error] of errors) {
      expect([error.constructor.name, error.getStatus(), error.oauthError], code).toEqual(table.get(code));
    }
  });

  it('jsonwebtoken_failures_map_to_their_codes', () => {
    const cases: Array<[unknown, string]> = [
      [new jwt.TokenExpiredError('jwt expired', new Date()), 'ERR_AUTH_TOKEN_EXPIRED'],
      [new jwt.NotBeforeError('jwt not active', new Date()), 'ERR_AUTH_TOKEN_NOT_YET_VALID'],
      [new jwt.JsonWebTokenError('jwt audience invalid. expected: x'), 'ERR_AUTH_AUDIENCE_INVALID'],
      [new jwt.JsonWebTokenError('jwt issuer invalid. expected: x'), 'ERR_AUTH_ISSUER_INVALID'],
      [new jwt.JsonWebTokenError('invalid signature'), 'ERR_AUTH_SIGNATURE_INVALID'],
      [new jwt.JsonWebTokenError('invalid algorithm'), 'ERR_AUTH_ALGORITHM_UNEXPECTED'],
      [new jwt.JsonWebTokenError('invalid exp value'), 'ERR_AUTH_CLAIMS_INVALID'],
      [new jwt.JsonWebTokenError('jwt malformed'), 'ERR_AUTH_TOKEN_MALFORMED'],
      [new Error('No auth token'), 'ERR_AUTH_TOKEN_MISSING'],
      ['anything else', 'ERR_AUTH_TOKEN_MALFORMED'],
    ];
    for (const [info, code] of cases) expect(toBearerError(info).code, String(info)).toBe(code);
  });
});

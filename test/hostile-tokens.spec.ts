/**
 * Hostile tokens (RFC 8725, OWASP JWT cheat sheet) against the real AppModule: every case states the
 * exact answer, and the process must stay healthy after each one. Transport-level cases live in
 * hostile-transport.spec.ts, key rotation and JWKS failures in hostile-jwks.spec.ts.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from './helpers/app.js';
import { insufficientScope, invalidRequest, invalidToken, type Outcome } from './helpers/outcomes.js';
import { generateTestKey, TestIssuer, type TestKey } from '../libs/auth/test/test-issuer.js';

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

const invalidTokenAnyDescription: Outcome = { status: 401, label: '401 invalid_token' };
/** Positive controls: the legitimate neighbour of a hostile case must still work. */
const accepted: Outcome = { status: 200, label: '200 (positive control)' };

const ALG = invalidToken('Unexpected signing algorithm');
const SIGNATURE = invalidToken('Invalid signature');
const MALFORMED = invalidToken('Malformed token');
const MALFORMED_HEADER = invalidToken('Malformed token header');
const UNKNOWN_KID = invalidToken('Unknown signing key');
const INVALID_KID = invalidToken('Invalid kid');
const AUDIENCE = invalidToken('Invalid audience');
const ISSUER = invalidToken('Invalid issuer');
const TIME_CLAIMS = invalidToken('Invalid time claims');
const NO_EXP = invalidToken('Token has no valid exp claim');
const EXPIRED = invalidToken('Token expired');
const NOT_YET_VALID = invalidToken('Token not yet valid');
const IAT = invalidToken('Invalid iat claim');
const CRIT = invalidToken('Unsupported critical header');
const TOO_LARGE = invalidToken('Token too large');
const NOT_A_B64TOKEN = invalidRequest('Malformed Authorization header: expected exactly one bearer token');
const headerParam = (name: string) => invalidToken(`Header parameter ${name} is not accepted`);

interface Context {
  attacker: TestKey;
  attackerEc: TestKey;
  /** An attacker-controlled host for jku/x5u: it must never be contacted. */
  attackerHost: TestIssuer;
}

interface Case {
  name: string;
  token: (issuer: TestIssuer, ctx: Context) => string;
  outcome: Outcome;
  method?: 'get' | 'delete';
  path?: string;
}

// ---------------------------------------------------------------------------------------------
// Token surgery
// ---------------------------------------------------------------------------------------------

const now = () => Math.floor(Date.now() / 1000);
/** The three segments of a compact JWS (the issuer's own tokens). */
const segs = (token: string): [string, string, string] => {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`Not a compact JWS: ${token}`);
  return parts as [string, string, string];
};
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** Claims JSON with one member written verbatim (numbers JSON.stringify cannot produce, e.g. 1e400). */
const claimsJsonWith = (issuer: TestIssuer, name: string, rawValue: string) => {
  const claims = issuer.claims();
  delete claims[name];
  return JSON.stringify(claims).replace(/}$/, `,"${name}":${rawValue}}`);
};
const rsHeader = (issuer: TestIssuer, extra: Record<string, unknown> = {}) =>
  b64({ alg: 'RS256', typ: 'JWT', kid: issuer.signingKey.kid, ...extra });
/** Replaces the character at `index` with a different base64url character. */
const flipChar = (s: string, index: number) => s.slice(0, index) + (s[index] === 'A' ? 'B' : 'A') + s.slice(index + 1);
/** Rewrites the three segments of a valid token. */
const edit = (issuer: TestIssuer, f: (h: string, p: string, s: string) => string) => {
  const [h, p, s] = segs(issuer.sign());
  return f(h, p, s);
};
const publicJwk = (i: TestIssuer) => i.signingKey.publicKey.export({ format: 'jwk' }) as { n: string; e: string; kty: string };

// ---------------------------------------------------------------------------------------------
// Case tables, one per family
// ---------------------------------------------------------------------------------------------

const algNone: Case[] = [
  // An empty signature fails the compact-form check before the alg is even read.
  ...['none', 'None', 'NONE', 'nOnE'].map((alg) => ({
    name: `an unsigned token with alg "${alg}" and an empty signature`,
    token: (i: TestIssuer) => i.unsigned(alg),
    outcome: MALFORMED,
  })),
  ...['none', 'None', 'NONE', 'nOnE'].map((alg) => ({
    name: `a token with alg "${alg}", the issuer's kid and a junk signature`,
    token: (i: TestIssuer) => `${b64({ alg, typ: 'JWT', kid: i.signingKey.kid })}.${b64(i.claims())}.${b64('junk')}`,
    outcome: ALG,
  })),
  {
    name: 'an alg "none" token carrying a known kid and the signature of a valid token',
    token: (i) => `${b64({ alg: 'none', typ: 'JWT', kid: i.signingKey.kid })}.${b64(i.claims())}.${segs(i.sign())[2]}`,
    outcome: ALG,
  },
  {
    name: 'a genuinely signed token whose header has no alg',
    token: (i) => i.signSegments(b64({ typ: 'JWT', kid: i.signingKey.kid }), b64(i.claims())),
    outcome: ALG,
  },
  {
    name: 'a genuinely signed token whose alg is the array ["RS256"]',
    token: (i) => i.signSegments(b64({ alg: ['RS256'], kid: i.signingKey.kid }), b64(i.claims())),
    outcome: ALG,
  },
  {
    name: 'a genuinely RS256-signed token whose alg is spelled "rs256"',
    token: (i) => i.signSegments(b64({ alg: 'rs256', kid: i.signingKey.kid }), b64(i.claims())),
    outcome: ALG,
  },
  {
    name: 'a genuinely RS256-signed token whose alg is "RS256 " with a trailing space',
    token: (i) => i.signSegments(b64({ alg: 'RS256 ', kid: i.signingKey.kid }), b64(i.claims())),
    outcome: ALG,
  },
];

const hmacConfusion: Case[] = [
  ...['HS256', 'HS384', 'HS512'].map((alg) => ({
    name: `an ${alg} token whose secret is the issuer's public key PEM`,
    token: (i: TestIssuer) => i.signHmacWithPublicKey(i.claims(), alg),
    outcome: ALG,
  })),
  {
    name: "an HS256 token whose secret is the issuer's published JWK as JSON",
    token: (i) => i.signHmac(JSON.stringify(i.jwks().keys[0])),
    outcome: ALG,
  },
  {
    name: "an HS256 token whose secret is the public JWK's modulus bytes",
    token: (i) => i.signHmac(Buffer.from(publicJwk(i).n, 'base64url')),
    outcome: ALG,
  },
  {
    name: "an HS384 token whose secret is the public JWK's n value as text",
    token: (i) => i.signHmac(publicJwk(i).n, 'HS384'),
    outcome: ALG,
  },
  {
    name: "an HS512 token whose secret is the public key's DER (SPKI) bytes",
    token: (i) => i.signHmac(i.signingKey.publicKey.export({ format: 'der', type: 'spki' }), 'HS512'),
    outcome: ALG,
  },
  {
    name: "an HS256 token whose secret is the public key's PKCS#1 PEM",
    token: (i) => i.signHmac(i.signingKey.publicKey.export({ format: 'pem', type: 'pkcs1' }) as string),
    outcome: ALG,
  },
];

const keysAndAlgorithms: Case[] = [
  {
    name: "a token signed by an attacker's key under the issuer's kid",
    token: (i, c) => i.sign(i.claims(), { kid: i.signingKey.kid }, c.attacker),
    outcome: SIGNATURE,
  },
  {
    name: "a token signed by an attacker's key under the attacker's own kid",
    token: (i, c) => i.sign(i.claims(), {}, c.attacker),
    outcome: UNKNOWN_KID,
  },
  {
    name: "a token without kid signed by an attacker's key",
    token: (i, c) => i.sign(i.claims(), { kid: undefined }, c.attacker),
    outcome: SIGNATURE,
  },
  { name: "an RS512 token genuinely signed by the issuer's own key", token: (i) => i.sign(i.claims(), { alg: 'RS512' }), outcome: ALG },
  { name: "an RS384 token genuinely signed by the issuer's own key", token: (i) => i.sign(i.claims(), { alg: 'RS384' }), outcome: ALG },
  { name: "a PS256 token genuinely signed by the issuer's own key", token: (i) => i.sign(i.claims(), { alg: 'PS256' }), outcome: ALG },
  {
    name: "an ES256 token genuinely signed by an EC key under the issuer's kid",
    token: (i, c) => i.sign(i.claims(), { kid: i.signingKey.kid }, c.attackerEc),
    outcome: ALG,
  },
  {
    name: 'an ES256 token genuinely signed by an EC key under its own kid',
    token: (i, c) => i.sign(i.claims(), {}, c.attackerEc),
    outcome: ALG,
  },
];

const tampering: Case[] = [
  {
    name: 'a valid token whose payload was changed to add delete:documents',
    token: (i) => edit(i, (h, _p, s) => `${h}.${b64(i.claims({ scope: 'read:documents delete:documents' }))}.${s}`),
    outcome: SIGNATURE,
  },
  {
    name: 'a valid token whose payload was changed to another client',
    token: (i) => edit(i, (h, _p, s) => `${h}.${b64(i.claims({ sub: 'admin@clients', azp: 'admin' }))}.${s}`),
    outcome: SIGNATURE,
  },
  {
    name: 'a valid token whose header gained a member while keeping the signature',
    token: (i) => edit(i, (_h, p, s) => `${rsHeader(i, { x: 1 })}.${p}.${s}`),
    outcome: SIGNATURE,
  },
  {
    name: 'a valid token with one signature character flipped',
    token: (i) => edit(i, (h, p, s) => `${h}.${p}.${flipChar(s, 100)}`),
    outcome: SIGNATURE,
  },
  {
    name: 'a valid token with its signature cut short by one character',
    token: (i) => edit(i, (h, p, s) => `${h}.${p}.${s.slice(0, -1)}`),
    outcome: SIGNATURE,
  },
  {
    name: 'a valid token whose signature was replaced by zero bytes',
    token: (i) => edit(i, (h, p) => `${h}.${p}.${Buffer.alloc(256).toString('base64url')}`),
    outcome: SIGNATURE,
  },
  { name: 'a valid token with its signature removed', token: (i) => edit(i, (h, p) => `${h}.${p}.`), outcome: MALFORMED },
  {
    name: 'a token carrying the signature of another valid token',
    token: (i) => {
      const [h, p] = segs(i.sign(i.claims({ scope: 'delete:documents' })));
      return `${h}.${p}.${segs(i.sign(i.claims({ jti: 'another-token' })))[2]}`;
    },
    outcome: SIGNATURE,
  },
];

const truncation: Case[] = [
  { name: 'a token with its header segment dropped', token: (i) => edit(i, (_h, p, s) => `.${p}.${s}`), outcome: MALFORMED },
  { name: 'a token with its payload segment dropped', token: (i) => edit(i, (h, _p, s) => `${h}..${s}`), outcome: MALFORMED },
  { name: 'a token without its trailing dot and signature', token: (i) => edit(i, (h, p) => `${h}.${p}`), outcome: MALFORMED },
  { name: 'a token that is only a header segment', token: (i) => edit(i, (h) => h), outcome: MALFORMED },
  { name: 'a token that is only two dots', token: () => '..', outcome: MALFORMED },
  { name: 'a valid token with a fourth segment appended', token: (i) => `${i.sign()}.${b64('extra')}`, outcome: MALFORMED },
  { name: 'a valid token followed by an empty fourth segment', token: (i) => `${i.sign()}.`, outcome: MALFORMED },
  {
    name: 'a five-segment JWE-shaped token (RSA-OAEP, A256GCM)',
    token: (i) =>
      [b64({ alg: 'RSA-OAEP', enc: 'A256GCM', kid: i.signingKey.kid }), b64('encrypted-key'), b64('iv'), b64(i.claims()), b64('tag')].join(
        '.',
      ),
    outcome: MALFORMED,
  },
  { name: 'a five-segment token made of a valid token and two empty segments', token: (i) => `${i.sign()}..`, outcome: MALFORMED },
];

const malformed: Case[] = [
  {
    name: "a valid token with a '+' (standard base64) inside its header segment",
    token: (i) => edit(i, (h, p, s) => `${h.slice(0, 5)}+${h.slice(6)}.${p}.${s}`),
    outcome: MALFORMED,
  },
  {
    name: "a valid token with a '/' (standard base64) inside its signature",
    token: (i) => edit(i, (h, p, s) => `${h}.${p}.${s.slice(0, 10)}/${s.slice(11)}`),
    outcome: MALFORMED,
  },
  {
    name: "a valid token with a '~' inside its payload segment",
    token: (i) => edit(i, (h, p, s) => `${h}.${p.slice(0, 10)}~${p.slice(11)}.${s}`),
    outcome: MALFORMED,
  },
  { name: "a valid token with '=' padding after its signature", token: (i) => `${i.sign()}==`, outcome: MALFORMED },
  {
    name: "a valid token with '=' padding after its header segment",
    token: (i) => edit(i, (h, p, s) => `${h}=.${p}.${s}`),
    outcome: NOT_A_B64TOKEN,
  },
  {
    name: "a valid token with a '*' (not a b64token character) inside",
    token: (i) => edit(i, (h, p, s) => `${h}.${p}*.${s}`),
    outcome: NOT_A_B64TOKEN,
  },
  {
    name: 'a valid token with a space inside its payload segment',
    token: (i) => edit(i, (h, p, s) => `${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}`),
    outcome: NOT_A_B64TOKEN,
  },
  {
    name: 'a valid token with a tab inside its payload segment',
    token: (i) => edit(i, (h, p, s) => `${h}.${p.slice(0, 10)}\t${p.slice(10)}.${s}`),
    outcome: NOT_A_B64TOKEN,
  },
  {
    name: 'a signed token whose header is not JSON',
    token: (i) => i.signSegments(b64('RS256 key-1'), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a signed token whose header is truncated JSON',
    token: (i) => i.signSegments(b64(`{"alg":"RS256","kid":"${i.signingKey.kid}"`), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a signed token whose header is a JSON array',
    token: (i) => i.signSegments(b64([{ alg: 'RS256', kid: i.signingKey.kid }]), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a signed token whose header is a JSON string',
    token: (i) => i.signSegments(b64(JSON.stringify('RS256')), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a signed token whose header is a JSON number',
    token: (i) => i.signSegments(b64('256'), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a signed token whose header is JSON null',
    token: (i) => i.signSegments(b64('null'), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a signed token whose header bytes are not UTF-8',
    token: (i) => i.signSegments(Buffer.from([0xff, 0xfe, 0x7b, 0x80]).toString('base64url'), b64(i.claims())),
    outcome: MALFORMED_HEADER,
  },
  {
    name: 'a genuinely signed token whose payload is not JSON',
    token: (i) => i.signSegments(rsHeader(i), b64('scope=read:documents')),
    outcome: invalidTokenAnyDescription,
  },
  {
    name: 'a genuinely signed token whose payload is a JSON array',
    token: (i) => i.signSegments(rsHeader(i), b64([i.claims()])),
    outcome: invalidTokenAnyDescription,
  },
  {
    name: 'a genuinely signed token whose payload is a JSON string',
    token: (i) => i.signSegments(rsHeader(i), b64(JSON.stringify('read:documents'))),
    outcome: invalidTokenAnyDescription,
  },
  {
    name: 'a genuinely signed token whose payload is a JSON number',
    token: (i) => i.signSegments(rsHeader(i), b64('42')),
    outcome: invalidTokenAnyDescription,
  },
  {
    name: 'a genuinely signed token whose payload is JSON null',
    token: (i) => i.signSegments(rsHeader(i), b64('null')),
    outcome: invalidTokenAnyDescription,
  },
];

const timeClaims: Case[] = [
  { name: 'a token without exp', token: (i) => i.sign(i.claims({ exp: undefined })), outcome: NO_EXP },
  { name: 'a token whose exp is a numeric string', token: (i) => i.sign(i.claims({ exp: String(now() + 3600) })), outcome: TIME_CLAIMS },
  { name: 'a token whose exp is the string "NaN"', token: (i) => i.sign(i.claims({ exp: 'NaN' })), outcome: TIME_CLAIMS },
  { name: 'a token whose exp is null (what JSON makes of NaN)', token: (i) => i.sign(i.claims({ exp: null })), outcome: TIME_CLAIMS },
  { name: 'a token whose exp is true', token: (i) => i.sign(i.claims({ exp: true })), outcome: TIME_CLAIMS },
  { name: 'a token whose exp is an array', token: (i) => i.sign(i.claims({ exp: [now() + 3600] })), outcome: TIME_CLAIMS },
  {
    name: 'a token whose exp is 1e400 (overflows to Infinity)',
    token: (i) => i.signSegments(rsHeader(i), b64(claimsJsonWith(i, 'exp', '1e400'))),
    outcome: NO_EXP,
  },
  { name: 'a token whose exp is negative', token: (i) => i.sign(i.claims({ exp: -1 })), outcome: EXPIRED },
  { name: 'a token whose exp is 0', token: (i) => i.sign(i.claims({ exp: 0 })), outcome: EXPIRED },
  {
    name: 'a token whose exp is a fractional time an hour ago',
    token: (i) => i.sign(i.claims({ iat: now() - 7200, exp: now() - 3600.5 })),
    outcome: EXPIRED,
  },
  {
    name: 'a token whose exp is a fractional time an hour ahead (RFC 7519 NumericDate)',
    token: (i) => i.sign(i.claims({ exp: now() + 3600.5 })),
    outcome: accepted,
  },
  {
    name: 'a token whose nbf is a minute ahead (beyond the 5 s tolerance)',
    token: (i) => i.sign(i.claims({ nbf: now() + 60 })),
    outcome: NOT_YET_VALID,
  },
  {
    name: 'a token whose nbf is 2 s ahead (within the 5 s tolerance)',
    token: (i) => i.sign(i.claims({ nbf: now() + 2 })),
    outcome: accepted,
  },
  { name: 'a token whose nbf is a string', token: (i) => i.sign(i.claims({ nbf: String(now()) })), outcome: TIME_CLAIMS },
  { name: 'a token whose nbf is null', token: (i) => i.sign(i.claims({ nbf: null })), outcome: TIME_CLAIMS },
  { name: 'a token whose iat is a string', token: (i) => i.sign(i.claims({ iat: String(now()) })), outcome: IAT },
  { name: 'a token whose iat is null', token: (i) => i.sign(i.claims({ iat: null })), outcome: IAT },
  { name: 'a token whose iat is an object', token: (i) => i.sign(i.claims({ iat: { seconds: now() } })), outcome: IAT },
  { name: 'a token whose iat is true', token: (i) => i.sign(i.claims({ iat: true })), outcome: IAT },
  {
    name: 'a token whose iat is 1e400 (overflows to Infinity)',
    token: (i) => i.signSegments(rsHeader(i), b64(claimsJsonWith(i, 'iat', '1e400'))),
    outcome: IAT,
  },
];

const audience: Case[] = [
  { name: 'a token without aud', token: (i) => i.sign(i.claims({ aud: undefined })), outcome: AUDIENCE },
  {
    name: 'a token whose aud array lacks our audience',
    token: (i) => i.sign(i.claims({ aud: ['https://other.api', 'https://api.test'] })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud array holds our audience among others',
    token: (i) => i.sign(i.claims({ aud: ['https://other.api', i.audience] })),
    outcome: accepted,
  },
  { name: 'a token whose aud is the empty string', token: (i) => i.sign(i.claims({ aud: '' })), outcome: AUDIENCE },
  { name: 'a token whose aud is a number', token: (i) => i.sign(i.claims({ aud: 42 })), outcome: AUDIENCE },
  { name: 'a token whose aud is null', token: (i) => i.sign(i.claims({ aud: null })), outcome: AUDIENCE },
  {
    name: 'a token whose aud is our audience with ".evil" appended',
    token: (i) => i.sign(i.claims({ aud: `${i.audience}.evil` })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud is our audience with a trailing slash',
    token: (i) => i.sign(i.claims({ aud: `${i.audience}/` })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud is a prefix of our audience',
    token: (i) => i.sign(i.claims({ aud: i.audience.slice(0, -6) })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud is our audience in upper case',
    token: (i) => i.sign(i.claims({ aud: i.audience.toUpperCase() })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud is our audience with a trailing space',
    token: (i) => i.sign(i.claims({ aud: `${i.audience} ` })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud embeds our audience in a longer URL',
    token: (i) => i.sign(i.claims({ aud: `https://evil.example/${i.audience}` })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud is a comma-separated list including ours',
    token: (i) => i.sign(i.claims({ aud: `${i.audience},https://other.api` })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud nests our audience in an inner array',
    token: (i) => i.sign(i.claims({ aud: [[i.audience]] })),
    outcome: AUDIENCE,
  },
  {
    name: 'a token whose aud is an object holding our audience',
    token: (i) => i.sign(i.claims({ aud: { 0: i.audience } })),
    outcome: AUDIENCE,
  },
];

const issuerClaims: Case[] = [
  { name: 'a token without iss', token: (i) => i.sign(i.claims({ iss: undefined })), outcome: ISSUER },
  { name: 'a token whose iss lacks the trailing slash', token: (i) => i.sign(i.claims({ iss: i.url })), outcome: ISSUER },
  { name: 'a token whose iss has an extra path', token: (i) => i.sign(i.claims({ iss: `${i.issuer}evil/` })), outcome: ISSUER },
  {
    name: 'a token whose iss differs only in letter case',
    token: (i) => i.sign(i.claims({ iss: i.issuer.toUpperCase() })),
    outcome: ISSUER,
  },
  { name: 'a token whose iss is an array holding our issuer', token: (i) => i.sign(i.claims({ iss: [i.issuer] })), outcome: ISSUER },
  { name: 'a token whose iss has a trailing space', token: (i) => i.sign(i.claims({ iss: `${i.issuer} ` })), outcome: ISSUER },
  { name: 'a token whose iss is null', token: (i) => i.sign(i.claims({ iss: null })), outcome: ISSUER },
];

const DOC = '/internal/documents/1';
const scopeTricks: Case[] = [
  {
    name: 'a token whose only scope extends the required one (read:documents-admin)',
    token: (i) => i.sign(i.claims({ scope: 'read:documents-admin' })),
    path: DOC,
    outcome: insufficientScope('read:documents'),
  },
  {
    name: 'a token whose scope glues two scopes together without a space',
    token: (i) => i.sign(i.claims({ scope: 'read:documentsdelete:documents' })),
    method: 'delete',
    path: DOC,
    outcome: insufficientScope('delete:documents'),
  },
  {
    name: 'a token whose scope separates two scopes with a tab',
    token: (i) => i.sign(i.claims({ scope: 'read:documents\tdelete:documents' })),
    method: 'delete',
    path: DOC,
    outcome: insufficientScope('delete:documents'),
  },
  {
    name: 'a token whose scope is the wildcard "*"',
    token: (i) => i.sign(i.claims({ scope: '*' })),
    path: DOC,
    outcome: insufficientScope('read:documents'),
  },
  {
    name: 'a token whose scope is the wildcard "read:*"',
    token: (i) => i.sign(i.claims({ scope: 'read:*' })),
    path: DOC,
    outcome: insufficientScope('read:documents'),
  },
  {
    name: 'a token whose permissions hold "read:*"',
    token: (i) => i.sign(i.claims({ scope: undefined, permissions: ['read:*'] })),
    path: DOC,
    outcome: insufficientScope('read:documents'),
  },
  {
    name: 'a token whose permissions hold the scope with a trailing space',
    token: (i) => i.sign(i.claims({ scope: undefined, permissions: ['delete:documents '] })),
    method: 'delete',
    path: DOC,
    outcome: insufficientScope('delete:documents'),
  },
  {
    name: 'a token whose permissions hold one space-separated string of scopes',
    token: (i) => i.sign(i.claims({ scope: undefined, permissions: ['read:documents delete:documents'] })),
    method: 'delete',
    path: DOC,
    outcome: insufficientScope('delete:documents'),
  },
];

const headerInjection: Case[] = [
  {
    name: "a token whose jku points at the attacker's JWKS and is signed by the attacker",
    token: (i, c) => i.sign(i.claims(), { jku: c.attackerHost.jwksUri }, c.attacker),
    outcome: headerParam('jku'),
  },
  {
    name: "a token whose jku points at the attacker's JWKS under the issuer's kid",
    token: (i, c) => i.sign(i.claims(), { jku: c.attackerHost.jwksUri, kid: i.signingKey.kid }, c.attacker),
    outcome: headerParam('jku'),
  },
  {
    name: "a token whose x5u points at the attacker's host",
    token: (i, c) => i.sign(i.claims(), { x5u: `${c.attackerHost.url}/cert.pem` }, c.attacker),
    outcome: headerParam('x5u'),
  },
  {
    name: "a token embedding the attacker's public key as jwk and signed with it",
    token: (i, c) =>
      i.sign(i.claims(), { jwk: { ...(c.attacker.publicKey.export({ format: 'jwk' }) as object), kid: c.attacker.kid } }, c.attacker),
    outcome: headerParam('jwk'),
  },
  {
    name: "a genuinely signed token embedding the issuer's own public key as jwk",
    token: (i) => i.sign(i.claims(), { jwk: publicJwk(i) }),
    outcome: headerParam('jwk'),
  },
  {
    name: "a token carrying an x5c entry with the attacker's key and signed with it",
    token: (i, c) =>
      i.sign(i.claims(), { x5c: [c.attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')] }, c.attacker),
    outcome: headerParam('x5c'),
  },
  {
    name: 'a genuinely signed token whose crit names a registered parameter (exp)',
    token: (i) => i.sign(i.claims(), { crit: ['exp'], exp: now() + 60 }),
    outcome: CRIT,
  },
  {
    name: 'a genuinely signed token whose crit names an unknown extension',
    token: (i) => i.sign(i.claims(), { crit: ['x-acme-policy'], 'x-acme-policy': 'allow-all' }),
    outcome: CRIT,
  },
  { name: 'a genuinely signed token whose crit is an empty list', token: (i) => i.sign(i.claims(), { crit: [] }), outcome: CRIT },
  {
    name: 'a genuinely signed RFC 7797 token with b64 false listed in crit',
    token: (i) => {
      const h = rsHeader(i, { b64: false, crit: ['b64'] });
      const payload = JSON.stringify(i.claims());
      return `${h}.${b64(payload)}.${i.signatureOf(`${h}.${payload}`)}`;
    },
    outcome: CRIT,
  },
  {
    name: 'a token with b64 false (outside crit) signed over the unencoded payload',
    token: (i) => {
      const h = rsHeader(i, { b64: false });
      const payload = JSON.stringify(i.claims());
      return `${h}.${b64(payload)}.${i.signatureOf(`${h}.${payload}`)}`;
    },
    outcome: SIGNATURE,
  },
];

const kidTricks: Case[] = [
  {
    name: 'a genuinely signed token whose kid is the path traversal "../../etc/passwd"',
    token: (i) => i.sign(i.claims(), { kid: '../../etc/passwd' }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid is the SQL injection "\' OR 1=1 --"',
    token: (i) => i.sign(i.claims(), { kid: "' OR 1=1 --" }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid is 10,000 characters long',
    token: (i) => i.sign(i.claims(), { kid: 'k'.repeat(10_000) }),
    outcome: TOO_LARGE,
  },
  {
    name: 'a genuinely signed token whose kid is 300 characters long',
    token: (i) => i.sign(i.claims(), { kid: 'k'.repeat(300) }),
    outcome: INVALID_KID,
  },
  { name: 'a genuinely signed token whose kid is the empty string', token: (i) => i.sign(i.claims(), { kid: '' }), outcome: INVALID_KID },
  { name: 'a genuinely signed token whose kid is a number', token: (i) => i.sign(i.claims(), { kid: 1 }), outcome: INVALID_KID },
  {
    name: 'a genuinely signed token whose kid is an object',
    token: (i) => i.sign(i.claims(), { kid: { $ne: null } }),
    outcome: INVALID_KID,
  },
  {
    name: 'a genuinely signed token whose kid is an array holding the real kid',
    token: (i) => i.sign(i.claims(), { kid: [i.signingKey.kid] }),
    outcome: INVALID_KID,
  },
  { name: 'a genuinely signed token whose kid is null', token: (i) => i.sign(i.claims(), { kid: null }), outcome: INVALID_KID },
  {
    name: 'a genuinely signed token whose kid is the real kid followed by a null byte',
    token: (i) => i.sign(i.claims(), { kid: `${i.signingKey.kid}\u0000` }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid is "__proto__"',
    token: (i) => i.sign(i.claims(), { kid: '__proto__' }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid is "constructor"',
    token: (i) => i.sign(i.claims(), { kid: 'constructor' }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid is "hasOwnProperty"',
    token: (i) => i.sign(i.claims(), { kid: 'hasOwnProperty' }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid is the real kid in upper case',
    token: (i) => i.sign(i.claims(), { kid: i.signingKey.kid.toUpperCase() }),
    outcome: UNKNOWN_KID,
  },
  {
    name: 'a genuinely signed token whose kid carries CRLF and a header line',
    token: (i) => i.sign(i.claims(), { kid: `${i.signingKey.kid}\r\nX-Injected: yes` }),
    outcome: UNKNOWN_KID,
  },
];

const families: Array<[family: string, cases: Case[]]> = [
  ['alg "none" and odd alg values (RFC 8725 §2.1, §3.1)', algNone],
  ['HMAC algorithm confusion with the public key as secret (RFC 8725 §2.1)', hmacConfusion],
  ['foreign keys and algorithms outside the RS256 allow-list', keysAndAlgorithms],
  ['signature tampering', tampering],
  ['truncated and extra segments', truncation],
  ['malformed segments and JSON', malformed],
  ['odd exp, nbf and iat claims', timeClaims],
  ['audience tricks', audience],
  ['issuer tricks', issuerClaims],
  ['scope substring tricks', scopeTricks],
  ['key-carrying and critical header parameters (RFC 8725 §3.10, RFC 7515 §4.1.11)', headerInjection],
  ['hostile kid values', kidTricks],
];

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

describe('hostile tokens against the real AppModule', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const ctx = {} as Context;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    // Its own keys: nothing it publishes may match the real issuer's.
    ctx.attackerHost = await new TestIssuer({ freshKeys: true }).start();
    ctx.attacker = generateTestKey('attacker-rsa-key-not-published');
    ctx.attackerEc = generateTestKey('attacker-ec-key-not-published', 'ES256');
    app = await startApp(issuer);
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
    await ctx.attackerHost?.close();
  });

  // Whatever the previous token did, the process still answers and still accepts a valid token.
  afterEach(async () => {
    await http().get('/health').timeout(3000).expect(200);
    await http().get('/internal/data').set('Authorization', `Bearer ${issuer.sign()}`).timeout(3000).expect(200);
  });

  for (const [family, cases] of families) {
    describe(family, () => {
      for (const c of cases) {
        it(`${c.name} is answered ${c.outcome.label}`, async () => {
          const res = await http()
            [c.method ?? 'get'](c.path ?? '/internal/data')
            .set('Authorization', `Bearer ${c.token(issuer, ctx)}`)
            .timeout(3000);
          expect(res.status).toBe(c.outcome.status);
          if (res.status === 401)
            expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="nest-m2m", error="invalid_token", error_description="[^"]+"$/);
          if (c.outcome.challenge !== undefined) expect(res.headers['www-authenticate']).toBe(c.outcome.challenge);
          if (c.outcome.body !== undefined) expect(res.body).toEqual(c.outcome.body);
          if (res.status >= 400) {
            expect(res.headers['cache-control']).toBe('no-store');
            // Refusals never teach the caller our configuration.
            expect(res.text).not.toContain(issuer.audience);
            expect(res.text).not.toContain(issuer.url);
          }
          expect(res.headers['x-injected']).toBeUndefined();
        });
      }
    });
  }

  it('never fetched the attacker JWKS that jku pointed at', () => {
    expect(ctx.attackerHost.jwksFetches).toBe(0);
  });
});

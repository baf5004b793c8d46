/**
 * The outgoing DPoP proof's `iat` comes from the M2M module's `clock` option, like every other time
 * decision of the module (a proof stamped with the wall clock while tokens follow an injected
 * clock would be refused by a server on that clock as outside its `iat` window).
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { DpopClientKey } from './dpop-client.js';
import { M2MTokenService } from './m2m-token.service.js';

const AT = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
const clock = { now: () => AT };

describe('DPoP proofs of the M2M client', () => {
  it('a_proof_is_stamped_with_the_given_clock', async () => {
    const key = await DpopClientKey.create({}, clock);
    const proof = await key.proof({ htm: 'GET', htu: 'https://api.test/documents/1?x=1', accessToken: 'a.b.c' });
    expect(decodeJwt(proof)).toMatchObject({ iat: Math.floor(AT / 1000), htm: 'GET', htu: 'https://api.test/documents/1' });
    expect(decodeProtectedHeader(proof)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
  });

  it('the_token_service_stamps_proofs_with_its_clock_option', async () => {
    const tokens = new M2MTokenService({
      tokenEndpoint: 'https://issuer.test/oauth/token',
      clientId: 'client',
      clientSecret: 'client-secret-0123456789abcdef',
      dpop: {},
      clock,
    });
    try {
      const proof = await tokens.dpopProof({ htm: 'POST', htu: 'https://issuer.test/oauth/token' });
      expect(decodeJwt(proof).iat).toBe(Math.floor(AT / 1000));
    } finally {
      await tokens.onModuleDestroy();
    }
  });
});

/**
 * The dev issuer's DPoP (RFC 9449 §5): our M2M client gets DPoP-bound tokens from it (with and
 * without its nonces) that the real AppModule with AUTH_DPOP=required accepts through a DPoP
 * sibling client; hostile proofs at /oauth/token are answered 400 invalid_dpop_proof.
 */
import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer } from '@nest-m2m/dev-issuer';
import { DpopClientKey, M2MTokenService, type M2MModuleOptions, SiblingClient } from '@nest-m2m/auth/m2m';
import { createApp } from '../src/bootstrap.js';
import { dpopTestKey, proof } from './helpers/dpop.js';

describe.each([false, true])('dev issuer DPoP token endpoint (nonces: %s)', (nonces) => {
  let iss: DevIssuer;
  let app: INestApplication;
  let options: M2MModuleOptions;
  let tokens: M2MTokenService;
  const secret = () => iss.config.clients.find((c) => c.clientId === 'documents-caller')!.clientSecret!;

  beforeAll(async () => {
    iss = await startDevIssuer({ enableTestControls: true, dpopNonces: nonces });
    app = await createApp(
      {
        env: {
          NODE_ENV: 'test',
          AUTH_ISSUER_URL: iss.issuer,
          AUTH0_AUDIENCE: DOCUMENTS_API_AUDIENCE,
          AUTH_DPOP: 'required',
          LOG_LEVEL: 'silent',
        },
      },
      false,
    );
    await app.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    options = {
      dialect: 'auth0',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'documents-caller',
      clientSecret: secret(),
      dpop: {},
      siblings: [{ name: 'documents', baseUrl, audience: DOCUMENTS_API_AUDIENCE, dpop: true }],
    };
    tokens = new M2MTokenService(options);
  });
  afterAll(async () => {
    await tokens?.onModuleDestroy();
    await app?.close();
    await iss?.close();
  });

  it('discovery_lists_the_dpop_signing_algorithms', async () => {
    const metadata = (await (await fetch(`${iss.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toEqual(['ES256']);
  });

  it('issues_token_type_dpop_with_cnf_jkt_and_the_app_accepts_it_through_a_dpop_sibling', async () => {
    const token = await tokens.getToken({ audience: DOCUMENTS_API_AUDIENCE, dpop: true });
    expect(token.tokenType).toBe('DPoP');
    expect((decodeJwt(token.accessToken).cnf as { jkt: string }).jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const documents = new SiblingClient(options.siblings![0]!, tokens);
    const res = await firstValueFrom(documents.get('/internal/documents/1'));
    expect(res.status).toBe(200);
  });

  it('without_a_proof_the_token_stays_bearer', async () => {
    const res = await fetch(iss.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'documents-caller',
        client_secret: secret(),
        audience: DOCUMENTS_API_AUDIENCE,
      }),
    });
    const body = (await res.json()) as { token_type: string; access_token: string };
    expect(body.token_type).toBe('Bearer');
    expect(decodeJwt(body.access_token).cnf).toBeUndefined();
  });

  const tokenRequest = (dpop: string) =>
    fetch(iss.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'documents-caller',
        client_secret: secret(),
        audience: DOCUMENTS_API_AUDIENCE,
      }),
    });

  it('a_proof_for_another_url_is_invalid_dpop_proof', async () => {
    const key = await dpopTestKey();
    const res = await tokenRequest(await proof(key, { htm: 'POST', htu: `${iss.url}/elsewhere` }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_dpop_proof', error_description: 'DPoP proof htm or htu mismatch' });
  });

  it('a_proof_with_alg_es384_is_invalid_dpop_proof', async () => {
    const key = await dpopTestKey('ES384');
    const res = await tokenRequest(await proof(key, { htm: 'POST', htu: iss.tokenEndpoint }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toBe('Unsupported DPoP proof algorithm');
  });

  it('a_replayed_proof_is_refused', async () => {
    const key = await DpopClientKey.create({});
    let dpop = await key.proof({ htm: 'POST', htu: iss.tokenEndpoint });
    let first = await tokenRequest(dpop);
    if (nonces) {
      expect(first.status).toBe(400);
      expect(first.headers.get('dpop-nonce')).toBeTruthy();
      dpop = await key.proof({ htm: 'POST', htu: iss.tokenEndpoint, nonce: first.headers.get('dpop-nonce')! });
      first = await tokenRequest(dpop);
    }
    expect(first.status).toBe(200);
    const replay = await tokenRequest(dpop);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error_description: string }).error_description).toBe('DPoP proof replayed');
  });
});

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { type INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_METADATA, SCOPES_METADATA } from '@nest-m2m/auth';
import { startApp } from './helpers/app.js';
import { freePort } from './helpers/built-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

interface Route {
  method: string;
  path: string;
  public: boolean;
  scopes: string[];
}

/** Every route of the app with the guards' metadata, read straight from the controllers. */
function routesOf(app: INestApplication): Route[] {
  const reflector = app.get(Reflector);
  const routes: Route[] = [];
  for (const { metatype } of app.get(DiscoveryService, { strict: false }).getControllers()) {
    if (!metatype) continue;
    const base = String(Reflect.getMetadata(PATH_METADATA, metatype) ?? '');
    for (const key of Object.getOwnPropertyNames(metatype.prototype)) {
      const handler = (metatype.prototype as Record<string, unknown>)[key];
      if (key === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      const sub = String(Reflect.getMetadata(PATH_METADATA, handler));
      const path = `/${[base, sub]
        .map((p) => p.replace(/^\/|\/$/g, ''))
        .filter(Boolean)
        .join('/')}`.replace(/:(\w+)/g, '{$1}');
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]?.toLowerCase();
      if (method === undefined) throw new Error(`${metatype.name}.${key} has a path but no HTTP method`);
      const isPublic = reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, [handler, metatype]) === true;
      const scopes = [...new Set(reflector.getAllAndMerge<string[]>(SCOPES_METADATA, [handler, metatype]) ?? [])];
      routes.push({ method, path, public: isPublic, scopes });
    }
  }
  return routes;
}

describe.each(['express', 'fastify'])('OpenAPI document at /docs-json on %s', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication;
  let doc: any;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await startApp(issuer, { HTTP_PLATFORM: platform });
    const res = await fetch(`${await app.getUrl()}/docs-json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('every_route_security_matches_its_guard_metadata_exactly', () => {
    const routes = routesOf(app);
    expect(routes.length).toBeGreaterThanOrEqual(8);
    expect(routes.filter((r) => r.public).map((r) => r.path)).toEqual(expect.arrayContaining(['/health', '/health/ready', '/metrics']));
    for (const route of routes) {
      const op = doc.paths[route.path]?.[route.method];
      expect(op, `${route.method} ${route.path} is documented`).toBeDefined();
      if (route.public) {
        expect(op.security ?? [], `${route.method} ${route.path}`).toEqual([]);
        expect(op.responses['401'], `${route.method} ${route.path}`).toBeUndefined();
      } else {
        expect(op.security, `${route.method} ${route.path}`).toEqual([{ oauth2: route.scopes }]);
        expect(op.responses['401'], `${route.method} ${route.path}`).toBeDefined();
        if (route.scopes.length > 0) {
          expect(op.responses['403'], `${route.method} ${route.path}`).toBeDefined();
          expect(op.responses['403'].description).toContain(route.scopes.join(' '));
        } else {
          expect(op.responses['403']).toBeUndefined();
        }
      }
    }
    // And nothing is documented that the app does not serve.
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item as object).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('the_documented_scopes_are_the_contract_of_design_md', () => {
    expect(doc.paths['/internal/documents/{id}'].get.security).toEqual([{ oauth2: ['read:documents'] }]);
    expect(doc.paths['/internal/documents/{id}'].put.security).toEqual([{ oauth2: ['write:documents'] }]);
    expect(doc.paths['/internal/documents/{id}'].delete.security).toEqual([{ oauth2: ['delete:documents'] }]);
    expect(doc.paths['/internal/data'].get.security).toEqual([{ oauth2: [] }]);
  });

  it('the_oauth2_scheme_is_client_credentials_at_the_issuers_token_endpoint_with_every_scope', () => {
    const flow = doc.components.securitySchemes.oauth2.flows.clientCredentials;
    expect(doc.components.securitySchemes.oauth2.type).toBe('oauth2');
    expect(flow.tokenUrl).toBe(`${issuer.url}/oauth/token`);
    expect(Object.keys(flow.scopes).sort()).toEqual(['delete:documents', 'read:audit', 'read:documents', 'write:audit', 'write:documents']);
  });

  it('the_put_of_a_document_documents_its_json_body_the_validation_rules_and_its_answers', () => {
    const put = doc.paths['/internal/documents/{id}'].put;
    expect(put.requestBody).toEqual({
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              title: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
              body: { type: 'string', maxLength: 10000 },
            },
            required: ['title', 'body'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(put.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9._~-]{1,64}$', maxLength: 64 } },
    ]);
    expect(Object.keys(put.responses).sort()).toEqual(['200', '201', '400', '401', '403', '413', '415', '503', '507']);
    expect(put.responses['201'].content['application/json'].schema.required).toEqual(['id', 'title', 'body']);
  });

  it('the_ui_and_the_document_are_public', async () => {
    const base = await app.getUrl();
    const ui = await fetch(`${base}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it('AUTH_TOKEN_URL_wins_and_an_unreachable_issuer_does_not_hold_start_up', async () => {
    const configured = `http://127.0.0.1:${await freePort()}/custom/token`;
    const other = await startApp(issuer, { HTTP_PLATFORM: platform, AUTH_TOKEN_URL: configured });
    const tokenUrl = async (a: INestApplication) =>
      ((await (await fetch(`${await a.getUrl()}/docs-json`)).json()) as any).components.securitySchemes.oauth2.flows.clientCredentials
        .tokenUrl;
    expect(await tokenUrl(other)).toBe(configured);
    await other.close();

    // An issuer that accepts connections and never answers, with a 60 s discovery deadline: start-up
    // completes while the discovery request is still pending (waiting for it would outlast the test).
    const pending: Socket[] = [];
    const blackHole = createServer().on('connection', (socket) => pending.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
    try {
      const offline = await startApp({ issuer: url, audience: issuer.audience } as TestIssuer, {
        AUTH_JWKS_TIMEOUT_MS: '60000',
        HTTP_PLATFORM: platform,
      });
      expect(pending.filter((s) => !s.destroyed).length).toBeGreaterThan(0);
      expect(await tokenUrl(offline)).toBe(`${url}/oauth/token`);
      await offline.close();
    } finally {
      for (const socket of pending) socket.destroy();
      blackHole.close();
    }
  });
});

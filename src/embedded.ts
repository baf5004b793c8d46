/**
 * Embedded mode only: main.ts imports this module (and with it the dev issuer, a devDependency that
 * the production image does not install) with a dynamic import, so a production process never loads it.
 */
import { Logger } from '@nestjs/common';
import type { Env } from './config/env.schema.js';
import { freePort } from './free-port.js';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer, writeDevIssuerState } from '@nest-m2m/dev-issuer';

/** The service's own identity at the embedded issuer (granted `write:audit` on the audit API). */
const SERVICE_CLIENT_ID = 'nest-m2m-service';
/** The sample caller a newcomer uses from curl (granted the documents scopes). */
const CALLER_CLIENT_ID = 'documents-caller';

export interface Embedded {
  issuer: DevIssuer;
  /** Environment overrides that point the service at the embedded issuer. */
  env: Record<string, string>;
  printQuickStart(port: number): void;
}

/**
 * The environment that points this service at a dev issuer with its sample set-up: both sample APIs'
 * audiences (each API accepting only its own), the service's own client credentials there, and the
 * audit sibling at `auditServiceUrl`. Embedded mode uses it, and so do the specs and benches that
 * run the built service against a dev issuer of their own.
 */
export function devIssuerServiceEnv(issuer: DevIssuer, auditServiceUrl: string): Record<string, string> {
  return {
    AUTH_ISSUER_URL: issuer.issuer,
    AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
    // Each API of the sample accepts only tokens minted for it.
    DOCUMENTS_API_AUDIENCE,
    AUDIT_API_AUDIENCE,
    AUTH_TOKEN_DIALECT: 'auth0',
    AUTH_CLIENT_AUTH: 'client_secret_post',
    AUTH0_CLIENT_ID: SERVICE_CLIENT_ID,
    AUTH0_CLIENT_SECRET: issuer.config.clients.find((c) => c.clientId === SERVICE_CLIENT_ID)?.clientSecret ?? '',
    AUDIT_SERVICE_URL: auditServiceUrl,
    AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
  };
}

export async function startEmbedded(env: Env): Promise<Embedded> {
  const logger = new Logger('Embedded');
  const issuer = await startDevIssuer({ port: env.DEV_ISSUER_PORT, logger: { log: (m) => logger.log(m), warn: (m) => logger.warn(m) } });
  // The audit sibling is this service itself, over HTTP, so its URL needs the port before listen.
  const port = env.PORT === 0 ? await freePort() : env.PORT;
  const secretOf = (id: string) => issuer.config.clients.find((c) => c.clientId === id)?.clientSecret ?? '';
  await writeDevIssuerState(issuer);
  return {
    issuer,
    env: { PORT: String(port), ...devIssuerServiceEnv(issuer, `http://127.0.0.1:${port}`) },
    printQuickStart(listenPort: number) {
      const route = `http://127.0.0.1:${listenPort}/internal/documents/1`;
      // The token CLI reads the secret from the state file (mode 0600) itself, so the command a
      // newcomer copies, shares or pastes into a chat carries no secret.
      const cliCommand = `TOKEN=$(npm run -s token -- --client ${CALLER_CLIENT_ID}) && curl -s -H "Authorization: Bearer $TOKEN" ${route}`;
      const body = JSON.stringify({
        grant_type: 'client_credentials',
        client_id: CALLER_CLIENT_ID,
        client_secret: secretOf(CALLER_CLIENT_ID),
        audience: DOCUMENTS_API_AUDIENCE,
      });
      const curlCommand =
        `TOKEN=$(curl -s ${issuer.tokenEndpoint} -H 'content-type: application/json' -d '${body}' ` +
        `| sed -E 's/.*"access_token":"([^"]+)".*/\\1/') && ` +
        `curl -s -H "Authorization: Bearer $TOKEN" ${route}`;
      process.stdout.write(
        [
          '',
          `Embedded dev issuer running at ${issuer.issuer} (development only; set AUTH0_DOMAIN or AUTH_ISSUER_URL for a real one).`,
          'Get a token as the sample caller with the token CLI and call a protected route (from this directory):',
          '',
          `  ${cliCommand}`,
          '',
          `DEV ONLY — the same with curl alone; it contains the sample caller's client secret of this dev issuer:`,
          '',
          `  ${curlCommand}`,
          '',
        ].join('\n') + '\n',
      );
    },
  };
}

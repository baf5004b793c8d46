/**
 * Runs the dev issuer on its own: `npx nest-m2m-dev-issuer` (cli.ts).
 * Environment: DEV_ISSUER_PORT (default 0: any free port), DEV_ISSUER_HOST (loopback only),
 * DEV_ISSUER_CONFIG (JSON file), DEV_ISSUER_KEYS_FILE (keys survive restarts),
 * DEV_ISSUER_TEST_CONTROLS=true (expose /__test/), DEV_ISSUER_STATE_FILE (for `nest-m2m-dev-issuer token`),
 * DEV_ISSUER_TLS=true (https with a CA made at start) and DEV_ISSUER_CA_FILE (where its certificate
 * goes, default .dev-issuer/ca.pem, for NODE_EXTRA_CA_CERTS).
 */
import { DEFAULT_STATE_FILE, removeDevIssuerState, startDevIssuer, writeDevIssuerState } from './index.js';

/** Beside the state file: a stable path to put in NODE_EXTRA_CA_CERTS once. */
const DEFAULT_CA_FILE = '.dev-issuer/ca.pem';

const env = process.env;
const port = env.DEV_ISSUER_PORT ? Number(env.DEV_ISSUER_PORT) : 0;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`DEV_ISSUER_PORT must be a port number, got "${env.DEV_ISSUER_PORT}"`);
  process.exit(2);
}
const stateFile = env.DEV_ISSUER_STATE_FILE || DEFAULT_STATE_FILE;
const tls = env.DEV_ISSUER_TLS === 'true' ? { caFile: env.DEV_ISSUER_CA_FILE || DEFAULT_CA_FILE } : undefined;

try {
  const issuer = await startDevIssuer({
    host: env.DEV_ISSUER_HOST || undefined,
    port,
    config: env.DEV_ISSUER_CONFIG || undefined,
    keysFile: env.DEV_ISSUER_KEYS_FILE || undefined,
    enableTestControls: env.DEV_ISSUER_TEST_CONTROLS === 'true',
    ...(tls ? { tls } : {}),
    logger: { log: (msg) => console.log(msg), warn: (msg) => console.warn(msg) },
  });
  await writeDevIssuerState(issuer, stateFile);

  // Secrets are printed only outside production (startDevIssuer already refuses production
  // unless allowProduction, which this entry point never sets; the check stays as a second guard).
  const showSecrets = env.NODE_ENV !== 'production';
  const lines = [
    `Dev issuer: ${issuer.issuer}`,
    `  token endpoint: ${issuer.tokenEndpoint}`,
    `  JWKS:           ${issuer.jwksUri}`,
    `  state file:     ${stateFile} (read by nest-m2m-dev-issuer token)`,
    env.DEV_ISSUER_TEST_CONTROLS === 'true' ? `  test controls:  ${issuer.url}/__test/` : undefined,
    issuer.ca ? `  CA certificate: ${issuer.ca.file} (trust it: export NODE_EXTRA_CA_CERTS=${issuer.ca.file})` : undefined,
    'Clients:',
    ...issuer.config.clients.map(
      (c) =>
        `  ${c.clientId} → ${c.grants.map((g) => g.audience).join(', ') || '(no grants)'} [${c.tokenEndpointAuthMethod}]` +
        (showSecrets && c.clientSecret ? `\n    secret: ${c.clientSecret}` : ''),
    ),
    'Get a token:',
    `  ${issuer.ca ? `NODE_EXTRA_CA_CERTS=${issuer.ca.file} ` : ''}npx nest-m2m-dev-issuer token --client ${issuer.config.clients[0]?.clientId ?? '<client-id>'}`,
  ];
  console.log(lines.filter((line) => line !== undefined).join('\n'));

  const stop = async () => {
    await Promise.all([issuer.close(), removeDevIssuerState(stateFile)]);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

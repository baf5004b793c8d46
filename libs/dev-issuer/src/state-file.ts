import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { DevIssuer } from './types.js';

/** Where a running embedded issuer tells `nest-m2m-dev-issuer token` how to reach it (git-ignored). */
export const DEFAULT_STATE_FILE = '.dev-issuer/state.json';

const stateSchema = z.object({
  url: z.string(),
  issuer: z.string(),
  tokenEndpoint: z.string(),
  clients: z.array(
    z.object({
      clientId: z.string(),
      clientSecret: z.string().optional(),
      audiences: z.array(z.string()),
      // Lets the token CLI pick Basic for a basic-only client without being told.
      tokenEndpointAuthMethod: z.string().optional(),
    }),
  ),
});
export type DevIssuerState = z.infer<typeof stateSchema>;

/**
 * Writes the running issuer's endpoints and client credentials. Mode 0600 (directory 0700): the
 * file holds dev secrets, readable only by the user who started the issuer. Returns the path.
 */
export async function writeDevIssuerState(issuer: Pick<DevIssuer, 'url' | 'issuer' | 'tokenEndpoint' | 'config'>, file = DEFAULT_STATE_FILE): Promise<string> {
  const state: DevIssuerState = {
    url: issuer.url,
    issuer: issuer.issuer,
    tokenEndpoint: issuer.tokenEndpoint,
    clients: issuer.config.clients.map((client) => ({
      clientId: client.clientId,
      ...(client.clientSecret !== undefined ? { clientSecret: client.clientSecret } : {}),
      audiences: client.grants.map((grant) => grant.audience),
      ...(client.tokenEndpointAuthMethod !== undefined ? { tokenEndpointAuthMethod: client.tokenEndpointAuthMethod } : {}),
    })),
  };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // mode above applies only when the file is created
  return file;
}

export async function readDevIssuerState(file = DEFAULT_STATE_FILE): Promise<DevIssuerState> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`Dev issuer state file ${file} is not valid JSON`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) throw new Error(`Dev issuer state file ${file} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Removes the state file when the issuer stops, so the token CLI does not chase a dead port. */
export async function removeDevIssuerState(file = DEFAULT_STATE_FILE): Promise<void> {
  await rm(file, { force: true });
}

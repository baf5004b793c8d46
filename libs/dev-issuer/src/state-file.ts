import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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
 *
 * The secrets go to a new file created with O_EXCL (which never follows a symlink) and are renamed
 * over `file`, so a `state.json` planted as a symlink is replaced, not written through to wherever
 * it points; an existing directory is chmod-ed too (mkdir's mode applies only to new ones).
 */
export async function writeDevIssuerState(
  issuer: Pick<DevIssuer, 'url' | 'issuer' | 'tokenEndpoint' | 'config'>,
  file = DEFAULT_STATE_FILE,
): Promise<string> {
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
  const directory = dirname(file);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  if (!(await isSharedDirectory(directory))) await chmod(directory, 0o700);
  const temp = join(directory, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await handle.close();
    await rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  return file;
}

/**
 * The state file wants a directory of its own (`.dev-issuer/`); one that others use too (the working
 * directory, the home directory, `/`, a sticky `/tmp`) keeps its mode, and the file its 0600.
 */
async function isSharedDirectory(directory: string): Promise<boolean> {
  const path = resolve(directory);
  if (path === process.cwd() || path === homedir() || path === resolve('/')) return true;
  return ((await stat(path)).mode & 0o1000) !== 0;
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
  if (!parsed.success)
    throw new Error(
      `Dev issuer state file ${file} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** Removes the state file when the issuer stops, so the token CLI does not chase a dead port. */
export async function removeDevIssuerState(file = DEFAULT_STATE_FILE): Promise<void> {
  await rm(file, { force: true });
}

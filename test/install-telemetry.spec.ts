/**
 * `@scarf/scarf` (a dependency of swagger-ui-dist, via @nestjs/swagger) sends install telemetry from
 * its postinstall script unless the root package opts out. npm 11.19+ skips unapproved install
 * scripts by default; older npm runs them, so both opt-outs are in package.json.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/built-app.js';

const run = promisify(execFile);

describe('install-time telemetry', () => {
  it('package_json_opts_out_of_scarf_and_denies_its_install_script', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scarfSettings?: { enabled?: boolean };
      allowScripts?: Record<string, boolean>;
    };
    expect(pkg.scarfSettings).toEqual({ enabled: false });
    expect(pkg.allowScripts?.['@scarf/scarf']).toBe(false);
  });

  it('scarfs_postinstall_run_as_npm_would_stops_before_any_network_request', async () => {
    // Any outgoing request from the script is turned into a marker instead of leaving the machine.
    // scarf's postinstall (report.js) with its `npm ls` run without scarf's 3 s timeout (see the helper).
    const guard = join(ROOT, 'test/helpers/no-network.cjs');
    const { stdout, stderr } = await run(process.execPath, ['--require', guard, join(ROOT, 'test/helpers/scarf-postinstall.cjs')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', INIT_CWD: ROOT, SCARF_VERBOSE: 'true' },
      timeout: 60_000,
    });
    const output = stdout + stderr;
    expect(output).not.toContain('NETWORK REQUEST ATTEMPTED');
    // scarf names the opt-out it found (the root package.json, in the dependency chain it walks).
    expect(output).toMatch(/Scarf has been disabled via a package.json|User has opted out/);
  }, 90_000);
});

#!/usr/bin/env node
/**
 * API reports of the published entry points, kept in git (libs/<lib>/etc/*.api.md) so that an
 * accidental change to the public API fails CI. Reads the built .d.ts files: run `npm run build` first.
 *
 *   node scripts/api-report.mjs            check: exit 1 when a report differs from the build (CI)
 *   node scripts/api-report.mjs --update   rewrite the reports after an intended API change
 *
 * @microsoft/api-extractor brings its own TypeScript (the same 6.0.x as ours); configs are built here,
 * one per entry point, because api-extractor analyses one entry point per run.
 */
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One line per entry point of the packages' `exports` maps. */
const ENTRY_POINTS = [
  { lib: 'libs/auth', entry: 'dist/index.d.ts', report: 'auth' }, // @nest-m2m/auth
  { lib: 'libs/auth', entry: 'dist/m2m/index.d.ts', report: 'auth-m2m' }, // @nest-m2m/auth/m2m
  { lib: 'libs/dev-issuer', entry: 'dist/index.d.ts', report: 'dev-issuer' }, // @nest-m2m/dev-issuer
];

const update = process.argv.includes('--update');
let failed = false;

for (const { lib, entry, report } of ENTRY_POINTS) {
  const projectFolder = join(root, lib);
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder,
      mainEntryPointFilePath: join(projectFolder, entry),
      compiler: { tsconfigFilePath: join(projectFolder, 'tsconfig.build.json') },
      apiReport: {
        enabled: true,
        reportFileName: report,
        reportFolder: join(projectFolder, 'etc'),
        reportTempFolder: join(root, '.tmp/api-report'),
        // Types reachable from the API but not exported by name are API too: report their shape.
        includeForgottenExports: true,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        // The report is the contract; doc comments and release tags are not linted here.
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        // Messages stay out of the report: several carry source line numbers, so any edit above a
        // declaration would change the report without changing the API.
        extractorMessageReporting: { default: { logLevel: 'none', addToApiReportFile: false } },
        tsdocMessageReporting: { default: { logLevel: 'none', addToApiReportFile: false } },
      },
    },
    configObjectFullPath: undefined,
    packageJsonFullPath: join(projectFolder, 'package.json'),
  });
  if (update) mkdirSync(join(projectFolder, 'etc'), { recursive: true });
  const result = Extractor.invoke(config, { localBuild: update });
  const file = join(lib, 'etc', `${report}.api.md`);
  if (result.apiReportChanged && !update) {
    failed = true;
    console.error(`✗ ${file} differs from ${join(lib, entry)}: the public API changed.`);
    console.error(`  If that is intended: npm run api:update, review the diff and commit it.`);
    // The diff in the CI log says what changed without a local checkout.
    spawnSync('diff', ['-u', file, join('.tmp/api-report', `${report}.api.md`)], { cwd: root, stdio: 'inherit' });
  } else if (!result.succeeded) {
    failed = true;
    console.error(`✗ ${file}: api-extractor failed (${result.errorCount} errors)`);
  } else {
    console.log(`${update && result.apiReportChanged ? '✎ updated' : '✓'} ${file}`);
  }
}
process.exitCode = failed ? 1 : 0;

#!/usr/bin/env node
/**
 * `npx nest-m2m-dev-issuer` runs the dev issuer on its own (see dev-issuer.main.ts for its
 * environment); `npx nest-m2m-dev-issuer token --client <id>` prints an access token (token.cli.ts).
 */
const USAGE =
  'Usage: nest-m2m-dev-issuer [start]           run the issuer (environment: DEV_ISSUER_*)\n       nest-m2m-dev-issuer token --client <id> [--audience <api>] [--scope "<a b>"] [--json] …';

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === 'start') {
  await import('./dev-issuer.main.js');
} else if (command === 'token') {
  const { runTokenCli } = await import('./token.cli.js');
  process.exitCode = await runTokenCli(
    rest,
    process.env,
    (s) => process.stdout.write(`${s}\n`),
    (s) => process.stderr.write(`${s}\n`),
  );
} else if (command === '--help' || command === '-h' || command === 'help') {
  console.log(USAGE);
} else {
  console.error(`unknown command "${command}"\n${USAGE}`);
  process.exitCode = 2;
}

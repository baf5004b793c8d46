// Run by test/install-telemetry.spec.ts (with no-network.cjs preloaded): scarf's own postinstall
// logic, unchanged, except that the dependency tree it reads with `npm ls` is computed here without
// scarf's 3-second exec timeout — on a loaded machine that timeout fires first and scarf gives up
// before it ever reads the opt-out, which would prove nothing either way.
const { spawnSync } = require('node:child_process');
const scarf = require('@scarf/scarf/report.js');

const ls = spawnSync('npm', ['ls', '@scarf/scarf', '--json', '--long'], {
  cwd: process.env.INIT_CWD,
  maxBuffer: 1024 ** 3,
  encoding: 'utf8',
});
scarf.getDependencyInfo = () =>
  new Promise((resolve, reject) => scarf.processDependencyTreeOutput(resolve, reject)(ls.error ?? null, ls.stdout, ls.stderr));
scarf
  .reportPostInstall()
  .then(() => console.log('SCARF REPORTED'))
  .catch((error) => console.error(String(error)))
  .finally(() => process.exit(0));

// Preloaded by test/install-telemetry.spec.ts: an install script that tries to reach the network
// prints a marker and exits instead.
const http = require('node:http');
const https = require('node:https');
const block = () => {
  process.stdout.write('NETWORK REQUEST ATTEMPTED\n');
  process.exit(0);
};
for (const mod of [http, https]) {
  mod.request = block;
  mod.get = block;
}

#!/usr/bin/env node
/**
 * Every code sample of the package READMEs that imports something (and every JSON sample) must appear
 * verbatim in a file under that package's examples/, where `tsc` type-checks it against the built
 * package (and Vitest runs the e2e spec). Keeps the READMEs from drifting from the code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let missing = 0;
for (const lib of ['libs/auth', 'libs/dev-issuer']) {
  const readme = readFileSync(join(lib, 'README.md'), 'utf8');
  const examples = readdirSync(join(lib, 'examples')).map((f) => readFileSync(join(lib, 'examples', f), 'utf8'));
  for (const [, lang, body] of readme.matchAll(/```(ts|json)\n([\s\S]*?)```/g)) {
    if (lang === 'ts' && !/^import /m.test(body)) continue; // a shape description, not a program
    const sample = body.replace(/^\/\/ [\w.-]+\.ts\n/, '').trimEnd(); // a "// file.ts" caption line
    if (!examples.some((text) => text.includes(sample))) {
      missing++;
      console.error(`${lib}/README.md: sample not found in ${lib}/examples/:\n${sample.split('\n').slice(0, 3).join('\n')}\n…`);
    }
  }
}
process.exitCode = missing ? 1 : 0;

// Packs both libraries as `npm publish` would (a dry run, so `prepack` builds dist/ on a clean
// checkout) and fails when a tarball lacks a file that its package.json points at: main, types,
// every exports and typesVersions target, bin. .ci/run runs it right after `npm ci`, before any
// build, so a package without code can never pass.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const libs = ['libs/auth', 'libs/dev-issuer'];
const out = execFileSync('npm', ['pack', '--dry-run', '--json', ...libs.flatMap((l) => ['-w', l])], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
const packed = JSON.parse(out);
let missing = 0;
for (const lib of libs) {
  const manifest = JSON.parse(readFileSync(`${lib}/package.json`, 'utf8'));
  const entry = packed.find((p) => p.name === manifest.name);
  const files = new Set(entry?.files.map((f) => f.path) ?? []);
  const targets = new Set();
  const collect = (value) => {
    if (typeof value === 'string') targets.add(value.replace(/^\.\//, ''));
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect([manifest.main, manifest.types, manifest.exports, manifest.typesVersions, manifest.bin]);
  const absent = [...targets].filter((t) => !files.has(t));
  missing += absent.length;
  console.log(`${manifest.name}: ${files.size} files${absent.length ? `, MISSING ${absent.join(', ')}` : ', every entry point present'}`);
}
process.exit(missing ? 1 : 0);

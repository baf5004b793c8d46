#!/usr/bin/env node
/**
 * Seconds from starting a command to the service's "nest-m2m listening" line, and, given a file,
 * from an edit of that file to the next one (the watch loop). The file is restored afterwards.
 *   node scripts/time-to-listening.mjs start
 *   node scripts/time-to-listening.mjs "node dist/main.js"
 *   node scripts/time-to-listening.mjs start:dev src/health/health.controller.ts
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

const [command, edit] = process.argv.slice(2);
if (!command) throw new Error('usage: time-to-listening.mjs <npm script | command> [file to edit]');
const LINE = 'nest-m2m listening on';
const seconds = (from) => ((performance.now() - from) / 1000).toFixed(2);

const t0 = performance.now();
const child = spawn('sh', ['-c', command.includes(' ') ? command : `npm run -s ${command}`], {
  detached: true, // its own process group, stopped as a whole below
  env: { ...process.env, PORT: '0' },
});
const original = edit ? readFileSync(edit, 'utf8') : '';
let output = '';
let seen = 0;
let editedAt = 0;

function stopGroup(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
function finish(code) {
  if (edit) writeFileSync(edit, original);
  stopGroup('SIGTERM');
  child.once('exit', () => process.exit(code));
  setTimeout(() => {
    stopGroup('SIGKILL');
    process.exit(code);
  }, 15_000).unref();
}

function onData(chunk) {
  output += chunk.toString();
  const count = output.split(LINE).length - 1;
  if (count <= seen) return;
  seen = count;
  if (count === 1) {
    console.log(`${command}: listening after ${seconds(t0)} s`);
    if (!edit) {
      finish(0);
      return;
    }
    editedAt = performance.now();
    appendFileSync(edit, `\n// edited at ${Date.now()}\n`);
  } else {
    console.log(`${command}: after an edit of ${edit}, listening again after ${seconds(editedAt)} s`);
    finish(0);
  }
}
child.stdout.on('data', onData);
child.stderr.on('data', onData);
setTimeout(() => {
  console.log(`no "${LINE}" within 180 s; last output:\n${output.slice(-2000)}`);
  finish(1);
}, 180_000).unref();

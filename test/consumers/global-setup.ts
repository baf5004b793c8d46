import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../helpers/built-app.js';
import { packLibraries } from './helpers/packed-libraries.js';

/**
 * Packs both libraries once per run, after test/global-setup.ts has built their dist/, so that the
 * consumer specs install exactly what `npm publish` would upload (about half a second).
 */
export default function setup(project: TestProject): () => void {
  const destination = mkdtempSync(join(tmpdir(), 'nest-m2m-packed-'));
  project.provide('packedLibraries', packLibraries(ROOT, destination));
  return () => rmSync(destination, { recursive: true, force: true });
}

#!/usr/bin/env node
// Compiles each asconfig.json target (assembly/modules/<target>.ts -> build/<target>.wasm; a
// "<module>-mt" target is <module>.ts again with threads and an imported shared memory, for
// harness/threads/), skipping targets whose output is newer than every AssemblyScript source and the config.
import asc from 'assemblyscript/asc';
import { existsSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));

function newestSource(dir) {
  let newest = statSync(join(root, 'asconfig.json')).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const sources = newestSource(join(root, 'assembly'));
const force = process.argv.includes('--force');
let failed = false;
for (const target of Object.keys(config.targets)) {
  const out = join(root, config.targets[target].outFile);
  if (!force && existsSync(out) && statSync(out).mtimeMs >= sources) continue;
  const t0 = performance.now();
  const { error, stderr } = await asc.main(
    [`assembly/modules/${target.replace(/-mt$/, '')}.ts`, '--config', 'asconfig.json', '--target', target],
    { stdout: process.stdout, stderr: process.stderr },
  );
  if (error) {
    failed = true;
    console.error(`asc failed for target ${target}: ${error.message}\n${stderr.toString()}`);
  } else {
    console.error(`built ${config.targets[target].outFile} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
process.exit(failed ? 1 : 0);

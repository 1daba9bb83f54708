#!/usr/bin/env node
// Runs every test/*.test.ts file in its own process (uvu), on this Node and, for the
// engine-dependent kernel suites, on the Node 24 binary from npm as well (it has relaxed SIMD).
// uvu prints "Total/Passed/Skipped" per file; CI reads one closing line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Path } from './engines.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2];

/** Suites whose result depends on the WebAssembly engine: run them on every Node we have. */
const ENGINE_SUITES = /^(kernels|relaxed|selfcheck)/;

function node24() {
  return existsSync(node24Path) ? node24Path : null;
}

const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => !filter || f.includes(filter))
  .sort();

// Engine suites also run on Node 24 (relaxed SIMD on by default) and, on Node 20, with
// --experimental-wasm-relaxed-simd: there the relaxed module validates, and must either be
// refused by its self-check or compute every variant exactly.
const runs = [];
const n24 = node24();
const major = process.versions.node.split('.')[0];
if (!n24) console.log('Node 24 is not installed (node scripts/engines.js): engine suites run on this Node only');
for (const f of files) {
  runs.push({ label: `${f} [node ${process.versions.node}]`, node: process.execPath, flags: [], file: f });
  if (!ENGINE_SUITES.test(f)) continue;
  if (n24 && major !== '24') runs.push({ label: `${f} [node 24]`, node: n24, flags: [], file: f });
  if (major === '20') {
    runs.push({ label: `${f} [node ${process.versions.node} --experimental-wasm-relaxed-simd]`, node: process.execPath, flags: ['--experimental-wasm-relaxed-simd'], file: f });
  }
}

let passed = 0;
let failed = 0;
for (const r of runs) {
  const res = spawnSync(r.node, [...r.flags, '--import', 'tsx', join('test', r.file)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = (res.stdout ?? '') + (res.stderr ?? '');
  process.stdout.write(`\n=== ${r.label}\n${out}`);
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    // A file that crashed before uvu could report counts as one failure.
    failed += 1;
    process.stdout.write(`!! ${r.label}: no uvu summary (exit ${res.status}, signal ${res.signal})\n`);
    continue;
  }
  passed += ok;
  failed += total - ok;
  if (res.status !== 0 && total === ok) {
    failed += 1;
    process.stdout.write(`!! ${r.label}: exit ${res.status} although all tests passed\n`);
  }
}
if (runs.length === 0) failed += 1;
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

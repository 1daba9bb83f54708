/**
 * The split-convolution benchmark: every registered variant and onnxruntime-web on the layers
 * of bench/shapes/default.json (or --reference for the reference layer only).
 *
 *   npm run bench                      all layers on this Node
 *   npm run bench -- --reference       the reference layer only
 *   npm run bench -- --engine node24   the same on Node 24 from npm (relaxed SIMD, AVX-VNNI)
 *   npm run bench -- --filter dot16 --time 200 --mode gemmlowp
 *
 * Prints one table per layer and writes bench/results/splitconv-<engine>-<date>.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchmarkLayers } from '../harness/bench/splitconv-bench.ts';
import { loadBenchLayers, referenceLayer } from '../harness/bench/shapes.ts';
import { reportTables } from '../harness/report/bench-table.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    reference: { type: 'boolean', default: false },
    engine: { type: 'string' },
    filter: { type: 'string', multiple: true },
    time: { type: 'string', default: '400' },
    mode: { type: 'string', default: 'fp32' },
    'no-ort': { type: 'boolean', default: false },
    shapes: { type: 'string' },
  },
});

if (values.engine === 'node24') {
  // Re-run this script on Node 24 (installed from npm into .engines/ on first use).
  const which = spawnSync(process.execPath, [join(root, 'scripts', 'engines.js')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const node24 = which.stdout.trim();
  if (which.status !== 0 || !node24) {
    console.error('could not install Node 24 (node scripts/engines.js)');
    process.exit(2);
  }
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--engine' && all[i - 1] !== '--engine' && a !== '--engine=node24');
  const r = spawnSync(node24, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
} else if (values.engine !== undefined) {
  console.error(`--engine must be 'node24' (or omitted for this Node), got '${values.engine}'`);
  process.exit(2);
}

const mode = values.mode as 'gemmlowp' | 'single' | 'fp32';
if (!['gemmlowp', 'single', 'fp32'].includes(mode)) {
  console.error(`--mode must be one of gemmlowp, single, fp32, got '${values.mode}'`);
  process.exit(2);
}
const timeMs = Number(values.time);
if (!Number.isFinite(timeMs) || timeMs <= 0) {
  console.error(`--time must be a positive number of milliseconds, got '${values.time}'`);
  process.exit(2);
}

const layers = values.reference ? [referenceLayer()] : loadBenchLayers(values.shapes);
const report = await benchmarkLayers(layers, {
  timeMs,
  mode,
  ort: !values['no-ort'],
  filter: values.filter,
  onTask: (label, i, n) => process.stderr.write(`\r[${i + 1}/${n}] ${label.slice(0, 100).padEnd(100)}`),
});
process.stderr.write('\n');
console.log(reportTables(report));

const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `splitconv-node${process.versions.node.split('.')[0]}-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
renameSync(`${file}.tmp`, file);
console.log(`\nwrote ${file}`);

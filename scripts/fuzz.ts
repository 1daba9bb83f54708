/**
 * Long runs of the property-based kernel suite (test/kernels-fuzz.test.ts runs a few hundred
 * cases from a fixed seed on every engine):
 *
 *   npm run fuzz -- --shapes 10000 [--seed S]   N random cases (default 1000), a random seed unless given
 *   npm run fuzz -- --seed S --path P           replays the minimal case a failure report named
 *
 * Every case runs every kernel in every module this engine loads (harness/testers/fuzz-checks.ts
 * says what is compared with what). Prints a progress line on stderr, then cases, mismatches and
 * time; exit 0 when nothing differs, 1 on a mismatch (with the shrunk case and how to replay it),
 * 2 on bad usage. Another engine: `<node> --import tsx scripts/fuzz.ts ...`.
 */
import { parseArgs } from 'node:util';
import { fuzzTargets } from '../harness/testers/fuzz-checks.ts';
import { runKernelFuzz } from '../harness/testers/fuzz-run.ts';
import { loadModules } from '../harness/wasm/modules.ts';

const USAGE = 'usage: npm run fuzz -- [--shapes N] [--seed S] [--path P]';

function fail(message: string): never {
  console.error(`fuzz: ${message}\n${USAGE}`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(v) || v < min || v > 2 ** 31 - 1) fail(`--${name} must be an integer from ${min}, got '${text}'`);
  return v;
}

let values: { shapes?: string; seed?: string; path?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { shapes: { type: 'string' }, seed: { type: 'string' }, path: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const shapes = integer('shapes', values.shapes, 1) ?? 1000;
// fast-check seeds are 32-bit integers and may be negative.
const seed = integer('seed', values.seed, -(2 ** 31)) ?? Math.floor(Math.random() * 2 ** 31);
if (values.path !== undefined && !/^\d+(:\d+)*$/.test(values.path)) fail(`--path must look like 12:0:3 (from a failure report), got '${values.path}'`);
if (values.path !== undefined && values.seed === undefined) fail('--path replays a case of one seed: give --seed too');

const engine = `Node ${process.version}${process.execArgv.filter((a) => a.includes('wasm')).map((a) => ` ${a}`).join('')}`;
for (const [name, status] of loadModules()) console.log(`module ${name}: ${status.kernel ? 'loaded' : `not used: ${status.reason}`}`);
const targets = fuzzTargets();
console.log(
  `kernel fuzz on ${engine}: ${targets.split.length} split-convolution and ${targets.packed.length} packed-DSP kernel builds; ` +
    (values.path !== undefined ? `replaying seed ${seed} path ${values.path}` : `${shapes} cases, fast-check seed ${seed}`),
);

// One line rewritten in place on a terminal; otherwise a line every 5 % (logs stay short).
const tty = process.stderr.isTTY;
const started = performance.now();
let lastDraw = 0;
function progress(text: string, force = false): void {
  const now = performance.now();
  if (tty) {
    if (!force && now - lastDraw < 250) return;
    lastDraw = now;
    process.stderr.write(`\r\x1b[K${text}`);
  } else if (force) {
    process.stderr.write(`${text}\n`);
  }
}
const every = Math.max(1, Math.round(shapes / 20));
const elapsed = () => (performance.now() - started) / 1000;

const r = runKernelFuzz({
  cases: shapes,
  seed,
  ...(values.path !== undefined ? { path: values.path } : {}),
  targets,
  onCase(done) {
    const s = elapsed();
    const eta = (s / done) * (shapes - done);
    progress(`${done}/${shapes} cases, ${s.toFixed(0)} s, ${(done / s).toFixed(1)} cases/s, about ${eta.toFixed(0)} s to go`, done % every === 0);
  },
  onShrink(tries) {
    progress(`a case failed; shrinking it (${tries} smaller cases tried, ${elapsed().toFixed(0)} s)`, tries === 1);
  },
});
if (tty) process.stderr.write('\r\x1b[K');

const c = r.counts;
console.log(
  `checked: ${c.splitRuns} split-convolution runs, ${c.packedRuns} packed-DSP runs, ${c.exactWithinBound} engine-model ` +
    `configurations within the bound equal to the exact convolution, ${c.corruptedPastBound} past it corrupted (and matched ` +
    `by the kernels), ${c.sliceChecks} slice-model configurations equal to the identity model`,
);
if (r.failure) console.error(`\n${r.failure.message}\n`);
console.log(`cases ${r.cases}, mismatches ${r.failure ? 1 : 0}${r.failure ? ' (the run stops at the first, shrunk)' : ''}, time ${(r.ms / 1000).toFixed(1)} s (${engine}, fast-check seed ${r.seed})`);
process.exit(r.failure ? 1 : 0);

/**
 * benny comparison of the split-convolution variants on the reference layer, saved as benny's
 * CSV and chart.html under bench/results/benny/ (tinybench in splitconv.bench.ts is the
 * benchmark of record; this suite exists for benny's saved comparison charts).
 *
 *   npm run bench:benny
 */
import b from 'benny';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceLayer } from '../harness/bench/shapes.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { KernelTester, compareOutputs } from '../harness/testers/kernel-tester.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';
import { ensureBuilt } from '../harness/wasm/build.ts';

ensureBuilt();

const folder = join(dirname(fileURLToPath(import.meta.url)), 'results', 'benny');
const layer = referenceLayer();
const tester = new KernelTester().shape(layer.shape).inputZeroPoint(-5).mode('fp32').scales(2e-4, 2e-3);

// Each case sets up its runner when benny starts it, checks it against the scalar output,
// and returns the timed call.
const scalar = SPLITCONV_VARIANTS.find((v) => v.module === 'scalar')!;
const scalarKernel = modulesFor(scalar).find((k) => k.name === 'scalar')!;
const oracle = new Map<string, Int8Array | Int32Array>();
function expected(range: readonly [number, number]) {
  const key = range.join(',');
  if (!oracle.has(key)) {
    const r = new KernelRunner(scalar, scalarKernel, tester.problem(range));
    r.run();
    oracle.set(key, r.output());
  }
  return oracle.get(key)!;
}

const cases = SPLITCONV_VARIANTS.flatMap((v) =>
  modulesFor(v)
    .filter((k) => k.name !== 'debug')
    .map((kernel) =>
      b.add(`${v.name} [${kernel.name}]`, () => {
        const p = tester.problem(v.weightRange);
        const runner = new KernelRunner(v, kernel, p);
        runner.run();
        compareOutputs(v.name, layer.name, p, runner.output(), expected(v.weightRange));
        return () => runner.run();
      }),
    ),
);

await b.suite(
  `split convolution, ${layer.name}, Node ${process.version}`,
  ...cases,
  b.cycle(),
  b.complete(),
  b.save({ file: 'splitconv-reference', folder, format: 'csv', details: false }),
  b.save({ file: 'splitconv-reference', folder, format: 'chart.html', details: false }),
);

// benny's chart.html loads Chart.js from a CDN; inline the project's own copy instead, so the
// saved chart opens without a network (this project downloads nothing at run time).
const chartFile = join(folder, 'splitconv-reference.chart.html');
const chartJs = readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
const html = readFileSync(chartFile, 'utf8').replace(/<script src="https:\/\/cdn\.jsdelivr\.net\/npm\/chart\.js[^"]*"><\/script>/, () => `<script>${chartJs}</script>`);
if (html.includes('cdn.jsdelivr.net')) throw new Error(`${chartFile}: benny's CDN script tag was not found to inline`);
writeFileSync(chartFile, html);

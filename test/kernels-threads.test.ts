/**
 * Threads inside a layer (harness/threads/): every registered variant, split-convolution and
 * packed-DSP (each scheme), on 1, 2 and 3 threads, gives the same output bytes as the
 * single-thread runner of the same variant, on shapes with odd output rows, fewer output rows
 * than threads, stride 2, uneven padding, every requantization mode; a second run, and a run
 * after setInput, too. Variants whose -mt module this engine cannot run (relaxed SIMD on Node 20)
 * are reported as skipped by name. No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConvProblem } from '../harness/conv/layer.ts';
import type { PackedConvConfig } from '../harness/dsp/packed-conv.ts';
import { SCHEMES } from '../harness/dsp/schemes.ts';
import { fitToScheme } from '../harness/problems/scheme-problem.ts';
import { DSPCONV_VARIANTS } from '../harness/registry/dspconv.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { KernelTester, compareOutputs } from '../harness/testers/kernel-tester.ts';
import { type KernelVariant, KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';
import { ThreadPools, threadedUnavailable } from '../harness/threads/mt-modules.ts';
import { nodeHost } from '../harness/threads/node-host.ts';
import { ThreadedKernelRunner } from '../harness/threads/threaded-runner.ts';
import { bands } from '../harness/threads/pool.ts';
import { throwsInput } from './helpers.ts';
import { FASHION_MNIST_MODEL, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { calibrationIndices, measureIndices, quantizeInput, quantizeModel } from '../harness/quant/evaluate.ts';
import { groupRunner, runIntGraphTensorsWith } from '../harness/quant/int-graph.ts';

const THREADS = [1, 2, 3];

const shapes = () => [
  // 7 output rows: bands of 3+4, 2+2+3
  new KernelTester().image(7, 9).channels(19, 13).kernel(3).pad(1).inputZeroPoint(-7).mode('gemmlowp').seed(21),
  // one output row, fewer than the threads: empty bands
  new KernelTester().image(1, 6).channels(16, 8).kernel(1).pad(0).mode('gemmlowp').seed(22),
  // two output rows from a 3x3 kernel without padding
  new KernelTester().image(4, 5).channels(17, 9).kernel(3).pad(0).inputZeroPoint(127).mode('fp32').seed(23),
  // stride 2 both ways, uneven padding
  new KernelTester().image(11, 9).channels(33, 6).kernel(5, 3).stride(2).pad(2, 1, 0, 1).mode('fp32').outputZeroPoint(4).seed(24),
  // padded 3x3, extremes, raw int32 out
  new KernelTester().image(14, 14).channels(32, 32).kernel(3).pad(1).operands('extremes').mode('raw').seed(25),
  new KernelTester().image(5, 8).channels(8, 24).kernel(1).pad(0).mode('single').seed(26),
];

interface Case {
  label: string;
  variant: KernelVariant;
  problem: ConvProblem;
  what: string;
  dsp?: PackedConvConfig;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const variant of SPLITCONV_VARIANTS) {
    for (const t of shapes()) out.push({ label: variant.name, variant, problem: t.problem(variant.weightRange), what: t.describe() });
  }
  for (const variant of DSPCONV_VARIANTS) {
    for (const scheme of variant.schemes) {
      const dsp: PackedConvConfig = { scheme, chain: 16, decode: 'cascade' };
      for (const t of shapes()) {
        out.push({ label: `${variant.name} ${scheme}`, variant, problem: fitToScheme(t.problem(SCHEMES[scheme].weightRange), scheme), what: t.describe(), dsp });
      }
    }
  }
  return out;
}

test('bands cover the rows once, in order, also with fewer rows than threads', () => {
  for (const rows of [0, 1, 2, 7, 56]) {
    for (const n of [1, 2, 3, 8]) {
      const b = bands(rows, n);
      assert.is(b.length, n);
      assert.is(b[0]![0], 0);
      assert.is(b[n - 1]![1], rows);
      for (let t = 1; t < n; t++) assert.is(b[t]![0], b[t - 1]![1]);
      for (const [a, z] of b) assert.ok(z - a >= Math.floor(rows / n) && z - a <= Math.ceil(rows / n));
    }
  }
});

test('every variant on 1..3 threads: the output bytes of the single-thread runner', async () => {
  const all = cases();
  const skipped = new Set<string>();
  let compared = 0;
  for (const threads of THREADS) {
    const pools = new ThreadPools(threads, nodeHost);
    try {
      for (const c of all) {
        const why = threadedUnavailable(c.variant);
        const single = modulesFor(c.variant).find((k) => k.name === c.variant.module);
        if (why || !single) {
          skipped.add(`${c.variant.name}: ${why ?? 'no single-thread module'}`);
          continue;
        }
        const one = new KernelRunner(c.variant, single, c.problem, c.dsp);
        one.run();
        const want = one.output();
        const r = new ThreadedKernelRunner(c.variant, await pools.forVariant(c.variant), c.problem, c.dsp);
        const who = `${c.label} on ${threads} threads`;
        for (const round of ['first run', 'second run']) {
          r.run();
          compareOutputs(`${who} (${round})`, c.what, c.problem, r.output(), want);
        }
        // New input, same weights: both runners again.
        const input = c.problem.input.map((x, i) => (i % 7 === 3 ? -x - 1 : x));
        one.setInput(input);
        r.setInput(input);
        one.run();
        r.run();
        compareOutputs(`${who} (after setInput)`, c.what, c.problem, r.output(), one.output());
        assert.equal(r.guardViolations(), [], `${who} wrote past a buffer; ${c.what}`);
        compared++;
      }
    } finally {
      await pools.close();
    }
  }
  if (skipped.size) console.log(`  skipped on this engine:\n    ${[...skipped].join('\n    ')}`);
  assert.ok(compared > 0, 'no variant ran threaded');
  console.log(`  ${compared} (variant, shape, threads) cases bit-identical to one thread`);
});

test('whole-model inference: every tensor of the embedded model on 2 and 3 threads per layer = 1 thread (wasm and dsp backends)', () => {
  const set = readEvalSet();
  const g = quantizeModel(importOnnxFile(FASHION_MNIST_MODEL), set, calibrationIndices(set, 20));
  let tensors = 0;
  for (const backend of ['wasm', 'dsp'] as const) {
    for (const i of measureIndices(set, 5)) {
      const x = quantizeInput(g, set, i);
      const one = runIntGraphTensorsWith(g, x, groupRunner(g, backend));
      for (const threads of [2, 3]) {
        const many = runIntGraphTensorsWith(g, x, groupRunner(g, backend, threads));
        for (const [name, want] of one) {
          const got = many.get(name)!;
          const at = want.findIndex((v, k) => v !== got[k]);
          assert.is(at, -1, `${backend}, ${threads} threads, image ${i}, tensor '${name}': first difference at ${at}: got ${got[at]}, want ${want[at]}`);
          tensors++;
        }
      }
    }
  }
  assert.ok(tensors > 0);
});

test('a bad thread count is an InputError naming the option', () => {
  for (const n of [0, -1, 1.5, 65, Number.NaN]) throwsInput(() => new ThreadPools(n, nodeHost, '--threads-in-layer'), '--threads-in-layer');
});

test('fkb bench --threads-in-layer rejects a bad count with exit 2, naming the option', () => {
  for (const bad of ['0', 'two', '65']) {
    const r = spawnSync(process.execPath, ['bin/fkb.js', 'bench', '--reference', '--threads-in-layer', bad], { encoding: 'utf8' });
    assert.is(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes('--threads-in-layer'), r.stderr);
  }
});

test.run();

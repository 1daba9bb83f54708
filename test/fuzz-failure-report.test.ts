/**
 * The property-based kernel suite bites: with a deliberately wrong oracle, and with a kernel made
 * to write one byte past its output, it fails, shrinks the case to a minimal one, names what a
 * reader needs (kernel, module, shape, index, got/want, fast-check seed and path), and the printed
 * seed and path replay exactly that case. (test/kernels-fuzz.test.ts passing means little if a
 * broken kernel would pass it too.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConvProblem } from '../harness/conv/layer.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { FIELD_COUNT, MODE_CODES, PARAM_FIELDS as F } from '../harness/registry/codes.ts';
import { fuzzTargets } from '../harness/testers/fuzz-checks.ts';
import { runKernelFuzz } from '../harness/testers/fuzz-run.ts';
import type { KernelExports, KernelModule } from '../harness/wasm/modules.ts';

const SEED = 20240611;

/** Off by one at output channel 2 of the first pixel, only in layers with left padding. */
function offByOne(p: ConvProblem): Int8Array | Int32Array {
  const want = referenceConv(p);
  if (p.shape.padLeft > 0 && p.shape.outC > 2) want[2] = want[2]! + 1;
  return want;
}

test('a wrong oracle: the failure shrinks to the smallest shape that shows it and names everything', () => {
  const r = runKernelFuzz({ cases: 100, seed: SEED, check: { reference: offByOne } });
  assert.ok(r.failure, 'the property passed against a wrong oracle');
  const f = r.failure;
  // The fault needs K_w >= 2 (for a left pad), one left pad and three output channels, nothing more.
  const s = f.counterexample.shape;
  assert.equal([s.inH, s.inW, s.inC, s.outC, s.kH, s.kW, s.padLeft], [1, 1, 1, 3, 1, 2, 1], f.message);
  for (const needle of [
    'qs8_splitconv_minmax_1x1c1__scalar_loops [scalar]', 'output[2] (oh=0, ow=0, oc=2)', 'got ', 'want ',
    '1x1x1->3 k1x2 s1,1 p0,0,1,0', `npm run fuzz -- --seed ${SEED} --path ${f.path}`, 'scripts/fuzz.ts',
  ]) {
    assert.ok(f.message.includes(needle), `the report does not mention '${needle}':\n${f.message}`);
  }
  // The seed and path printed replay that very case, already minimal.
  const again = runKernelFuzz({ cases: 100, seed: SEED, path: f.path, check: { reference: offByOne } });
  assert.equal(again.failure?.counterexample, f.counterexample);
  assert.is(again.failure?.shrinks, 0);
});

/** `real` with its kernel `name` followed by `fault` (the params fields and the whole memory). */
function faulty(real: KernelModule, name: string, fault: (fields: Int32Array, mem: Uint8Array) => void): KernelModule {
  return {
    name: real.name,
    instantiate(): KernelExports {
      const ex = real.instantiate();
      const run = ex[`${name}_run`] as (params: number) => void;
      return {
        ...ex,
        [`${name}_run`]: (params: number) => {
          run(params);
          fault(new Int32Array(ex.memory.buffer.slice(params, params + FIELD_COUNT * 4)), new Uint8Array(ex.memory.buffer));
        },
      };
    },
  };
}

test('a kernel writing one byte past its output: the guard-byte check catches it on a small shape', () => {
  const targets = fuzzTargets();
  const victim = targets.split.findIndex((t) => t.kernel.name === 'simd');
  assert.ok(victim >= 0, 'no SIMD split-convolution kernel loaded');
  const t = targets.split[victim]!;
  // Only rows of more than 3 output pixels, so the shrinker has something to find.
  targets.split[victim] = {
    ...t,
    kernel: faulty(t.kernel, t.variant.name, (f, mem) => {
      if (f[F.OUT_W]! <= 3) return;
      const bytes = f[F.OUT_H]! * f[F.OUT_W]! * f[F.OC]! * (f[F.MODE] === MODE_CODES.raw ? 4 : 1);
      mem[f[F.Y_PTR]! + bytes] = 0;
    }),
  };
  const r = runKernelFuzz({ cases: 100, seed: SEED, targets });
  assert.ok(r.failure, 'a write past the output went unnoticed');
  const s = r.failure.counterexample.shape;
  assert.ok(s.inH === 1 && s.inC === 1 && s.outC === 1 && s.inW <= 4, r.failure.message);
  assert.ok(r.failure.message.includes(`${t.variant.name} [simd] wrote past output (byte 0 past its end)`), r.failure.message);
});

test.run();

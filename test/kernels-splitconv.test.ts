/**
 * Every registered split-convolution variant, in every module this engine accepts (the debug
 * build included), equals the reference exactly. The cases follow the tile: channel counts
 * below, at, above and multiples of CB (input) and NR (output); pixel counts that leave MR
 * remainders; every kernel size, stride and padding the issue names; boundary operands,
 * deep accumulations, zero points, clamps and all four requantization modes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REQUANT_MODES, type RequantMode } from '../harness/conv/layer.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { type KernelTarget, KernelTester, compareOutputs, targetLabel } from '../harness/testers/kernel-tester.ts';
import { Rng } from '../harness/util/rng.ts';
import { loadModules } from '../harness/wasm/modules.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';

const targets: KernelTarget[] = SPLITCONV_VARIANTS.flatMap((variant) => modulesFor(variant).map((kernel) => ({ variant, kernel })));
const label = targetLabel;

for (const [name, status] of loadModules()) {
  console.log(`module ${name}: ${status.kernel ? 'loaded' : `not used: ${status.reason}`}`);
}

/** References are computed once per problem and shared by every target. */
const wantCache = new Map<string, Int8Array | Int32Array>();
function want(t: KernelTester, target: KernelTarget): Int8Array | Int32Array {
  const range = target.variant.weightRange;
  const key = `${t.describe()} w=${range.join(',')}`;
  let w = wantCache.get(key);
  if (!w) {
    w = referenceConv(t.problem(range));
    wantCache.set(key, w);
  }
  return w;
}

let simdRuns = 0;
function check(target: KernelTarget, cases: KernelTester[]): void {
  for (const c of cases) {
    c.test(target, want(c, target));
    if (target.variant.module !== 'scalar') simdRuns++;
  }
}

const modes: readonly RequantMode[] = REQUANT_MODES;

function tileCases(t: KernelTarget): KernelTester[] {
  const { cb, nr } = t.variant;
  const cs = [...new Set([1, cb - 1, cb, cb + 1, 2 * cb, 3 * cb + 5].filter((c) => c >= 1))];
  const ocs = [...new Set([1, nr - 1, nr, nr + 1, 2 * nr + 3].filter((c) => c >= 1))];
  const out: KernelTester[] = [];
  let seed = 100;
  for (const c of cs) {
    for (const oc of ocs) {
      // 7 output columns leave a remainder for every MR in 2..4.
      out.push(new KernelTester().image(4, 7).channels(c, oc).kernel(3).pad(1).inputZeroPoint(-3).seed(seed++));
    }
  }
  return out;
}

function geometryCases(): KernelTester[] {
  const out: KernelTester[] = [];
  let seed = 200;
  for (const k of [1, 3, 5, 7]) {
    for (const s of [1, 2, 3]) {
      for (const p of [0, 1, 2]) {
        out.push(
          new KernelTester()
            .image(9, 11)
            .channels(19, 6)
            .kernel(k)
            .stride(s)
            .pad(p)
            .inputZeroPoint(((seed * 37) % 256) - 128)
            .mode(modes[seed % 4]!)
            .outputZeroPoint(((seed * 11) % 256) - 128)
            .seed(seed++),
        );
      }
    }
  }
  // Non-square kernels and strides, asymmetric padding.
  out.push(new KernelTester().image(6, 9).channels(5, 5).kernel(1, 3).stride(1, 2).pad(0, 0, 1, 1).seed(seed++));
  out.push(new KernelTester().image(9, 6).channels(5, 5).kernel(5, 1).stride(2, 1).pad(2, 1, 0, 0).seed(seed++));
  out.push(new KernelTester().image(8, 8).channels(9, 3).kernel(3, 5).stride(3, 1).pad(0, 2, 1, 2).mode('fp32').seed(seed++));
  return out;
}

function tinyImageCases(): KernelTester[] {
  let seed = 300;
  return [
    new KernelTester().image(1, 1).channels(3, 5).kernel(1).pad(0).seed(seed++),
    new KernelTester().image(1, 1).channels(17, 9).kernel(3).pad(1).seed(seed++),
    new KernelTester().image(1, 1).channels(4, 4).kernel(3).pad(2).mode('gemmlowp').seed(seed++),
    new KernelTester().image(2, 2).channels(7, 5).kernel(5).pad(2).seed(seed++),
    new KernelTester().image(3, 3).channels(33, 5).kernel(7).pad(2).stride(2).mode('single').seed(seed++),
    new KernelTester().image(1, 5).channels(16, 8).kernel(1, 3).pad(0, 0, 1, 1).seed(seed++),
    new KernelTester().image(2, 3).channels(2, 1).kernel(3).pad(1).stride(3).mode('fp32').seed(seed++),
  ];
}

function zeroPointCases(): KernelTester[] {
  const out: KernelTester[] = [];
  let seed = 400;
  for (const xzp of [-128, -1, 0, 1, 127]) {
    for (const yzp of [-128, 0, 127]) {
      out.push(
        new KernelTester().image(5, 6).channels(20, 6).kernel(3).pad(1).inputZeroPoint(xzp).outputZeroPoint(yzp)
          .mode(modes[1 + (seed % 3)]!).scales(1e-3, 5e-2).seed(seed++),
      );
    }
  }
  return out;
}

function clampCases(): KernelTester[] {
  const out: KernelTester[] = [];
  let seed = 500;
  const clamps: [number, number][] = [[-128, 127], [-20, 127], [0, 6], [-5, -5], [-128, -100], [90, 127]];
  for (const [lo, hi] of clamps) {
    for (const m of ['gemmlowp', 'single', 'fp32'] as const) {
      out.push(
        // 37 output channels: the 16-wide, 4-wide and scalar requantization paths.
        new KernelTester().image(4, 5).channels(12, 37).kernel(3).pad(1).outputZeroPoint(-20).clamp(lo, hi).mode(m)
          .scales(1e-3, 0.2).seed(seed++),
      );
    }
  }
  return out;
}

/** Multipliers from 2^-33 (flushed to zero) through exponents 0 and > 0 (left shifts). */
function multiplierCases(): KernelTester[] {
  const out: KernelTester[] = [];
  let seed = 550;
  const ranges: [number, number][] = [[1e-11, 1e-8], [1e-6, 1e-3], [0.25, 1], [0.5, 0.5], [1, 64], [1000, 2 ** 29]];
  for (const [lo, hi] of ranges) {
    for (const m of ['gemmlowp', 'single', 'fp32'] as const) {
      out.push(new KernelTester().image(3, 5).channels(9, 11).kernel(1).pad(0).outputZeroPoint(3).mode(m).scales(lo, hi).seed(seed++));
    }
  }
  return out;
}

function boundaryCases(): KernelTester[] {
  const out: KernelTester[] = [];
  let seed = 600;
  for (const xzp of [-128, 127]) {
    for (const [xi, wi] of [['min', 'min'], ['max', 'max'], ['min', 'max'], ['max', 'min'], ['extremes', 'extremes']] as const) {
      out.push(new KernelTester().image(4, 5).channels(37, 9).kernel(3).pad(1).inputZeroPoint(xzp).operands(xi, wi).seed(seed++));
    }
  }
  return out;
}

function deepCases(): KernelTester[] {
  let seed = 700;
  return [
    // C_in*K*K = 9216 and 12800 with the largest products, and 32760 at the accumulator bound.
    new KernelTester().image(3, 3).channels(1024, 5).kernel(3).pad(1).inputZeroPoint(127).operands('min', 'min').seed(seed++),
    new KernelTester().image(3, 3).channels(1024, 5).kernel(3).pad(1).inputZeroPoint(-128).operands('max', 'min').seed(seed++),
    new KernelTester().image(2, 3).channels(512, 4).kernel(5).pad(2).inputZeroPoint(-128).operands('extremes').mode('gemmlowp').seed(seed++),
    new KernelTester().image(1, 2).channels(3640, 4).kernel(3).pad(1).inputZeroPoint(127).operands('min', 'min').seed(seed++),
  ];
}

function randomCases(count: number, seed0: number): KernelTester[] {
  const rng = new Rng(seed0);
  const out: KernelTester[] = [];
  for (let i = 0; i < count; i++) {
    const kh = rng.int(1, 5);
    const kw = rng.int(1, 5);
    const pt = rng.int(0, 2);
    const pb = rng.int(0, 2);
    const pl = rng.int(0, 2);
    const pr = rng.int(0, 2);
    const h = rng.int(Math.max(1, kh - pt - pb), 12);
    const w = rng.int(Math.max(1, kw - pl - pr), 12);
    out.push(
      new KernelTester()
        .image(h, w)
        .channels(rng.int(1, 70), rng.int(1, 21))
        .kernel(kh, kw)
        .stride(rng.int(1, 3), rng.int(1, 3))
        .pad(pt, pb, pl, pr)
        .inputZeroPoint(rng.int(-128, 127))
        .outputZeroPoint(rng.int(-128, 127))
        .mode(rng.pick(modes))
        .seed(seed0 * 1000 + i),
    );
  }
  return out;
}

const groups: [string, (t: KernelTarget) => KernelTester[]][] = [
  ['channel tiling', tileCases],
  ['kernel x stride x pad', () => geometryCases()],
  ['tiny images', () => tinyImageCases()],
  ['zero points', () => zeroPointCases()],
  ['clamps', () => clampCases()],
  ['multiplier range', () => multiplierCases()],
  ['boundary operands', () => boundaryCases()],
  ['deep accumulation', () => deepCases()],
  ['random shapes', () => randomCases(30, 9)],
];

for (const [group, cases] of groups) {
  for (const t of targets) {
    test(`${group}: ${label(t)}`, () => check(t, cases(t)));
  }
}

test('SIMD equals scalar exactly on random shapes', () => {
  const scalar = targets.find((t) => t.variant.module === 'scalar' && t.kernel.name === 'scalar');
  assert.ok(scalar, 'the scalar module must load');
  for (const c of randomCases(12, 77)) {
    const p = c.problem();
    const sr = new KernelRunner(scalar.variant, scalar.kernel, p);
    sr.run();
    const base = sr.output();
    for (const t of targets.filter((x) => x.variant.module !== 'scalar')) {
      const q = c.problem(t.variant.weightRange);
      if (t.variant.weightRange[0] !== -128) {
        // Restricted-domain variants are compared with scalar on their own weights.
        const s2 = new KernelRunner(scalar.variant, scalar.kernel, q);
        s2.run();
        const b2 = s2.output();
        const r = new KernelRunner(t.variant, t.kernel, q);
        r.run();
        compareOutputs(`${label(t)} vs scalar`, c.describe(), q, r.output(), b2);
        continue;
      }
      const r = new KernelRunner(t.variant, t.kernel, p);
      r.run();
      compareOutputs(`${label(t)} vs scalar`, c.describe(), p, r.output(), base);
    }
  }
});

test('at least one SIMD variant actually ran', () => {
  const simd = targets.filter((t) => t.variant.module !== 'scalar');
  assert.ok(simd.length > 0, `no SIMD module loaded on Node ${process.version}: a run without SIMD is not a pass`);
  assert.ok(simdRuns > 0, 'SIMD variants are registered but none ran');
  console.log(`SIMD targets run: ${simd.map(label).join(', ')} (${simdRuns} problems)`);
});

test.run();

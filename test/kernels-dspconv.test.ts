/**
 * Packed-DSP convolution kernels: every registered packed kernel, in every module, for every
 * scheme it supports, every decode point and a range of cascade lengths, equals the engine model
 * (test/dsp-packed-model.test.ts proves the model equal to the slice model), including the
 * corruption past the accumulation bound. Besides fixed shapes, each kernel runs shapes derived
 * from its tile: output widths below, at and above MR (the last tile's idle pixels), output
 * channels around NR (padded channel blocks), input channels around the channel pair CB (odd
 * groups, padding inside a cascade).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConvProblem, RequantMode } from '../harness/conv/layer.ts';
import { DECODE_POINTS, type PackedConvConfig, compareWithExact, identityPackedAccumulators, requantizePacked } from '../harness/dsp/packed-conv.ts';
import { fitToScheme } from '../harness/problems/scheme-problem.ts';
import { SCHEMES, type SchemeName } from '../harness/dsp/schemes.ts';
import { DSPCONV_VARIANTS, type DspConvVariant } from '../harness/registry/dspconv.ts';
import { type Operands, KernelTester, compareOutputs } from '../harness/testers/kernel-tester.ts';
import { InputError } from '../harness/util/errors.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';

/** A seeded problem whose operands lie in the scheme's ranges (int4: codes in [-8, 7]). */
function problemFor(scheme: SchemeName, t: KernelTester): ConvProblem {
  return fitToScheme(t.problem(SCHEMES[scheme].weightRange), scheme);
}

function label(v: { name: string }, module: string, cfg: PackedConvConfig, what: string): string {
  return `${v.name} [${module}] ${cfg.scheme} chain=${cfg.chain} decode=${cfg.decode} ${what}`;
}

const shapes = (seed: number, operands: Operands, mode: RequantMode = 'raw') => [
  // odd output widths (idle second pixel), channel counts that are not multiples of the chain or 8
  new KernelTester().image(5, 7).channels(21, 11).kernel(3).pad(1).inputZeroPoint(5).operands(operands).mode(mode).seed(seed),
  new KernelTester().image(4, 4).channels(16, 8).kernel(1).pad(0).inputZeroPoint(-128).operands(operands).mode(mode).seed(seed + 1),
  new KernelTester().image(6, 5).channels(35, 17).kernel(3, 5).stride(2, 1).pad(1, 0, 2, 1).inputZeroPoint(127).operands(operands).mode(mode).seed(seed + 2),
];

const uniq = (xs: number[]) => [...new Set(xs.filter((x) => x >= 1))];

/**
 * Shapes around the tile, one dimension at a time (the others at a size that is not a multiple
 * of anything): output widths (3x3 kernel, padding 1, so outW = inW) 1, MR-1, MR, MR+1, 2MR+1;
 * output channels 1, NR-1, NR, NR+1, 2NR+3; input channels 1, CB-1, CB, CB+1, 4CB+1, 17.
 */
function tileShapes(v: DspConvVariant, seed: number, operands: Operands, mode: RequantMode = 'raw'): KernelTester[] {
  const { mr, nr, cb } = v;
  const t = (w: number, c: number, oc: number) =>
    new KernelTester().image(3, w).channels(c, oc).kernel(3).pad(1).inputZeroPoint(-7).operands(operands).mode(mode).seed(seed++);
  return [
    ...uniq([1, mr - 1, mr, mr + 1, 2 * mr + 1]).map((w) => t(w, 5, nr + 1)),
    ...uniq([1, nr - 1, nr, nr + 1, 2 * nr + 3]).map((oc) => t(mr + 1, 5, oc)),
    ...uniq([1, cb - 1, cb, cb + 1, 4 * cb + 1, 17]).map((c) => t(2 * mr + 1, c, nr - 1 || 1)),
  ];
}

/** The engine model's accumulators, computed once per problem and shared by every kernel. */
const cache = new Map<string, { p: ConvProblem; want: Int32Array; corrupted: boolean }>();
function modelled(scheme: SchemeName, cfg: PackedConvConfig, t: KernelTester) {
  const key = `${scheme} ${cfg.chain} ${cfg.decode} ${t.describe()}`;
  let hit = cache.get(key);
  if (!hit) {
    const p = problemFor(scheme, t);
    const want = identityPackedAccumulators(p, cfg);
    hit = { p, want, corrupted: compareWithExact(p, cfg, want).accumulatorsDiffering > 0 };
    cache.set(key, hit);
  }
  return hit;
}

for (const v of DSPCONV_VARIANTS) {
  for (const kernel of modulesFor(v)) {
    for (const scheme of v.schemes) {
      test(`${v.name} [${kernel.name}] ${scheme}: equals the engine model for every decode point and chain`, () => {
        let corrupted = 0;
        for (const decode of DECODE_POINTS) {
          for (const chain of [1, 2, 7, 8, 16, 33]) {
            const cfg = { scheme, chain, decode };
            for (const [i, t] of shapes(100 + chain, 'extremes').entries()) {
              const { p, want, corrupted: bad } = modelled(scheme, cfg, t);
              const r = new KernelRunner(v, kernel, p, cfg);
              r.run();
              assert.equal(r.guardViolations(), [], label(v, kernel.name, cfg, 'guard bytes'));
              compareOutputs(label(v, kernel.name, cfg, `shape ${i}`), t.describe(), p, r.output(), want);
              if (bad) corrupted++;
            }
          }
        }
        // Extreme operands past the bound must corrupt something, or the test proves little.
        assert.ok(corrupted > 0, `${scheme}: no configuration corrupted any output`);
      });
    }
  }
}

for (const v of DSPCONV_VARIANTS) {
  for (const kernel of modulesFor(v)) {
    for (const scheme of v.schemes) {
      test(`${v.name} [${kernel.name}] ${scheme}: pixels, output and input channels around the ${v.mr}x${v.nr}c${v.cb} tile`, () => {
        let runs = 0;
        for (const decode of DECODE_POINTS) {
          for (const chain of [1, 2, 7, 16]) {
            const cfg = { scheme, chain, decode };
            for (const [i, t] of tileShapes(v, 600 + chain, operandsFor(chain)).entries()) {
              const { p, want } = modelled(scheme, cfg, t);
              const r = new KernelRunner(v, kernel, p, cfg);
              r.run();
              assert.equal(r.guardViolations(), [], label(v, kernel.name, cfg, `tile shape ${i} guard bytes`));
              compareOutputs(label(v, kernel.name, cfg, `tile shape ${i}`), t.describe(), p, r.output(), want);
              runs++;
            }
          }
        }
        assert.ok(runs >= 3 * 4 * 10, `${v.name}: only ${runs} tile runs`);
      });
    }
  }
}

/** Extreme operands for some cascade lengths (corruption past the bound), random for the others. */
function operandsFor(chain: number): Operands {
  return chain % 2 ? 'extremes' : 'random';
}

test('requantized outputs of the packed kernels equal the requantized engine model', () => {
  for (const v of DSPCONV_VARIANTS) {
    const kernel = modulesFor(v).find((k) => k.name === 'simd')!;
    for (const mode of ['gemmlowp', 'single', 'fp32'] as const) {
      const cfg: PackedConvConfig = { scheme: v.schemes[0]!, chain: 16, decode: 'cascade' };
      for (const t of [...shapes(300, 'random', mode), ...tileShapes(v, 700, 'random', mode)]) {
        const p = problemFor(cfg.scheme, t.outputZeroPoint(-3).clamp(-100, 110));
        const r = new KernelRunner(v, kernel, p, cfg);
        r.run();
        compareOutputs(label(v, 'simd', cfg, mode), t.describe(), p, r.output(), requantizePacked(p, identityPackedAccumulators(p, cfg)));
      }
    }
  }
});

test('bad packed-DSP input is rejected naming the setting', () => {
  const v = DSPCONV_VARIANTS.find((x) => x.schemes.length === 1)!;
  const general = DSPCONV_VARIANTS.find((x) => x.schemes.length > 1)!;
  const k = modulesFor(general).find((m) => m.name === 'simd')!;
  const p = () => new KernelTester().image(4).channels(3, 2).kernel(3).pad(1).problem();
  const rejects = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof InputError && re.test((e as Error).message));
  rejects(() => new KernelRunner(general, k, p()), /packed-DSP kernel: it needs a scheme/);
  rejects(() => new KernelRunner(v, k, p(), { scheme: 'int4', chain: 16, decode: 'cascade' }), /computes the schemes int8x8, not int4/);
  rejects(() => new KernelRunner(general, k, p(), { scheme: 'int8x8', chain: 0, decode: 'cascade' }), /chain must be an integer in \[1, 65536\], got 0/);
  rejects(() => new KernelRunner(general, k, p(), { scheme: 'int9' as SchemeName, chain: 16, decode: 'cascade' }), /unknown packing scheme 'int9'/);
  rejects(() => new KernelRunner(general, k, p(), { scheme: 'int8x8', chain: 16, decode: 'sometimes' as 'tap' }), /decode must be one of cascade, tap, window/);
  rejects(() => new KernelRunner(general, k, p(), { scheme: 'int4', chain: 16, decode: 'cascade' }), /int4 activation range|outside the allowed range \[-8, 7\]/);
});

test.run();

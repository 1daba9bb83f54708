/**
 * The packed-DSP engine model: the identity-based model equals the slice model (every packed
 * multiply through stepSlice); within the accumulation bound the engine is the exact
 * convolution, one product past it the worst-case operands corrupt it; the exactness report
 * counts what it says.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConvProblem } from '../harness/conv/layer.ts';
import { DECODE_POINTS, type PackedConvConfig, compareWithExact, identityPackedAccumulators, slicePackedAccumulators } from '../harness/dsp/packed-conv.ts';
import { fitToScheme } from '../harness/problems/scheme-problem.ts';
import { SCHEMES, type SchemeName, accumulationBound } from '../harness/dsp/schemes.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { type Operands, KernelTester, compareOutputs } from '../harness/testers/kernel-tester.ts';

/** A seeded problem whose operands lie in the scheme's ranges (int4: codes in [-8, 7]). */
function problemFor(scheme: SchemeName, t: KernelTester): ConvProblem {
  return fitToScheme(t.problem(SCHEMES[scheme].weightRange), scheme);
}

const shapes = (seed: number, operands: Operands) => [
  new KernelTester().image(5, 7).channels(21, 11).kernel(3).pad(1).inputZeroPoint(5).operands(operands).seed(seed),
  new KernelTester().image(4, 4).channels(16, 8).kernel(1).pad(0).inputZeroPoint(-128).operands(operands).seed(seed + 1),
  new KernelTester().image(6, 5).channels(35, 17).kernel(3, 5).stride(2, 1).pad(1, 0, 2, 1).inputZeroPoint(127).operands(operands).seed(seed + 2),
];

test('the identity model equals the slice model (every packed multiply through stepSlice)', () => {
  for (const scheme of Object.keys(SCHEMES) as SchemeName[]) {
    for (const decode of DECODE_POINTS) {
      for (const chain of [1, 5, 16]) {
        for (const operands of ['extremes', 'random'] as const) {
          const t = new KernelTester().image(3, 4).channels(13, 5).kernel(3).pad(1).inputZeroPoint(-2).operands(operands).seed(chain);
          const p = problemFor(scheme, t);
          const cfg = { scheme, chain, decode };
          compareOutputs(`identity vs slice ${scheme} ${decode} chain=${chain}`, t.describe(), p, identityPackedAccumulators(p, cfg), slicePackedAccumulators(p, cfg));
        }
      }
    }
  }
});

test('within the accumulation bound the packed engine is the exact convolution, at the bound and past it not', () => {
  for (const scheme of Object.keys(SCHEMES) as SchemeName[]) {
    const bound = accumulationBound(SCHEMES[scheme]);
    // Worst case: every operand at an extreme, chains of exactly `bound` products.
    for (const operands of ['extremes', 'min', 'max'] as const) {
      for (const [i, t] of shapes(500, operands).entries()) {
        const p = problemFor(scheme, t);
        // The identity model stands in for the slice model here: the test above proves them equal.
        const within = compareWithExact(p, { scheme, chain: bound, decode: 'cascade' }, identityPackedAccumulators(p, { scheme, chain: bound, decode: 'cascade' }));
        assert.is(within.accumulatorsDiffering, 0, `${scheme} chain=${bound} (the bound) ${operands} shape ${i}: ${JSON.stringify(within)}`);
        assert.ok(within.safeInWorstCase);
      }
    }
    // One product more with the corner that attains the bound: some accumulator must differ.
    let differ = 0;
    for (const operands of ['min', 'max'] as const) {
      for (const xi of ['min', 'max'] as const) {
        const t = new KernelTester().image(3, 4).channels(40, 4).kernel(1).pad(0).inputZeroPoint(0).operands(xi, operands);
        const p = problemFor(scheme, t);
        const cfg = { scheme, chain: bound + 1, decode: 'cascade' as const };
        differ += compareWithExact(p, cfg, identityPackedAccumulators(p, cfg)).accumulatorsDiffering;
      }
    }
    assert.ok(differ > 0, `${scheme}: chains of ${bound + 1} products at the extremes corrupted nothing`);
  }
});

test('the exactness report counts differences against the exact convolution', () => {
  const t = new KernelTester().image(5, 6).channels(64, 8).kernel(3).pad(1).operands('extremes').mode('gemmlowp').seed(4);
  const p = problemFor('int8x8', t);
  const cfg: PackedConvConfig = { scheme: 'int8x8', chain: 16, decode: 'window' };
  const acc = identityPackedAccumulators(p, cfg);
  const rep = compareWithExact(p, cfg, acc);
  const exact = referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } });
  let n = 0;
  for (let i = 0; i < acc.length; i++) if (acc[i] !== exact[i]) n++;
  assert.is(rep.accumulatorsDiffering, n);
  assert.ok(n > 0);
  assert.is(rep.productsPerDecode, 64 * 9);
  assert.is(rep.safeInWorstCase, false);
});

test.run();

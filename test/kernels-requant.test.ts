/**
 * Requantization: hand-checked vectors that tell the three modes apart, on the reference and
 * on every kernel variant (through a 1x1 convolution whose accumulator is exactly the bias + 1).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConvProblem, RequantMode } from '../harness/conv/layer.ts';
import {
  multiplyGemmlowp,
  multiplySingle,
  quantizeMultiplier,
  requantize,
  roundHalfToEven,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../harness/reference/requant.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { KernelRunner, modulesFor } from '../harness/wasm/kernel-runner.ts';

test('QuantizeMultiplier: significand, exponent, flush and saturation', () => {
  assert.equal(quantizeMultiplier(0.5, 'gemmlowp'), { multiplier: 2 ** 30, shift: 0 });
  assert.equal(quantizeMultiplier(0.25, 'gemmlowp'), { multiplier: 2 ** 30, shift: -1 });
  assert.equal(quantizeMultiplier(1, 'gemmlowp'), { multiplier: 2 ** 30, shift: 1 });
  assert.equal(quantizeMultiplier(0.75, 'gemmlowp'), { multiplier: 1610612736, shift: 0 });
  assert.equal(quantizeMultiplier(0, 'gemmlowp'), { multiplier: 0, shift: 0 });
  // q * 2^31 rounds up to 2^31: halved, exponent + 1.
  assert.equal(quantizeMultiplier(1 - 2 ** -40, 'gemmlowp'), { multiplier: 2 ** 30, shift: 1 });
  // 2^-32 = 0.5 * 2^-31 is kept; 2^-33 has exponent -32 < -31 and is flushed to zero.
  assert.equal(quantizeMultiplier(2 ** -32, 'gemmlowp'), { multiplier: 2 ** 30, shift: -31 });
  assert.equal(quantizeMultiplier(2 ** -33, 'gemmlowp'), { multiplier: 0, shift: 0 });
  // TFLITE_SINGLE_ROUNDING saturates exponents above 30.
  assert.equal(quantizeMultiplier(2 ** 31, 'single'), { multiplier: 2 ** 31 - 1, shift: 30 });
  assert.equal(quantizeMultiplier(2 ** 31, 'gemmlowp'), { multiplier: 2 ** 30, shift: 32 });
});

test('gemmlowp building blocks, worked by hand', () => {
  // round(a*b / 2^31) with nudge +2^30 (ab >= 0) or 1-2^30 (ab < 0), C++ truncating division.
  assert.is(saturatingRoundingDoublingHighMul(1, 2 ** 30), 1); // (2^30 + 2^30) / 2^31 = 1
  assert.is(saturatingRoundingDoublingHighMul(-1, 2 ** 30), 0); // (-2^31 + 1) / 2^31 -> 0
  assert.is(saturatingRoundingDoublingHighMul(-3, 2 ** 30), -1); // (-2^32 + 1) / 2^31 -> -1
  assert.is(saturatingRoundingDoublingHighMul(-(2 ** 31), -(2 ** 31)), 2 ** 31 - 1);
  // x / 2^e rounded half away from zero.
  assert.is(roundingDivideByPOT(1, 1), 1);
  assert.is(roundingDivideByPOT(-1, 1), -1);
  assert.is(roundingDivideByPOT(3, 2), 1); // 0.75
  assert.is(roundingDivideByPOT(-6, 2), -2); // -1.5
  assert.is(roundingDivideByPOT(5, 0), 5);
  assert.is(roundingDivideByPOT(-(2 ** 31), 31), -1);
  assert.is(roundHalfToEven(0.5), 0);
  assert.is(roundHalfToEven(1.5), 2);
  assert.is(roundHalfToEven(-2.5), -2);
  assert.is(multiplySingle(1, { multiplier: 2 ** 30, shift: -1 }), 0);
  assert.is(multiplyGemmlowp(1, { multiplier: 2 ** 30, shift: -1 }), 1);
});

/** [accumulator, scale, gemmlowp, single, fp32]: worked by hand (see the comments). */
const VECTORS: [number, number, number, number, number][] = [
  // 1 * 0.25: gemmlowp rounds twice (SRDHM gives 1, then 1/2 rounds away to 1); single gives
  // (2^30 + 2^31) >> 32 = 0; fp32 0.25 -> 0.
  [1, 0.25, 1, 0, 0],
  // 1 * 0.5: a tie. gemmlowp (2^30+2^30)/2^31 = 1, single (2^30+2^30)>>31 = 1, fp32 to even: 0.
  [1, 0.5, 1, 1, 0],
  [3, 0.5, 2, 2, 2], // 1.5: every mode gives 2
  [5, 0.5, 3, 3, 2], // 2.5: fp32 to even gives 2
  // -1.5: gemmlowp (-2^32+1)/2^31 truncates to -1; single floor((-3*2^30 + 2^30) / 2^31) = -1;
  // fp32 to even gives -2.
  [-3, 0.5, -1, -1, -2],
  [-1, 0.5, 0, 0, 0], // -0.5
  [-5, 0.25, -1, -1, -1], // -1.25
  // -1.5 again, now through the exponent: gemmlowp SRDHM(-6, 2^30) = (-6*2^30 + 1 - 2^30) / 2^31
  // truncates to -3, then RDBPOT(-3, 1): remainder 1 is not above threshold 1, so -3 >> 1 = -2;
  // single floor((-6*2^30 + 2^31) / 2^32) = -1; fp32 to even gives -2.
  [-6, 0.25, -2, -1, -2],
  [100000, 0.001, 100, 100, 100], // 100.0 within the clamp
  [1000000, 0.001, 127, 127, 127], // clamped at qmax
  [-1000000, 0.001, -128, -128, -128], // clamped at qmin
  [7, 0, 0, 0, 0], // zero multiplier
  [2, 0.75, 2, 2, 2], // 1.5 with a multiplier that is not a power of two (13 channels: SIMD + tail)
];

test('hand vectors on the reference', () => {
  for (const [acc, scale, g, s, f] of VECTORS) {
    const c = { scale, outputZeroPoint: 0, outputMin: -128, outputMax: 127 };
    assert.is(requantize(acc, { ...c, mode: 'gemmlowp' }), g, `gemmlowp(${acc} * ${scale})`);
    assert.is(requantize(acc, { ...c, mode: 'single' }), s, `single(${acc} * ${scale})`);
    assert.is(requantize(acc, { ...c, mode: 'fp32' }), f, `fp32(${acc} * ${scale})`);
  }
});

/** A 1x1 convolution over one pixel whose channel o has accumulator VECTORS[o][0]. */
function vectorProblem(mode: Exclude<RequantMode, 'raw'>): ConvProblem {
  const n = VECTORS.length;
  return {
    shape: { inH: 1, inW: 1, inC: 1, outC: n, kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 },
    inputZeroPoint: 0,
    input: Int8Array.of(1),
    weights: new Int8Array(n).fill(1),
    bias: Int32Array.from(VECTORS, (v) => v[0] - 1),
    requant: { mode, scale: VECTORS.map((v) => v[1]), outputZeroPoint: 0, outputMin: -128, outputMax: 127 },
  };
}

for (const variant of SPLITCONV_VARIANTS) {
  for (const kernel of modulesFor(variant)) {
    test(`hand vectors on ${variant.name} [${kernel.name}]`, () => {
      for (const [mode, column] of [['gemmlowp', 2], ['single', 3], ['fp32', 4]] as const) {
        const r = new KernelRunner(variant, kernel, vectorProblem(mode));
        r.run();
        const got = Array.from(r.output());
        const want = VECTORS.map((v) => v[column]);
        assert.equal(got, want, `${variant.name} [${kernel.name}] ${mode}: got ${got.join(',')}, want ${want.join(',')}`);
      }
    });
  }
}

test.run();

/**
 * LiteRT.js (XNNPACK) on the `.tflite` CONV_2D models harness/tflite builds: the model loads,
 * its outputs equal our reference in `fp32` mode bit for bit (scales rounded to float32, as the
 * file stores them) over shapes, strides, SAME / VALID / explicit PAD, per-channel scales, tie
 * channels and the NONE / RELU / RELU6 clamps, and a wrong model is caught.
 * Run: node --import tsx test/litert.test.ts. Replay another seed with LITERT_TEST_SEED=<n>.
 */
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ConvProblem, type ConvShape, describeShape } from '../harness/conv/layer.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { compareOutputs } from '../harness/testers/kernel-tester.ts';
import { buildTfliteConv, tfliteProblem, tflitePadding } from '../harness/tflite/build-conv.ts';
import { createLiteRtConv } from '../harness/tflite/litert-conv.ts';
import { createLiteRtRunner, liteRtLog } from '../harness/tflite/litert.ts';
import { InputError, VerificationError } from '../harness/util/errors.ts';
import { uniform } from '../harness/util/rng.ts';
import { runLiteRtPage } from '../scripts/bench-litert-browser.ts';
import { benchLiteRtModel } from '../harness/pipelines/litert-model.ts';
import { exactFilterScale } from '../harness/quant/tflite-export.ts';

const BASE_SEED = Number(process.env['LITERT_TEST_SEED'] ?? 0x7f1e);

interface Spec {
  k: number;
  stride: number;
  /** top, bottom, left, right */
  pads: [number, number, number, number];
  inC: number;
  outC: number;
  inH: number;
  inW: number;
  xZp: number;
  yZp: number;
  /** Output clamp: none, relu [zp, 127], relu6 [zp, zp + n]. */
  clamp: 'none' | 'relu' | ['relu6', number];
}

/**
 * Channels alternate between ties (one or two ±1 weights, scale 0.5 or 0.25: acc * scale often
 * ends in exactly .5, where the requantization modes disagree) and full-range weights with a
 * log-uniform scale in [2^-16, 2^-4].
 */
function makeProblem(spec: Spec, seed: number): ConvProblem {
  const rnd = uniform(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const shape: ConvShape = {
    inH: spec.inH, inW: spec.inW, inC: spec.inC, outC: spec.outC, kH: spec.k, kW: spec.k, strideH: spec.stride, strideW: spec.stride,
    padTop: spec.pads[0], padBottom: spec.pads[1], padLeft: spec.pads[2], padRight: spec.pads[3],
  };
  const n = spec.inC * spec.k * spec.k;
  const weights = new Int8Array(spec.outC * n);
  const bias = new Int32Array(spec.outC);
  const scale: number[] = [];
  for (let oc = 0; oc < spec.outC; oc++) {
    const row = weights.subarray(oc * n, (oc + 1) * n);
    if (oc % 2 === 0) {
      const taps = int(1, 2);
      for (let t = 0; t < taps; t++) row[int(0, n - 1)] = rnd() < 0.5 ? -1 : 1;
      bias[oc] = int(-21, 21);
      scale.push(taps === 1 ? 0.5 : 0.25);
    } else {
      for (let i = 0; i < n; i++) row[i] = int(-128, 127);
      bias[oc] = int(-5000, 5000);
      scale.push(2 ** (-16 + 12 * rnd()));
    }
  }
  const [outputMin, outputMax] = spec.clamp === 'none' ? [-128, 127] : spec.clamp === 'relu' ? [spec.yZp, 127] : [spec.yZp, spec.yZp + spec.clamp[1]];
  return {
    shape, inputZeroPoint: spec.xZp, weights, bias,
    input: Int8Array.from({ length: spec.inH * spec.inW * spec.inC }, () => int(-128, 127)),
    requant: { mode: 'fp32', scale, outputZeroPoint: spec.yZp, outputMin, outputMax },
  };
}

const FIXED: Spec[] = [
  { k: 3, stride: 1, pads: [1, 1, 1, 1], inC: 16, outC: 24, inH: 9, inW: 8, xZp: -5, yZp: 3, clamp: 'none' }, // SAME
  { k: 1, stride: 1, pads: [0, 0, 0, 0], inC: 64, outC: 17, inH: 7, inW: 9, xZp: 0, yZp: 0, clamp: 'none' }, // VALID, pointwise
  { k: 3, stride: 2, pads: [1, 1, 1, 1], inC: 17, outC: 8, inH: 10, inW: 11, xZp: 77, yZp: -7, clamp: 'none' }, // PAD (SAME would be 0,1)
  { k: 3, stride: 2, pads: [0, 1, 0, 1], inC: 8, outC: 5, inH: 10, inW: 10, xZp: -128, yZp: 11, clamp: 'none' }, // SAME with stride 2
  { k: 5, stride: 2, pads: [2, 1, 0, 2], inC: 3, outC: 16, inH: 11, inW: 9, xZp: 77, yZp: -40, clamp: 'none' }, // asymmetric PAD
  { k: 7, stride: 1, pads: [0, 0, 0, 0], inC: 4, outC: 3, inH: 9, inW: 12, xZp: 0, yZp: 25, clamp: 'none' }, // VALID 7x7
  { k: 3, stride: 1, pads: [1, 1, 1, 1], inC: 32, outC: 16, inH: 6, inW: 6, xZp: 9, yZp: -20, clamp: 'relu' },
  { k: 3, stride: 1, pads: [1, 1, 1, 1], inC: 32, outC: 16, inH: 6, inW: 6, xZp: 9, yZp: -128, clamp: ['relu6', 6] },
  { k: 1, stride: 1, pads: [0, 0, 0, 0], inC: 32, outC: 16, inH: 6, inW: 6, xZp: 9, yZp: -100, clamp: ['relu6', 200] },
];

function randomSpec(seed: number): Spec {
  const rnd = uniform(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const k = pick([1, 3, 5]);
  const pads: Spec['pads'] = [pick([0, 1, 2]), pick([0, 1, 2]), pick([0, 1, 2]), pick([0, 1, 2])];
  const minH = Math.max(1, k - pads[0] - pads[1]);
  const minW = Math.max(1, k - pads[2] - pads[3]);
  return {
    k, stride: pick([1, 2]), pads,
    inC: pick([1, 3, 16, 17, 64]), outC: pick([1, 3, 16, 17, 64]),
    inH: minH + Math.floor(rnd() * (12 - minH + 1)), inW: minW + Math.floor(rnd() * (12 - minW + 1)),
    xZp: pick([-128, 0, 77]), yZp: pick([-128, -5, 0, 33]), clamp: pick(['none', 'relu'] as const),
  };
}

const CASES = [
  ...FIXED.map((spec, i) => ({ spec, seed: BASE_SEED + i })),
  ...Array.from({ length: 12 }, (_, i) => ({ spec: randomSpec(BASE_SEED + 1000 + i), seed: BASE_SEED + 1000 + i })),
];

const describeCase = (spec: Spec, seed: number) => {
  const p = makeProblem(spec, seed);
  return `${describeShape(p.shape)} (${tflitePadding(p.shape)}) zp ${spec.xZp}->${spec.yZp} clamp [${p.requant.outputMin}, ${p.requant.outputMax}] seed=${seed}`;
};

const withMode = (p: ConvProblem, mode: 'fp32' | 'gemmlowp' | 'single'): ConvProblem => ({ ...p, requant: { ...p.requant, mode } });

test('the builder writes a TFLite flatbuffer (identifier TFL3) that LiteRT.js loads on XNNPACK', async () => {
  const p = makeProblem(FIXED[0]!, BASE_SEED);
  const bytes = buildTfliteConv(tfliteProblem(p));
  assert.is(new TextDecoder().decode(bytes.subarray(4, 8)), 'TFL3');
  const r = await createLiteRtRunner(bytes);
  r.setInput(p.input);
  assert.is((await r.runAndRead()).length, 9 * 8 * 24);
  r.release();
  assert.ok(liteRtLog().some((l) => /XNNPACK delegate/.test(l)), `LiteRT's log names no XNNPACK delegate:\n${liteRtLog().join('\n')}`);
});

let tieDifferences = 0;
for (const { spec, seed } of CASES) {
  test(`LiteRT.js == fp32 reference: ${describeCase(spec, seed)}`, async () => {
    const p = makeProblem(spec, seed);
    const conv = await createLiteRtConv(p);
    try {
      const got = await conv.output();
      const want = referenceConv(conv.problem);
      compareOutputs('LiteRT.js', describeCase(spec, seed), conv.problem, got, want);
      const gemmlowp = referenceConv(withMode(conv.problem, 'gemmlowp'));
      for (let i = 0; i < got.length; i++) if (got[i] !== gemmlowp[i]) tieDifferences++;
    } finally {
      conv.release();
    }
  });
}

test('the cases tell the modes apart: some outputs differ from the gemmlowp reference', () => {
  assert.ok(tieDifferences > 0, 'no output differs between fp32 and gemmlowp: the tie channels exercise nothing');
});

test('a model with a wrong input zero point is caught, with the count of differing outputs', async () => {
  const p = tfliteProblem(makeProblem(FIXED[0]!, BASE_SEED));
  const wrong = { ...p, inputZeroPoint: p.inputZeroPoint + 1 };
  const r = await createLiteRtRunner(buildTfliteConv(wrong));
  r.setInput(p.input);
  const got = await r.runAndRead();
  r.release();
  try {
    compareOutputs('LiteRT.js', 'wrong input zero point', p, got, referenceConv(p));
    assert.unreachable('the wrong model passed');
  } catch (e) {
    assert.instance(e, VerificationError);
    assert.match((e as Error).message, /\d+ of 1728 outputs differ/);
  }
});

test('clamps TFLite cannot express and zero scales are refused', () => {
  const p = tfliteProblem(makeProblem(FIXED[0]!, BASE_SEED));
  assert.throws(() => buildTfliteConv({ ...p, requant: { ...p.requant, outputMin: -100, outputMax: 100 } }), (e: unknown) => e instanceof InputError && /RELU6/.test((e as Error).message));
  const zero = Array.from(p.requant.scale, (s, i) => (i === 1 ? 0 : s));
  assert.throws(() => buildTfliteConv({ ...p, requant: { ...p.requant, scale: zero } }), (e: unknown) => e instanceof InputError && /non-zero/.test((e as Error).message));
});

test('the whole embedded model as .tflite: every tensor equals our integer graph (fp32 mode) on 20 held-out images, then both are timed', async () => {
  const r = await benchLiteRtModel({ checkImages: 20, timeMs: 20 });
  assert.is(r.checkedImages, 20);
  assert.ok(r.tensors.length >= 8, `only ${r.tensors.length} tensors compared`);
  for (const t of r.tensors) assert.is(t.differing, 0, `${t.name}: ${t.differing} of ${t.codes} codes differ`);
  assert.is(r.sameTop1, 20);
  assert.ok(r.rows.length === 2 && r.rows.every((x) => x.imagesPerSecond > 0));
});

test('exactFilterScale: XNNPACK float32 multiplier fl(fl(in * f) / out) equals the target', () => {
  const f = Math.fround;
  const rnd = uniform(BASE_SEED);
  let found = 0;
  for (let i = 0; i < 500; i++) {
    const sIn = f(2 ** (-8 * rnd())), sOut = f(2 ** (-6 * rnd())), w = f(2 ** (-10 * rnd()));
    const want = f((sIn * w) / sOut);
    const c = exactFilterScale(sIn, sOut, want, w);
    if (c === undefined) continue;
    found++;
    assert.is(f(f(sIn * c) / sOut), want);
  }
  // Some targets lie between two consecutive values of fl(fl(in * f) / out): no filter scale hits them
  // (about 1 in 6 of these random scales); the whole-model check above is what proves a model exact.
  assert.ok(found >= 400, `an exact filter scale found for only ${found} of 500`);
});

test('in headless Chromium (fkb serve /litert): LiteRT.js equals our fp32 reference at 1 and 2 threads, and both are timed', async () => {
  if (!existsSync('/usr/bin/chromium')) {
    console.log('LiteRT browser check NOT run: /usr/bin/chromium is missing (apt-get install chromium)');
    assert.ok(process.env.FKB_ALLOW_NO_BROWSER === '1', '/usr/bin/chromium is missing; set FKB_ALLOW_NO_BROWSER=1 to skip knowingly');
    return;
  }
  const s = await runLiteRtPage(10);
  assert.is(s.error, undefined, s.error);
  assert.ok(s.crossOriginIsolated, 'the page is not cross-origin isolated: no threaded build');
  assert.equal(Object.keys(s.differing), ['1', '2']);
  for (const [n, d] of Object.entries(s.differing)) {
    assert.is(d['fp32'], 0, `${n} thread(s): ${d['fp32']} outputs differ from fp32`);
    assert.ok(d['gemmlowp']! > 0, 'the reference layer has gemmlowp double-rounding cases');
  }
  assert.ok(s.rows.some((r) => r.kernel.startsWith('LiteRT.js') && r.kernel.includes('2 threads') && r.gmacs > 0), 'LiteRT.js at 2 threads was not timed');
  assert.ok(s.rows.some((r) => r.module === 'simd' && r.gmacs > 0), 'no SIMD kernel was timed in the page');
  // Our kernels on 2 threads inside the layer (Web Workers): the 1-thread output bytes, then timed.
  const threaded = Object.entries(s.threaded);
  for (const [v, t] of threaded) assert.ok(!('exact' in t) || t.exact, `${v} on 2 threads differs from its 1-thread output in Chromium`);
  assert.ok(s.rows.some((r) => r.module === 'simd-mt' && r.gmacs > 0), 'no kernel was timed on 2 threads in the page');
});

test.run();

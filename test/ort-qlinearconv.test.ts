/**
 * onnxruntime-web's QLinearConv must equal the reference convolution in `fp32` mode bit for bit,
 * with both activation encodings. Run: node --import tsx test/ort-qlinearconv.test.ts
 * Replay another seed with ORT_TEST_SEED=<n>.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ConvProblem, type ConvShape, describeShape, outputSize } from '../harness/conv/layer.ts';
import { referenceAccumulators, referenceConv } from '../harness/reference/conv.ts';
import { createOrtQLinearConv, buildQLinearConvModel, type OrtActivations } from '../harness/ort/qlinearconv.ts';
import { InputError } from '../harness/util/errors.ts';
import { uniform } from '../harness/util/rng.ts';

const BASE_SEED = Number(process.env['ORT_TEST_SEED'] ?? 0x5eed);

interface Spec {
  k: number;
  stride: number;
  /** top, bottom, left, right */
  pads: [number, number, number, number];
  inC: number;
  outC: number;
  inputZeroPoint: number;
  outputZeroPoint: number;
  inH: number;
  inW: number;
}

/**
 * Output channels cycle through four kinds so every problem exercises:
 *  - ties: one or two ±1 weights, scale 0.5 or 0.25, so acc*scale often ends in exactly .5;
 *  - spread: full-range weights, scale sized so outputs span most of int8;
 *  - saturate: ten times the spread scale, hitting both clamp ends;
 *  - random: log-uniform scale in [2^-16, 2).
 */
function makeProblem(spec: Spec, seed: number): ConvProblem {
  const rnd = uniform(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const shape: ConvShape = {
    inH: spec.inH, inW: spec.inW, inC: spec.inC, outC: spec.outC, kH: spec.k, kW: spec.k,
    strideH: spec.stride, strideW: spec.stride,
    padTop: spec.pads[0], padBottom: spec.pads[1], padLeft: spec.pads[2], padRight: spec.pads[3],
  };
  const n = spec.inC * spec.k * spec.k;
  const input = Int8Array.from({ length: spec.inH * spec.inW * spec.inC }, () => int(-128, 127));
  const weights = new Int8Array(spec.outC * n);
  const bias = new Int32Array(spec.outC);
  const scale: number[] = [];
  const xStd = Math.sqrt(74 ** 2 + (spec.inputZeroPoint + 0.5) ** 2);
  const spreadScale = 60 / (Math.sqrt(n) * 74 * xStd);
  const kindOffset = int(0, 3);
  for (let oc = 0; oc < spec.outC; oc++) {
    const row = weights.subarray(oc * n, (oc + 1) * n);
    const kind = (oc + kindOffset) % 4;
    if (kind === 0) {
      const taps = int(1, 2);
      for (let t = 0; t < taps; t++) row[int(0, n - 1)] = rnd() < 0.5 ? -1 : 1;
      bias[oc] = int(-21, 21);
      scale.push(taps === 1 ? 0.5 : 0.25);
    } else {
      for (let i = 0; i < n; i++) row[i] = int(-128, 127);
      bias[oc] = int(-5000, 5000);
      scale.push(kind === 1 ? spreadScale : kind === 2 ? 10 * spreadScale : 2 ** (-16 + 17 * rnd()));
    }
  }
  return {
    shape, inputZeroPoint: spec.inputZeroPoint, input, weights, bias,
    requant: { mode: 'fp32', scale, outputZeroPoint: spec.outputZeroPoint, outputMin: -128, outputMax: 127 },
  };
}

/** Hand-picked: every kernel size with both strides, symmetric and asymmetric pads, C=1 -> M=1 (ORT's depthwise path). */
const FIXED: Spec[] = [
  { k: 1, stride: 1, pads: [0, 0, 0, 0], inC: 64, outC: 17, inputZeroPoint: 0, outputZeroPoint: 0, inH: 7, inW: 9 },
  { k: 1, stride: 2, pads: [1, 0, 2, 0], inC: 3, outC: 16, inputZeroPoint: -128, outputZeroPoint: 11, inH: 6, inW: 7 },
  { k: 3, stride: 1, pads: [1, 1, 1, 1], inC: 16, outC: 64, inputZeroPoint: 77, outputZeroPoint: -7, inH: 8, inW: 8 },
  { k: 3, stride: 2, pads: [0, 1, 1, 0], inC: 17, outC: 3, inputZeroPoint: 0, outputZeroPoint: -128, inH: 9, inW: 10 },
  { k: 3, stride: 1, pads: [0, 0, 0, 0], inC: 1, outC: 64, inputZeroPoint: 77, outputZeroPoint: 127, inH: 5, inW: 6 },
  { k: 5, stride: 1, pads: [2, 2, 2, 2], inC: 1, outC: 1, inputZeroPoint: -128, outputZeroPoint: 3, inH: 9, inW: 8 },
  { k: 5, stride: 2, pads: [2, 1, 0, 2], inC: 3, outC: 17, inputZeroPoint: 77, outputZeroPoint: -40, inH: 11, inW: 9 },
  { k: 7, stride: 1, pads: [2, 2, 1, 1], inC: 64, outC: 16, inputZeroPoint: 0, outputZeroPoint: 25, inH: 8, inW: 9 },
  { k: 7, stride: 2, pads: [0, 2, 2, 0], inC: 17, outC: 1, inputZeroPoint: -128, outputZeroPoint: 0, inH: 10, inW: 12 },
];

function randomSpec(seed: number): Spec {
  const rnd = uniform(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const k = pick([1, 3, 5, 7]);
  const pads: Spec['pads'] = [pick([0, 1, 2]), pick([0, 1, 2]), pick([0, 1, 2]), pick([0, 1, 2])];
  const minH = Math.max(1, k - pads[0] - pads[1]);
  const minW = Math.max(1, k - pads[2] - pads[3]);
  return {
    k, stride: pick([1, 2]), pads,
    inC: pick([1, 3, 16, 17, 64]), outC: pick([1, 3, 16, 17, 64]),
    inputZeroPoint: pick([-128, 0, 77]), outputZeroPoint: pick([-128, -5, 0, 33, 127]),
    inH: minH + Math.floor(rnd() * (12 - minH + 1)), inW: minW + Math.floor(rnd() * (12 - minW + 1)),
  };
}

const RANDOM_CASES = 24;
const CASES: { spec: Spec; seed: number }[] = [
  ...FIXED.map((spec, i) => ({ spec, seed: BASE_SEED + i })),
  ...Array.from({ length: RANDOM_CASES }, (_, i) => {
    const seed = BASE_SEED + 1000 + i;
    return { spec: randomSpec(seed), seed };
  }),
];

function describeCase(spec: Spec, seed: number): string {
  return `${describeShape(makeProblem(spec, seed).shape)} zp=${spec.inputZeroPoint}->${spec.outputZeroPoint} seed=${seed}`;
}

for (const activations of ['int8', 'uint8'] as const satisfies readonly OrtActivations[]) {
  for (const { spec, seed } of CASES) {
    test(`ORT (${activations}) == fp32 reference: ${describeCase(spec, seed)}`, async () => {
      const p = makeProblem(spec, seed);
      const want = referenceConv(p);
      const conv = await createOrtQLinearConv(p, { activations });
      try {
        const got = await conv.run(p.input);
        assert.is(got.length, want.length, `output length, ${describeCase(spec, seed)}`);
        const i = got.findIndex((v, j) => v !== want[j]);
        if (i >= 0) {
          const { outW } = outputSize(p.shape);
          const oc = i % p.shape.outC;
          const pixel = (i - oc) / p.shape.outC;
          assert.unreachable(
            `${activations} ${describeCase(spec, seed)}: first mismatch at index ${i} ` +
              `(oh=${Math.floor(pixel / outW)}, ow=${pixel % outW}, oc=${oc}): got ${got[i]}, want ${want[i]}, ` +
              `scale=${p.requant.scale[oc]}, acc=${referenceAccumulators(p)[i]}`,
          );
        }
      } finally {
        await conv.release();
      }
    });
  }
}

test('the cases hit both clamp ends and exact .5 ties rounding both ways', () => {
  let low = 0, high = 0, tiesDown = 0, tiesUp = 0;
  for (const { spec, seed } of CASES) {
    const p = makeProblem(spec, seed);
    const out = referenceConv(p);
    const acc = referenceAccumulators(p);
    const r = p.requant;
    for (let i = 0; i < out.length; i++) {
      if (out[i] === -128) low++;
      if (out[i] === 127) high++;
      const f = Math.fround(Math.fround(acc[i]!) * Math.fround(r.scale[i % p.shape.outC]!));
      const inside = f > r.outputMin - r.outputZeroPoint && f < r.outputMax - r.outputZeroPoint;
      if (inside && f - Math.floor(f) === 0.5) {
        // Half to even goes down when floor(f) is even: there half away from zero differs for f > 0.
        if (Math.floor(f) % 2 === 0) tiesDown++;
        else tiesUp++;
      }
    }
  }
  assert.ok(low > 0 && high > 0, `clamp ends: ${low} outputs at -128, ${high} at 127 (base seed ${BASE_SEED})`);
  assert.ok(tiesDown > 10 && tiesUp > 10, `ties: ${tiesDown} rounded down, ${tiesUp} up (base seed ${BASE_SEED})`);
});

test('rejects what QLinearConv cannot express', () => {
  const p = makeProblem(FIXED[2]!, BASE_SEED);
  assert.throws(() => buildQLinearConvModel({ ...p, requant: { ...p.requant, outputMin: 0 } }), (e: unknown) => e instanceof InputError);
  assert.throws(() => buildQLinearConvModel({ ...p, requant: { ...p.requant, outputMax: 100 } }), (e: unknown) => e instanceof InputError);
  assert.throws(() => buildQLinearConvModel({ ...p, requant: { ...p.requant, mode: 'gemmlowp' } }), (e: unknown) => e instanceof InputError);
});

test.run();

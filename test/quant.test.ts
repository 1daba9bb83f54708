/**
 * The quantization part of the compression harness (harness/quant/): weight quantization,
 * activation calibration, the integer graph on its three backends, evaluation.
 * Run: node --import tsx test/quant.test.ts
 *
 * Images: calibration on eval images 0..199, measurement on images 200.. (never calibrated on).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { identityPackedAccumulators, requantizePacked } from '../harness/dsp/packed-conv.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import {
  SortedObservations, calibrate, chooseQuantParams, dequantizeValue, observe, percentileOfSorted, quantizeTensor, quantizeValue,
} from '../harness/quant/calibrate.ts';
import {
  evaluateFloat, evaluateInt, floatModelSize, intModelSize, measureIndices, calibrationIndices, quantizeInput, quantizeModel, sqnrDb,
} from '../harness/quant/evaluate.ts';
import { type IntGraph, packingPlan, buildIntGraph, intGraphMacs, roundedDivide, runIntGraph, runIntGraphTensors } from '../harness/quant/int-graph.ts';
import { maxCode, quantizeBias, quantizeWeightsPerChannel } from '../harness/quant/weights.ts';
import { runGraph } from '../harness/model/float-infer.ts';
import { type ConvNode, type Graph, graphMacs, inferShapes } from '../harness/model/graph.ts';
import { multiplyGemmlowp } from '../harness/reference/requant.ts';
import { throwsInput } from './helpers.ts';


// --- weights ---------------------------------------------------------------------------------

test('weights: 8-bit per channel, ties away from zero, range ends ±127 (never -128)', () => {
  // Channel 0: max |w| = 127, scale exactly 1. Channel 1: all zero -> scale 1, codes 0.
  // Channel 2: max |w| = 254, scale 2: -254 -> -127, 1 -> 0.5 -> 1, -3 -> -1.5 -> -2.
  const w = [127, -63.5, 0.5, 1.5, -0.5, -2.5, 2.4999, -127, 0, 0, 0, 0, 0, 0, 0, 0, -254, 1, -3, 3, 0.9, 253, 254, -1];
  const q = quantizeWeightsPerChannel(w, 3, 8, 'hand');
  assert.equal([...q.scale], [1, 1, 2]);
  assert.equal([...q.codes], [127, -64, 1, 2, -1, -3, 2, -127, 0, 0, 0, 0, 0, 0, 0, 0, -127, 1, -2, 2, 0, 127, 127, -1]);
});

test('weights: 4-bit and 2-bit rounding vectors', () => {
  // 4 bits: qmax = 7, scale = 7 / 7 = 1.
  const q4 = quantizeWeightsPerChannel([7, 3.5, -3.5, 0.5, -7, 6.5, -0.49, 2.5], 1, 4);
  assert.is(q4.scale[0], 1);
  assert.equal([...q4.codes], [7, 4, -4, 1, -7, 7, 0, 3]);
  // 2 bits: qmax = 1, scale = 2: w/s = 1, 0.5 -> 1, -0.5 -> -1, 0.4995 -> 0, -1, 0.
  const q2 = quantizeWeightsPerChannel([2, 1, -1, 0.999, -2, 0], 1, 2);
  assert.is(q2.scale[0], 2);
  assert.equal([...q2.codes], [1, 1, -1, 0, -1, 0]);
  assert.equal([2, 3, 4, 8].map((b) => maxCode(b)), [1, 3, 7, 127]);
  // Codes stay inside the symmetric range for arbitrary data.
  for (const bits of [2, 3, 4, 5, 6, 7, 8]) {
    const data = Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * (i % 5 === 0 ? 3 : 1));
    const q = quantizeWeightsPerChannel(data, 4, bits);
    const m = maxCode(bits);
    assert.ok(q.codes.every((c) => c >= -m && c <= m), `${bits} bits`);
    assert.ok(q.codes.some((c) => Math.abs(c) === m), `${bits} bits: the channel maximum maps to ±${m}`);
  }
});

test('bias: round half away from zero of bias / (inputScale * weightScale)', () => {
  assert.equal([...quantizeBias([0.75, -0.75, 0.25, -0.2, 3], 0.5, [1, 1, 1, 1, 0.25])], [2, -2, 1, 0, 24]);
  throwsInput(() => quantizeBias([1e9], 1e-3, [1]), "'bias'", '±2^30');
  throwsInput(() => quantizeBias([1e9], 1e-3, [1], 'big_bias'), 'big_bias');
});

test('bad bit widths are an InputError naming the layer and the value', () => {
  throwsInput(() => quantizeWeightsPerChannel([1, 2], 1, 1, 'conv_a'), 'conv_a', 'got 1');
  throwsInput(() => quantizeWeightsPerChannel([1, 2], 1, 9, 'conv_b'), 'conv_b', 'got 9');
  throwsInput(() => quantizeWeightsPerChannel([1, 2], 1, 4.5, 'conv_c'), 'conv_c', '4.5');
});

// --- calibration -----------------------------------------------------------------------------

test('asymmetric int8 quantizer: zero exactly representable, range widened to contain 0', () => {
  const a = chooseQuantParams(0, 2.55);
  assert.is(a.zeroPoint, -128);
  assert.ok(Math.abs(a.scale - 0.01) < 1e-15);
  const b = chooseQuantParams(-1, 1.55); // scale 0.01, zp = round(-128 + 100) = -28
  assert.is(b.zeroPoint, -28);
  assert.is(dequantizeValue(b.zeroPoint, b), 0);
  assert.is(quantizeValue(0, b), -28);
  assert.is(quantizeValue(1.55, b), 127);
  assert.is(quantizeValue(-1, b), -128);
  assert.is(quantizeValue(100, b), 127);
  assert.equal(chooseQuantParams(1, 2), { ...chooseQuantParams(0, 2), min: 0, max: 2 });
  assert.is(chooseQuantParams(-3, -1).zeroPoint, 127);
  assert.equal(chooseQuantParams(0, 0), { scale: 1, zeroPoint: 0, min: 0, max: 0, bits: 8 });
  // The zero point is an integer in [-128, 127] for any range.
  for (const [lo, hi] of [[-1e-9, 5], [-5, 1e-9], [-0.3, 0.7], [-100, 1]]) {
    const p = chooseQuantParams(lo!, hi!);
    assert.ok(Number.isInteger(p.zeroPoint) && p.zeroPoint >= -128 && p.zeroPoint <= 127, `[${lo}, ${hi}] -> ${p.zeroPoint}`);
    assert.is(dequantizeValue(p.zeroPoint, p), 0);
  }
});

test('observers on hand-made data: min/max, nearest-rank percentile, MSE clipping', () => {
  assert.equal([0, 50, 80, 100, 1].map((q) => percentileOfSorted([10, 20, 30, 40, 50], q)), [10, 30, 40, 50, 10]);
  // 1000 values 0, 0.001, ..., 0.998 and one outlier at 100, one at -5.
  const data = [...Array.from({ length: 999 }, (_, i) => i / 1000), 100, -5];
  const obs = new SortedObservations(data);
  const mm = observe(obs, { observer: 'minmax' });
  assert.equal([mm.min, mm.max], [-5, 100]);
  const pc = observe(obs, { observer: 'percentile', percentile: 99.5 });
  // Nearest ranks ceil(5.005) = 6 and ceil(995.995) = 996 of 1001; the range then widens to contain 0.
  assert.equal([percentileOfSorted(obs.values, 0.5), percentileOfSorted(obs.values, 99.5)], [0.004, 0.994]);
  assert.equal([pc.min, pc.max], [0, 0.994]);
  // One isolated outlier costs its whole distance squared when clipped: MSE keeps the full range here.
  const mse = observe(obs, { observer: 'mse' });
  assert.equal([mse.min, mse.max], [-5, 100]);
  // A Laplace sample (heavy tails, 10000 values): MSE clips, and its choice is the grid's argmin.
  let seed = 777;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const laplace = Array.from({ length: 10000 }, () => (rnd() < 0.5 ? -1 : 1) * -Math.log(1 - rnd()));
  const lo = new SortedObservations(laplace);
  const best = observe(lo, { observer: 'mse', mseSteps: 64 });
  assert.ok(best.max < lo.max && best.min > lo.min, `clipped to [${best.min}, ${best.max}] of [${lo.min}, ${lo.max}]`);
  const sse = (p: ReturnType<typeof chooseQuantParams>): number => laplace.reduce((s, x) => s + (x - dequantizeValue(quantizeValue(x, p), p)) ** 2, 0);
  const bestSse = sse(best);
  for (let k = 1; k <= 64; k++) {
    const cand = chooseQuantParams((lo.min * k) / 64, (lo.max * k) / 64);
    assert.ok(bestSse <= sse(cand) * (1 + 1e-9), `candidate ${k}/64 beats the MSE choice`);
  }
});

test('the prefix-sum quantization error equals the brute-force sum', () => {
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const data = Array.from({ length: 5000 }, () => (rnd() - 0.3) ** 3 * 10);
  const obs = new SortedObservations(data);
  for (const [lo, hi] of [[-1, 1], [-0.05, 0.3], [-3, 3], [0, 0.01]]) {
    const p = chooseQuantParams(lo!, hi!);
    const brute = data.reduce((s, x) => s + (x - dequantizeValue(quantizeValue(x, p), p)) ** 2, 0);
    const fast = obs.quantizationSse(p);
    assert.ok(Math.abs(fast - brute) <= 1e-9 * Math.max(1, brute), `[${lo}, ${hi}]: ${fast} vs ${brute}`);
  }
});

test('empty calibration set and bad observer settings are an InputError', () => {
  throwsInput(() => calibrate(model, []), 'empty calibration set');
  throwsInput(() => new SortedObservations([]), 'empty');
  const obs = new SortedObservations([1, 2, 3]);
  throwsInput(() => observe(obs, { observer: 'percentile', percentile: 30 }), 'percentile');
  throwsInput(() => observe(obs, { observer: 'mse', mseSteps: 0 }), 'mseSteps');
  throwsInput(() => observe(obs, { observer: 'kl' as 'mse' }), 'observer');
});

test('integer average: round half away from zero of sum / n', () => {
  const cases: Array<[number, number, number]> = [[5, 2, 3], [-5, 2, -3], [4, 3, 1], [-4, 3, -1], [5, 3, 2], [-5, 3, -2], [1, 4, 0], [2, 4, 1], [-2, 4, -1], [0, 9, 0], [-254, 4, -64]];
  for (const [s, n, want] of cases) assert.is(roundedDivide(s, n), want, `${s}/${n}`);
});

test('add: TFLite rescaling with left shift 20, worked by hand', () => {
  // sA = 0.5, sB = 0.25, sOut = 0.5, zero points 0: m = 2*0.5 = 1, realA = 0.5, realB = 0.25,
  // realOut = 1 / (2^20 * 0.5) = 2^-19, so q = round half away from zero(qA + qB / 2).
  const g = tinyGraph();
  const params = new Map([...calibrate(g, tinyInputs(2)).params]);
  params.set('cl', { scale: 0.5, zeroPoint: 0, min: -64, max: 63.5, bits: 8 }); // t1, an average pool of cl, inherits it
  params.set('t2', { scale: 0.25, zeroPoint: 0, min: -32, max: 31.75, bits: 8 });
  params.set('t3', { scale: 0.5, zeroPoint: 0, min: -64, max: 63.5, bits: 8 });
  const ig = buildIntGraph(g, { observer: 'minmax', images: 2, params });
  const add = ig.nodes.find((n) => n.op === 'add')!;
  assert.ok(add.op === 'add');
  const t1 = Int8Array.from([3, -3, 1, -1, 0, 127, -128, 100]);
  const t2 = Int8Array.from([3, -3, -1, 1, 5, 127, -128, -101]);
  const want = [5, -5, 1, -1, 3, 127, -128, 50]; // 4.5, -4.5, 0.5, -0.5, 2.5, 190.5 (clamped), -192 (clamped), 49.5
  const run = (a: number, b: number): number => {
    const x = multiplyGemmlowp((a - add.zeroPointA) * 2 ** 20, add.multiplierA) + multiplyGemmlowp((b - add.zeroPointB) * 2 ** 20, add.multiplierB);
    return Math.min(add.outputMax, Math.max(add.outputMin, multiplyGemmlowp(x, add.multiplierOut) + add.outputZeroPoint));
  };
  assert.equal(Array.from(t1, (a, i) => run(a, t2[i]!)), want);
});

/**
 * A small graph with the ops the default model lacks: Clip fused into a conv, count-include-pad
 * average pool, add of two differently scaled tensors, global average pool, 'chw' flatten, a
 * standalone ReLU, and two outputs.
 */
function tinyGraph(): Graph {
  let seed = 99;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const zero = { top: 0, left: 0, bottom: 0, right: 0 };
  const one = { top: 1, left: 1, bottom: 1, right: 1 };
  const conv = (name: string, input: string, output: string, inC: number, outC: number, k: number, fc = false): ConvNode => ({
    op: 'conv', name, inputs: [input], output, kH: k, kW: k, strideH: 1, strideW: 1, pads: k === 3 ? one : zero, groups: 1, inC, outC,
    weights: Float32Array.from({ length: outC * k * k * inC }, rnd), bias: Float32Array.from({ length: outC }, () => rnd() * 0.3), fc,
  });
  return {
    name: 'tiny',
    input: { name: 'x', sourceName: 'x', shape: { h: 4, w: 4, c: 2 }, sourceLayout: 'nhwc', sourceDims: [1, 4, 4, 2] },
    outputs: [
      { name: 'out', sourceName: 'out', shape: { h: 1, w: 1, c: 5 }, sourceLayout: 'flat', sourceDims: [1, 5] },
      { name: 'g', sourceName: 'g', shape: { h: 1, w: 1, c: 3 }, sourceLayout: 'flat', sourceDims: [1, 3] },
    ],
    nodes: [
      conv('conv_a', 'x', 'ca', 2, 3, 3),
      { op: 'clip', name: 'relu6', inputs: ['ca'], output: 'cl', min: 0, max: 6 },
      { op: 'avgpool', name: 'avg', inputs: ['cl'], output: 't1', kH: 3, kW: 3, strideH: 1, strideW: 1, pads: one, countIncludePad: true },
      conv('conv_b', 't1', 't2', 3, 3, 1),
      { op: 'add', name: 'sum', inputs: ['t1', 't2'], output: 't3' },
      { op: 'globalavgpool', name: 'gap', inputs: ['t3'], output: 'g' },
      { op: 'flatten', name: 'flat', inputs: ['t3'], output: 'f', order: 'chw' },
      { op: 'relu', name: 'relu', inputs: ['f'], output: 'fr' },
      conv('fc', 'fr', 'out', 48, 5, 1, true),
    ],
  };
}

function tinyInputs(n: number, seed = 5): Float32Array[] {
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  return Array.from({ length: n }, () => Float32Array.from({ length: 32 }, rnd));
}

test('small graph: every op within a few steps of float, WASM equals reference on every tensor', () => {
  const g = tinyGraph();
  const ig = buildIntGraph(g, calibrate(g, tinyInputs(50)));
  assert.equal(ig.nodes.map((n) => n.op), ['conv', 'avgpool', 'conv', 'add', 'globalavgpool', 'flatten', 'clamp', 'conv']);
  const a = ig.nodes[0]!;
  assert.ok(a.op === 'conv' && a.fused === 'clip');
  const shapes = inferShapes(g);
  for (const x of tinyInputs(20, 123)) {
    const q = quantizeTensor(x, ig.input.params);
    const ref = runIntGraphTensors(ig, q, 'reference');
    const wasm = runIntGraphTensors(ig, q, 'wasm');
    for (const [name, r] of ref) assert.equal([...wasm.get(name)!], [...r], `tensor ${name}`);
    const f = runGraph(g, x, { keepAll: true }, shapes);
    for (const name of ['cl', 't1', 't2', 't3', 'g', 'f', 'fr', 'out']) {
      const t = ig.tensors.get(name)!;
      const want = f.get(name)!;
      const got = ref.get(name)!;
      for (let i = 0; i < want.length; i++) {
        const err = Math.abs(dequantizeValue(got[i]!, t.params) - want[i]!) / t.params.scale;
        // Input rounding plus requantization: a few quantization steps at most on this tiny net.
        assert.ok(err <= 4, `tensor ${name}[${i}]: int ${dequantizeValue(got[i]!, t.params)} vs float ${want[i]} (${err.toFixed(2)} steps)`);
      }
    }
  }
});

test('unsupported ops are an InputError naming the node (grouped convolutions: test/quant-grouped.test.ts)', () => {
  const g = tinyGraph();
  const cal = calibrate(g, tinyInputs(2));
  const sm: Graph = { ...g, outputs: [{ ...g.outputs[0]!, name: 'p' }], nodes: [...g.nodes, { op: 'softmax', name: 'probs', inputs: ['out'], output: 'p' }] };
  throwsInput(() => buildIntGraph(sm, cal), "'probs'", 'softmax');
});

// --- the default model -----------------------------------------------------------------------

const model = importOnnxFile(FASHION_MNIST_MODEL);
const set = readEvalSet();
let int8: IntGraph;

test('the integer graph of the default model: fused clamps, ReLU outputs at zero point -128, MACs', () => {
  int8 = quantizeModel(model, set, calibrationIndices(set));
  assert.equal(int8.nodes.map((n) => n.op), ['conv', 'maxpool', 'conv', 'maxpool', 'conv', 'conv', 'add', 'flatten', 'conv']);
  for (const n of int8.nodes) {
    if (n.op === 'conv' && n.fused === 'relu') {
      assert.is(n.problem.requant.outputZeroPoint, -128, n.name);
      assert.is(n.problem.requant.outputMin, -128, n.name);
    }
  }
  assert.is(int8.input.params.zeroPoint, -128);
  assert.is(intGraphMacs(int8), graphMacs(model));
  assert.is(intGraphMacs(int8), 2151296);
});

test('bad input to the integer graph is an InputError', () => {
  throwsInput(() => buildIntGraph(model, { observer: 'minmax', images: 1, params: new Map() }), 'no calibrated quantizer');
  throwsInput(() => runIntGraph(int8, new Int8Array(10), 'wasm'), '784');
  throwsInput(() => runIntGraph(int8, new Int8Array(784), 'fpga' as 'wasm'), 'backend');
  throwsInput(() => quantizeModel(model, set, [0], {}, { weightBits: 9 }), 'got 9', 'conv1');
  throwsInput(() => quantizeModel(model, set, [0], {}, { weightBits: { '/fc/Gemm': 1 } }), '/fc/Gemm', 'got 1');
});

test('WASM split-conv pipeline equals the TypeScript reference pipeline bit for bit (every tensor, 200 eval images)', () => {
  let tensors = 0;
  for (const i of measureIndices(set, 200)) {
    const x = quantizeInput(int8, set, i);
    const ref = runIntGraphTensors(int8, x, 'reference');
    const wasm = runIntGraphTensors(int8, x, 'wasm');
    assert.equal([...wasm.keys()], [...ref.keys()]);
    for (const [name, r] of ref) {
      const w = wasm.get(name)!;
      const at = r.findIndex((v, k) => v !== w[k]);
      assert.is(at, -1, `image ${i}, tensor '${name}': first difference at ${at}: wasm ${w[at]}, reference ${r[at]}`);
      tensors++;
    }
  }
  assert.is(tensors, 200 * 10);
});

test('4-bit weights: WASM equals reference, size = 4 bits per weight + 32 per bias', () => {
  const int4 = quantizeModel(model, set, calibrationIndices(set, 50), {}, { weightBits: 4 });
  for (const n of int4.nodes) if (n.op === 'conv') assert.ok(n.problem.weights.every((c) => c >= -7 && c <= 7));
  for (const i of measureIndices(set, 20)) {
    const x = quantizeInput(int4, set, i);
    assert.equal([...runIntGraph(int4, x, 'wasm')], [...runIntGraph(int4, x, 'reference')], `image ${i}`);
  }
  const f = floatModelSize(model);
  assert.equal([f.weights, f.biases, f.bits], [58640, 186, 32 * (58640 + 186)]);
  assert.is(intModelSize(int4).bits, 4 * 58640 + 32 * 186);
  assert.is(intModelSize(int8).bits, 8 * 58640 + 32 * 186);
});

test("requantization modes 'single' and 'fp32' are selectable; WASM equals reference in each", () => {
  for (const requantMode of ['single', 'fp32'] as const) {
    const g = quantizeModel(model, set, calibrationIndices(set, 20), {}, { requantMode });
    assert.ok(g.nodes.every((n) => n.op !== 'conv' || n.problem.requant.mode === requantMode));
    for (const i of measureIndices(set, 10)) {
      const x = quantizeInput(g, set, i);
      assert.equal([...runIntGraph(g, x, 'wasm')], [...runIntGraph(g, x, 'reference')], `${requantMode}, image ${i}`);
    }
  }
  throwsInput(() => quantizeModel(model, set, [0], {}, { requantMode: 'raw' as 'single' }), 'raw');
});

test('int8 per-channel top-1 on 500 eval images within 1 point of float; SQNR reported', () => {
  const idx = measureIndices(set, 500);
  const f = evaluateFloat(model, set, idx);
  const q = evaluateInt(int8, set, idx, 'wasm');
  const sqnr = sqnrDb(f.outputs, q.outputs);
  console.log(`  images 200..699: float top-1 ${(100 * f.top1).toFixed(2)} % (${f.correct}/500), int8 [wasm] ${(100 * q.top1).toFixed(2)} % (${q.correct}/500), logit SQNR ${sqnr.toFixed(2)} dB`);
  assert.ok(Math.abs(f.top1 - q.top1) <= 0.01, `float ${f.top1} vs int8 ${q.top1}`);
  assert.ok(sqnr > 20, `SQNR ${sqnr} dB`);
});

test('DSP backend runs each layer on its packing plan: equals the packed engine model and the exact convolution', () => {
  const plan = packingPlan(int8);
  let convs = 0;
  for (const i of measureIndices(set, 5)) {
    const t = runIntGraphTensors(int8, quantizeInput(int8, set, i), 'dsp');
    const exact = runIntGraphTensors(int8, quantizeInput(int8, set, i), 'reference');
    for (const n of int8.nodes) {
      if (n.op !== 'conv') continue;
      const p = { ...n.problem, input: t.get(n.inputs[0]!)! };
      const want = requantizePacked(p, identityPackedAccumulators(p, plan.get(n.name)!.config));
      assert.equal([...t.get(n.output)!], [...want], `image ${i}, layer ${n.name}: dsp vs packed engine model`);
      assert.equal([...t.get(n.output)!], [...exact.get(n.output)!], `image ${i}, layer ${n.name}: dsp vs exact (plan ${plan.get(n.name)!.why})`);
      convs++;
    }
  }
  assert.is(convs, 5 * 5);
  // int8 weights x int8 codes: int8x8, whose 18-bit low lane holds 8 products of 127 * 128.
  for (const p of plan.values()) assert.equal([p.config.scheme, p.config.chain], ['int8x8', 8], p.why);
});

test('percentile and MSE calibration also stay within 1 point of float (200 images)', () => {
  const idx = measureIndices(set, 200);
  const f = evaluateFloat(model, set, idx);
  for (const observer of ['percentile', 'mse'] as const) {
    const g = quantizeModel(model, set, calibrationIndices(set, 100), { observer });
    const q = evaluateInt(g, set, idx, 'wasm');
    console.log(`  ${observer}: float ${f.correct}/200, int8 ${q.correct}/200, SQNR ${sqnrDb(f.outputs, q.outputs).toFixed(2)} dB`);
    assert.ok(Math.abs(f.top1 - q.top1) <= 0.01, `${observer}: float ${f.top1} vs int8 ${q.top1}`);
  }
  assert.ok(evalInput(set, 0).length === 784);
});

test.run();

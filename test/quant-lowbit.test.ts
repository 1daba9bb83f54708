/**
 * Low-bit activations end to end: b-bit quantizers, the bit-width policy, the packing plan of
 * each layer (its bound confirmed by enumeration through the DSP48E2 slice model), and a W4A4
 * model on every backend: reference = WASM split convolution = packed-DSP kernels, codes inside
 * their b-bit ranges.
 * Run: node --import tsx test/quant-lowbit.test.ts
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findBound } from '../harness/dsp/bounds.ts';
import { SCHEMES, accumulationBound } from '../harness/dsp/schemes.ts';
import { FASHION_MNIST_MODEL, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { foldBatchNorm } from '../harness/model/fold.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { bitWidths, parseKeep8, quantizerSource } from '../harness/quant/bit-widths.ts';
import { calibratedTensors } from '../harness/quant/int-graph.ts';
import { chooseQuantParams, codeMax, codeMin, quantizeValue } from '../harness/quant/calibrate.ts';
import { calibrationIndices, measureIndices, quantizeInput, quantizeModel } from '../harness/quant/evaluate.ts';
import { packingPlan, runIntGraphTensors } from '../harness/quant/int-graph.ts';
import { planLayerPacking, planWidths } from '../harness/quant/packing-plan.ts';
import { fpgaEstimate, graphLayers } from '../harness/fpga/graph-layers.ts';
import { throwsInput } from './helpers.ts';

const model = importOnnxFile(FASHION_MNIST_MODEL);
const set = readEvalSet();

test('b-bit quantizers: unsigned grid after ReLU (zero point = qmin), signed asymmetric otherwise', () => {
  for (const bits of [2, 3, 4, 5, 8]) {
    const qmin = -(2 ** (bits - 1));
    const qmax = 2 ** (bits - 1) - 1;
    const relu = chooseQuantParams(0, 3, bits);
    assert.equal([relu.zeroPoint, codeMin(relu), codeMax(relu)], [qmin, qmin, qmax], `${bits} bits after ReLU`);
    assert.is(relu.scale, 3 / (qmax - qmin));
    assert.is(quantizeValue(1e9, relu), qmax);
    assert.is(quantizeValue(-1e9, relu), qmin);
    const signed = chooseQuantParams(-1, 2, bits);
    assert.ok(signed.zeroPoint > qmin && signed.zeroPoint <= qmax, `${bits} bits signed zero point ${signed.zeroPoint}`);
    assert.is(quantizeValue(0, signed), signed.zeroPoint, 'real 0 is exactly the zero point');
  }
  // 4 bits, [0, 1.5]: scale 0.1, x = 0.25 -> round(2.5) = 3 (half away from zero) -> 3 - 8 = -5.
  assert.is(quantizeValue(0.25, chooseQuantParams(0, 1.5, 4)), -5);
  throwsInput(() => chooseQuantParams(0, 1, 1), 'activation bits', '[2, 8]');
  throwsInput(() => chooseQuantParams(0, 1, 9), 'activation bits');
});

test('bit-width policy: first conv and classifier kept at 8 bits on request, inherited quantizers followed back', () => {
  const g = foldBatchNorm(model).graph;
  const convs = g.nodes.filter((n) => n.op === 'conv').map((n) => n.name);
  const both = bitWidths(model, { weightBits: 4, activationBits: 4 });
  assert.equal(convs.map((n) => both.weightBits[n]), [8, 4, 4, 4, 8]);
  const calibrated = new Set(calibratedTensors(model));
  const inputOf = (i: number) => both.activationBits[quantizerSource(g, g.nodes.find((n) => n.name === convs[i])!.inputs[0]!, calibrated)];
  assert.equal([0, 1, 2, 3, 4].map(inputOf), [8, 4, 4, 4, 8]);
  const lastOnly = bitWidths(model, { weightBits: 4, activationBits: 4, keep8: ['last'] });
  assert.equal(convs.map((n) => lastOnly.weightBits[n]), [4, 4, 4, 4, 8]);
  assert.is(lastOnly.activationBits[g.input.name], 4);
  assert.equal(parseKeep8('first,last'), ['first', 'last']);
  assert.equal(parseKeep8('none'), []);
  throwsInput(() => parseKeep8('middle'), '--keep-8bit', 'middle');
});

test('packing plan: densest scheme that takes the widths, chain within the bound for those widths', () => {
  const cases: [number, number, string, number][] = [
    // wBits, aBits, scheme, chain
    [8, 8, 'int8x8', 8], // 127 * 128 = 16256 per product; 18-bit lane: 8
    [4, 8, 'int8x8', 16], // 7 * 128: bound 146
    [4, 4, 'int4', 9], // 7 * 15 = 105; 11-bit lane: 9
    [2, 2, 'int4', 16], // 1 * 9: bound 113
    [3, 4, 'int4', 16], // 3 * 15 = 45: bound 22
    [8, 4, 'int8x8', 16], // int4 needs 4-bit weights; 127 * 8: bound 129
  ];
  for (const [w, a, scheme, chain] of cases) {
    const p = planLayerPacking('layer', w, { bits: a });
    assert.equal([p.config.scheme, p.config.chain], [scheme, chain], `W${w}A${a}: ${p.why}`);
    assert.is(p.config.decode, 'cascade');
  }
  // Weights using the code -128: int8x8's products reach 16384 and only 7 fit its 18-bit lane, so
  // WP487's two-pixel packing (19-bit lane, products up to 128 * 255) with 8 wins the tie on density.
  const w128 = planLayerPacking('w128', 8, { bits: 8 }, -128);
  assert.equal([w128.config.scheme, w128.config.chain], ['wp487u8', 8], w128.why);
  assert.equal(w128.candidates.find((c) => c.scheme === 'int8x8')!.bound, 7);
  assert.equal(planLayerPacking('w127', 8, { bits: 8 }, -127).config.chain, 8);
  assert.match(planLayerPacking('conv1', 8, { bits: 8 }).why, /denser int4: weights \[-127, 127\] exceed \[-8, 7\]/);
  throwsInput(() => planLayerPacking('conv1', 9, { bits: 8 }), "'conv1'", 'weight bit width');
});

test('the narrowed-range bound equals the first failing chain length found through the slice model', () => {
  // Each scheme with the operand ranges of a plan: enumeration over worst-case chains (bounds.ts).
  const narrowed = [
    { ...SCHEMES.int4, weightRange: [-7, 7] as const, activationRange: [0, 15] as const },
    { ...SCHEMES.int8x8, weightRange: [-127, 127] as const, activationRange: [-128, 127] as const },
    { ...SCHEMES.int4, weightRange: [-3, 3] as const, activationRange: [0, 15] as const },
    { ...SCHEMES.int8x8, weightRange: [-7, 7] as const, activationRange: [-128, 127] as const },
  ];
  for (const s of narrowed) {
    const formula = accumulationBound(s);
    assert.is(formula, accumulationBound(SCHEMES[s.name], s.weightRange, s.activationRange));
    const found = findBound(s, { maxN: 200 });
    assert.is(found.bound, formula, `${s.name} w ${s.weightRange} a ${s.activationRange}`);
  }
});

test('W4A4 model: reference = WASM = packed-DSP plan on every layer, codes inside their ranges, FPGA cycles fall', () => {
  const widths = bitWidths(model, { weightBits: 4, activationBits: 4, keep8: ['last'] });
  const g = quantizeModel(model, set, calibrationIndices(set, 100), { activationBits: widths.activationBits }, { weightBits: widths.weightBits });
  const plan = packingPlan(g);
  assert.equal([...plan.values()].map((p) => p.config.scheme), ['int4', 'int4', 'int4', 'int4', 'int8x8']);
  for (const i of measureIndices(set, 8)) {
    const x = quantizeInput(g, set, i);
    const ref = runIntGraphTensors(g, x, 'reference');
    const wasm = runIntGraphTensors(g, x, 'wasm');
    const dsp = runIntGraphTensors(g, x, 'dsp');
    for (const [name, t] of g.tensors) {
      const want = ref.get(name)!;
      assert.equal([...wasm.get(name)!], [...want], `image ${i}, tensor ${name}: wasm vs reference`);
      assert.equal([...dsp.get(name)!], [...want], `image ${i}, tensor ${name}: dsp (${plan.get(g.nodes.find((n) => n.output === name)?.name ?? '')?.why ?? '-'}) vs reference`);
      const lo = codeMin(t.params);
      const hi = codeMax(t.params);
      const bad = want.findIndex((c) => c < lo || c > hi);
      assert.is(bad, -1, `image ${i}, tensor ${name}: code ${want[bad]} at ${bad} outside [${lo}, ${hi}] (${t.params.bits} bits)`);
    }
  }
  // The same layers at W8A8 and at the plan's widths on engine (a): the int4 layers cost half the issues.
  const folded = foldBatchNorm(model).graph;
  const int8 = fpgaEstimate(graphLayers(folded));
  const low = fpgaEstimate(graphLayers(folded, planWidths(plan)));
  console.log(`  FPGA engine a: W8A8 ${int8.cycles} cycles, W4A4 (classifier 8-bit) ${low.cycles} (${(low.cycles / int8.cycles).toFixed(3)}x)`);
  assert.ok(low.cycles < 0.6 * int8.cycles, `${low.cycles} vs ${int8.cycles}`);
  assert.ok(low.layers.every((l) => l.warnings.length === 0), 'a plan within its bound needs no lane correction');
});

test.run();

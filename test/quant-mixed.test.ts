/**
 * Mixed precision per layer (harness/quant/mixed.ts): the sensitivity table and the gradual
 * allocation under a size or FPGA-cycle budget.
 * Run: node --import tsx test/quant-mixed.test.ts
 *
 * Images: calibration 0..199; search split (sensitivity) 1800..1999; the allocation is verified
 * with compressModel on the held-out images 200..599, disjoint from both.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIT_LADDER, allocateBits, sensitivity } from '../harness/pipelines/mixed-precision.ts';
import { throwsInput } from './helpers.ts';
import { FASHION_MNIST_MODEL, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { calibrationIndices, evaluateFloat, evaluateInt, quantizeModel, sqnrDb } from '../harness/quant/evaluate.ts';

const SEARCH = 200;
const MEASURE = 400;
/** compressModel's int8 size of the embedded model (test/compress.test.ts). */
const INT8_BITS = 475_072;
/** 2 bits on every layer: 2 * 58 640 weights + 32 * 186 biases. */
const ALL_2_BITS = 123_232;
/**
 * Lower bits may not raise SQNR by more than this. At 8 bits the logits' SQNR (~39 dB) is set by
 * the 8-bit activations; one step down the ladder multiplies a layer's weight-noise power by
 * >= 2.25 (3 -> 2 bits) and up to 16 (8 -> 6), so it can only come out higher by chance
 * cancellation against the activation rounding on a finite split. The smallest drop measured is
 * 0.4 dB (conv4, 8 -> 6, 400 images); 0.5 dB allows for that much chance in the other direction.
 */
const SQNR_TOLERANCE_DB = 0.5;
const points = (x: number) => 100 * x;

const table = sensitivity({ searchImages: SEARCH });

test('sensitivity: a row per layer and bit width, measured on the search split only', () => {
  assert.equal(table.search, { first: 1800, last: 1999, count: SEARCH });
  const layers = [...new Set(table.rows.map((r) => r.node))];
  assert.equal(layers, ['/conv1/Conv', '/conv2/Conv', '/conv3/Conv', '/conv4/Conv', '/fc/Gemm']);
  assert.is(table.rows.length, layers.length * BIT_LADDER.length);
  for (const l of layers) assert.equal(table.rows.filter((r) => r.node === l).map((r) => r.bits), [...BIT_LADDER]);
  console.log(`search ${table.search.first}..${table.search.last}: float ${points(table.float.top1).toFixed(2)} %, int8 ${points(table.int8.top1).toFixed(2)} % / ${table.int8.sqnrDb.toFixed(2)} dB`);
  for (const r of table.rows) console.log(`  ${r.node.padEnd(12)} ${r.bits} bits: top-1 ${points(r.top1).toFixed(2)} %, SQNR ${r.sqnrDb.toFixed(2)} dB`);
});

test('sensitivity: lower bits never raise SQNR by more than noise; 2 bits is far below 8', () => {
  for (const l of new Set(table.rows.map((r) => r.layer))) {
    const rows = table.rows.filter((r) => r.layer === l);
    for (let k = 1; k < rows.length; k++) {
      const rise = rows[k]!.sqnrDb - rows[k - 1]!.sqnrDb;
      assert.ok(rise <= SQNR_TOLERANCE_DB, `${l}: ${rows[k - 1]!.bits} -> ${rows[k]!.bits} bits raises SQNR by ${rise.toFixed(3)} dB`);
    }
    assert.ok(rows.at(-1)!.sqnrDb < rows[0]!.sqnrDb - 10, `${l}: 2 bits ${rows.at(-1)!.sqnrDb} dB vs 8 bits ${rows[0]!.sqnrDb} dB`);
  }
});

const budget = { sizeBits: Math.floor(0.6 * INT8_BITS) };
const chosen = allocateBits({ budget, table, measureImages: MEASURE });

test('allocation: meets 60 % of the int8 size, verified end to end within 1.5 points of float', () => {
  const v = chosen.verified!;
  const summary = Object.entries(chosen.layerBits).map(([l, b]) => `${l.split('+')[0]}=${b}`).join(' ');
  console.log(`allocation ${summary}: ${chosen.sizeBits} bits (${(100 * chosen.sizeBits / INT8_BITS).toFixed(1)} % of int8), ${chosen.fpgaCycles} cycles`);
  console.log(`  steps: ${chosen.steps.map((s) => `${s.layer.split('+')[0]} ${s.from}->${s.to}`).join(', ')}`);
  console.log(`  held-out ${v.images.first}..${v.images.last}: float ${points(v.floatTop1).toFixed(2)} %, mixed ${points(v.top1).toFixed(2)} %, SQNR ${v.sqnrDb.toFixed(2)} dB`);
  assert.ok(chosen.sizeBits <= budget.sizeBits, `${chosen.sizeBits} > ${budget.sizeBits}`);
  assert.is(v.sizeBits, chosen.sizeBits, 'compressModel measures the size the allocation computed');
  assert.is(v.fpgaCycles, chosen.fpgaCycles);
  assert.equal(v.result.layers.map((l) => l.weightBits), Object.values(chosen.layerBits));
  assert.equal(v.images, { first: 200, last: 599, count: MEASURE });
  assert.ok(v.images.last < table.search.first, 'measurement and search splits are disjoint');
  const drop = points(v.floatTop1 - v.top1);
  assert.ok(drop <= 1.5 + 1e-9, `drops ${drop.toFixed(2)} points`);
  // Gradual: the step before the last one had not met the budget yet.
  assert.ok(chosen.steps.length > 0 && (chosen.steps.at(-2)?.after ?? INT8_BITS) > budget.sizeBits);
});

test('allocation is deterministic (sensitivity measured again from scratch)', () => {
  const again = allocateBits({ budget, searchImages: SEARCH, measureImages: 0 });
  assert.equal(again.table.rows, table.rows);
  assert.equal(again.layerBits, chosen.layerBits);
  assert.equal(again.steps, chosen.steps);
  assert.is(again.verified, undefined);
});

test('FPGA-cycle budget: with 8-bit activations fewer weight bits only shorten load phases, the fully connected layer\'s most', () => {
  // Engine (a) computes the same with 8-bit activations at any weight width (int8x8 packing);
  // what fewer weight bits save is load time: the weights that must arrive before compute
  // (harness/fpga/models/splitconv.ts), all of the classifier's (one output tile), a first tile
  // of each conv's.
  const a = allocateBits({ budget: { fpgaCycles: 15_800 }, table, measureImages: 0 });
  console.log(`cycle budget 15 800: ${JSON.stringify(a.layerBits)}, ${a.fpgaCycles} cycles`);
  assert.ok(a.fpgaCycles <= 15_800);
  assert.ok(a.steps.every((s) => s.saved > 0));
  const fc = a.steps.filter((s) => s.layer === '/fc/Gemm').map((s) => s.saved);
  const conv = a.steps.filter((s) => s.layer !== '/fc/Gemm').map((s) => s.saved);
  assert.ok(fc.length > 0 && Math.min(...fc) > Math.max(0, ...conv), `fc steps save ${fc}, conv steps ${conv}`);
  throwsInput(() => allocateBits({ budget: { fpgaCycles: 15_500 }, table, measureImages: 0 }), 'fpgaCycles', '15534');
});

test("requantMode reaches the measurement: the fp32 table's int8 row is the fp32 integer graph's own result", () => {
  const fp32 = sensitivity({ searchImages: 50, layers: ['/fc/Gemm'], bits: [8], requantMode: 'fp32' });
  const model = importOnnxFile(FASHION_MNIST_MODEL);
  const set = readEvalSet();
  const search = Array.from({ length: 50 }, (_, i) => set.count - 50 + i);
  const g = quantizeModel(model, set, calibrationIndices(set), {}, { requantMode: 'fp32' });
  assert.is(g.requantMode, 'fp32');
  const want = evaluateInt(g, set, search, 'wasm');
  const float = evaluateFloat(model, set, search);
  assert.is(fp32.int8.top1, want.top1);
  assert.is(fp32.int8.sqnrDb, sqnrDb(float.outputs, want.outputs));
  const gemmlowp = sensitivity({ searchImages: 50, layers: ['/fc/Gemm'], bits: [8] });
  console.log(`  int8 logit SQNR on 50 search images: gemmlowp ${gemmlowp.int8.sqnrDb.toFixed(3)} dB, fp32 ${fp32.int8.sqnrDb.toFixed(3)} dB`);
});

test('bad input is an InputError', () => {
  throwsInput(() => allocateBits({ budget: { sizeBits: ALL_2_BITS - 1 }, table }), 'below', String(ALL_2_BITS));
  throwsInput(() => allocateBits({ budget: { sizeBits: ALL_2_BITS }, minBits: 4, table }), 'below', '4 bits');
  throwsInput(() => sensitivity({ layers: ['/conv9/Conv'] }), "'/conv9/Conv'", '/conv1/Conv');
  throwsInput(() => allocateBits({ budget, layers: ['/conv9/Conv'], table }), "'/conv9/Conv'");
  throwsInput(() => allocateBits({ budget: {} as never, table }), 'exactly one');
  throwsInput(() => allocateBits({ budget: { sizeBits: -1 }, table }), 'positive');
  throwsInput(() => allocateBits({ budget, minBits: 5, table }), 'got 5');
  throwsInput(() => allocateBits({ budget, table, measureImages: 1700 }), 'overlap');
  throwsInput(() => sensitivity({ bits: [7] }), 'got 7');
});

test.run();

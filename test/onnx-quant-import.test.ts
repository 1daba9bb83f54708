/**
 * Quantized ONNX import (harness/qonnx/): fixtures in every format with known codes, the
 * QOperator round trip through our own exporter, and models it must refuse.
 *
 *  - test/fixtures/quant-onnx/ (scripts/make-quant-fixtures.py): QDQ with uint8 activations,
 *    QDQ at 4 bits as tools/train/qdq_export.py writes it, QONNX (4-bit, bipolar and narrow
 *    weights, unsigned 4-bit and narrow activations), QOperator with uint8 weights. Imported,
 *    built with buildIntGraph ('fp32'), run on the 'reference' and 'wasm' backends: both equal,
 *    code for code, the codes the script computed in numpy. The QOperator fixture also runs in
 *    onnxruntime-web, which must give the same codes.
 *  - Round trip: the default model's and BlazeFace's integer graphs exported by
 *    harness/quant/onnx-export.ts and imported again: every convolution's problem is the
 *    original's (weights, bias, zero points, clamp, f32 multiplier), so its codes are equal by
 *    construction; every add's multipliers come from the f32 scales QLinearAdd stores, so each add
 *    is compared with the original on all 65536 code pairs; the whole graphs' outputs are compared.
 *  - tools/train/qat.py's own QDQ export (a W4A4 smoke run, 1 epoch on 512 images, about 15 s):
 *    imported and run in 'fp32', every tensor its codes dump holds is equal, code for code, on
 *    its 20 images.
 *  - Bad models (fixtures edited here): each an InputError naming the node and the reason.
 * Run: node --import tsx test/onnx-quant-import.test.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FASHION_MNIST_MODEL, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { fromSourceLayout, nchwToNhwc, toSourceLayout } from '../harness/model/graph.ts';
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../harness/model/image-inputs.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { importQuantizedOnnx, isQuantizedOnnx, quantizeInput } from '../harness/qonnx/onnx-quant.ts';
import { qonnxQuantCode, qonnxRound, qonnxTrunc, quantizeLinearValue } from '../harness/qonnx/qdq-math.ts';
import { calibrate, quantizeTensor } from '../harness/quant/calibrate.ts';
import { calibrationIndices, measureIndices, quantizeInput as quantizeEvalInput, quantizeModel } from '../harness/quant/evaluate.ts';
import { ADD_LEFT_SHIFT, type IntAdd, type IntGraph, buildIntGraph, calibratedTensors, runIntGraph, runIntGraphTensors } from '../harness/quant/int-graph.ts';
import { exportIntGraphOnnx } from '../harness/quant/onnx-export.ts';
import { multiplyGemmlowp } from '../harness/reference/requant.ts';
import { throwsInput } from './helpers.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const DIR = join(import.meta.dirname, 'fixtures', 'quant-onnx');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, { inputDims: number[]; inputs: number[][]; outputs: number[][] }>;

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

function buildFor(q: ReturnType<typeof importQuantizedOnnx>): IntGraph {
  return buildIntGraph(q.graph, q.calibration, { fixedWeights: q.fixedWeights, fixedBias: q.fixedBias, requantMode: q.requantMode });
}

/** Integer-graph input codes of one fixture input (float: the model's own input quantizer; codes: moved by the offset). */
function inputCodes(q: ReturnType<typeof importQuantizedOnnx>, x: number[]): Int8Array {
  const nhwc = fromSourceLayout(q.graph.input, x);
  return q.input.sourceType === 'float32' ? quantizeInput(q, nhwc) : Int8Array.from(nhwc, (v) => v + q.input.codeOffset);
}

/** The first output's codes in the source model's domain and layout. */
function sourceOutput(q: ReturnType<typeof importQuantizedOnnx>, y: Int8Array): number[] {
  return Array.from(toSourceLayout(q.graph.outputs[0]!, y), (v) => v - q.outputs[0]!.codeOffset);
}

function firstDifference(got: ArrayLike<number>, want: ArrayLike<number>): string {
  if (got.length !== want.length) return `${got.length} values, want ${want.length}`;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return `index ${i}: got ${got[i]}, want ${want[i]}`;
  return '';
}

// --- fixtures --------------------------------------------------------------------------------

const FORMATS: Record<string, string> = { 'qdq-u8.onnx': 'qdq', 'qdq-4bit.onnx': 'qdq', 'qonnx.onnx': 'qonnx', 'qop-u8.onnx': 'qoperator' };

for (const [file, format] of Object.entries(FORMATS)) {
  test(`${file}: imported as ${format}; 'reference' and 'wasm' give the numpy-computed codes`, () => {
    const q = importQuantizedOnnx(join(DIR, file));
    assert.is(q.format, format);
    assert.is(q.calibration.observer, 'imported');
    for (const t of calibratedTensors(q.graph)) assert.ok(q.calibration.params.has(t), `${file}: no quantizer for '${t}'`);
    const g = buildFor(q);
    const e = expected[file]!;
    e.inputs.forEach((x, k) => {
      const codes = inputCodes(q, x);
      const ref = runIntGraph(g, codes, 'reference');
      const wasm = runIntGraph(g, codes, 'wasm');
      assert.is(firstDifference(wasm, ref), '', `${file} input ${k}: wasm vs reference`);
      const d = firstDifference(sourceOutput(q, ref), e.outputs[k]!);
      assert.is(d, '', `${file} input ${k}: ${d}`);
    });
  });
}

test('qdq-u8: uint8 tensors move down by 128, int8 stay; a MaxPool with its own equal Q/DQ keeps the quantizer; weight bits from the codes', () => {
  const q = importQuantizedOnnx(join(DIR, 'qdq-u8.onnx'));
  assert.equal([q.input.sourceType, q.input.codeOffset, q.input.sourceZeroPoint, q.input.params.zeroPoint], ['float32', -128, 128, 0]);
  assert.equal([q.outputs[0]!.sourceName, q.outputs[0]!.codeOffset], ['logits', 0]);
  for (const p of q.calibration.params.values()) assert.is(p.bits, 8);
  assert.equal([...q.fixedWeights.values()].map((w) => w.bits), [8, 8, 8, 8]);
  assert.equal([...q.fixedBias.keys()], ['conv1', 'conv2', 'conv3', 'fc']);
  assert.ok(q.notes.some((n) => n.includes("'gap'") && n.includes('half away from zero')), q.notes.join('\n'));
  assert.ok(q.notes.some((n) => n.includes("node 'add' (Add)") && n.includes('QLinearAdd')), q.notes.join('\n'));
});

test('qdq-4bit: bits from the Clips before each QuantizeLinear and the fkb metadata; a 4-bit uint8 tensor moves down by 8', () => {
  const q = importQuantizedOnnx(join(DIR, 'qdq-4bit.onnx'));
  assert.is(q.input.params.bits, 8);
  const params = [...q.calibration.params.entries()];
  const byName = (needle: string) => params.find(([k]) => k.startsWith(needle))![1];
  assert.equal([byName('c1').bits, byName('c1').zeroPoint], [4, -8]);
  assert.equal([byName('c2').bits, byName('c2').zeroPoint], [4, 0]);
  assert.equal([byName('add').bits, byName('add').zeroPoint], [4, -8], 'uint8 zero point 0 clipped to [0, 15]: codes [-8, 7]');
  assert.is(byName('logits').bits, 8);
  assert.equal([...q.fixedWeights.entries()].map(([n, w]) => `${n}:${w.bits}`), ['conv1:4', 'conv2:4', 'fc:8']);
});

test('qonnx: 4-bit narrow and bipolar (2-bit) weights, unsigned 4-bit ReLU output, a narrow 8-bit activation clamped to [-127, 127]', () => {
  const q = importQuantizedOnnx(join(DIR, 'qonnx.onnx'));
  assert.equal([...q.fixedWeights.entries()].map(([n, w]) => `${n}:${w.bits}`), ['conv1:4', 'conv2:2', 'fc:8']);
  assert.ok([...q.fixedWeights.get('conv2')!.codes].every((c) => c === 1 || c === -1), 'bipolar codes');
  const relu = [...q.calibration.params.entries()].find(([k]) => k === 'r1')![1];
  assert.equal([relu.bits, relu.zeroPoint], [4, -8]);
  const clip = q.graph.nodes.find((n) => n.op === 'clip');
  assert.ok(clip && clip.op === 'clip', 'a Clip for the narrow range');
  const a2 = q.calibration.params.get(clip.output)!;
  assert.equal([Math.round(clip.min / a2.scale), Math.round(clip.max / a2.scale)], [-127, 127]);
  assert.ok(!q.fixedBias.has('conv1') && q.notes.some((n) => n.includes('float bias')), 'the float bias is quantized by buildIntGraph');
});

test('qop-u8: uint8 weights with zero point 128 are their codes minus 128; onnxruntime-web gives the same codes', async () => {
  const q = importQuantizedOnnx(join(DIR, 'qop-u8.onnx'));
  const w = onnx.ModelProto.decode(readFileSync(join(DIR, 'qop-u8.onnx'))).graph!.initializer!.find((t) => t.name === 'w2')!;
  const raw = Array.from(w.rawData!);
  // OIHW [3, 4, 1, 1] is OHWI for a 1x1 kernel.
  assert.equal(Array.from(q.fixedWeights.get('conv2')!.codes), raw.map((v) => v - 128));
  const session = await ort.InferenceSession.create(readFileSync(join(DIR, 'qop-u8.onnx')), { executionProviders: ['wasm'] });
  const g = buildFor(q);
  const e = expected['qop-u8.onnx']!;
  for (const [k, x] of e.inputs.entries()) {
    const res = await session.run({ input: new ort.Tensor('uint8', Uint8Array.from(x), e.inputDims) });
    const out = res.out!.data as Float32Array;
    // DequantizeLinear: (c - 140) * 0.04 in f32; back to codes exactly.
    const s = q.outputs[0]!.sourceScale;
    const zp = q.outputs[0]!.sourceZeroPoint;
    const ortCodes = Array.from(out, (v) => Math.round(v / s) + zp);
    assert.ok(ortCodes.every((c, i) => Math.fround((c - zp) * s) === out[i]), 'codes recovered exactly');
    const ours = sourceOutput(q, runIntGraph(g, inputCodes(q, x), 'wasm'));
    assert.is(firstDifference(ours, ortCodes), '', `input ${k}: ours vs onnxruntime-web`);
    assert.is(firstDifference(ours, e.outputs[k]!), '', `input ${k}: ours vs numpy`);
  }
  await session.release();
});

test('isQuantizedOnnx: the fixtures and an exported int8 model yes; the float default model and garbage no', () => {
  for (const f of Object.keys(FORMATS)) assert.ok(isQuantizedOnnx(readFileSync(join(DIR, f))), f);
  assert.not.ok(isQuantizedOnnx(readFileSync(FASHION_MNIST_MODEL)));
  assert.not.ok(isQuantizedOnnx(Uint8Array.of(1, 2, 3, 255, 255)));
  throwsInput(() => importQuantizedOnnx(readFileSync(FASHION_MNIST_MODEL), 'cnn.onnx'), 'cnn.onnx', 'not a quantized model');
  throwsInput(() => importQuantizedOnnx(Uint8Array.of(10, 200, 1), 'junk.onnx'), 'junk.onnx', 'not a valid ONNX file');
});

test('quantizeInput is ONNX QuantizeLinear: f32 division, ties to even, saturation; QONNX rounding modes as the spec table', () => {
  const q = importQuantizedOnnx(join(DIR, 'qdq-u8.onnx'));
  const s = q.input.sourceScale; // 2/255 as f32, zero point 128 (uint8)
  const ties = [0.5, 1.5, 2.5, -0.5, -1.5, 500, -500].map((k) => Math.fround(k * s));
  const got = Array.from(quantizeInput(q, ties), (c) => c - q.input.codeOffset);
  assert.equal(got, ties.map((x) => quantizeLinearValue(x, s, 128, 'uint8')));
  assert.equal(got.slice(-2), [255, 0], 'saturated');
  // intquant_v1.md's rounding table.
  const table: Record<string, number[]> = {
    ROUND: [6, 2, 2, 1, 1, -1, -1, -2, -2, -6], CEIL: [6, 3, 2, 2, 1, -1, -1, -1, -2, -5], FLOOR: [5, 2, 1, 1, 1, -1, -2, -2, -3, -6],
    UP: [6, 3, 2, 2, 1, -1, -2, -2, -3, -6], DOWN: [5, 2, 1, 1, 1, -1, -1, -1, -2, -5], HALF_UP: [6, 3, 2, 1, 1, -1, -1, -2, -3, -6],
    HALF_DOWN: [5, 2, 2, 1, 1, -1, -1, -2, -2, -5],
  };
  const xs = [5.5, 2.5, 1.6, 1.1, 1.0, -1.0, -1.1, -1.6, -2.5, -5.5];
  for (const [mode, want] of Object.entries(table)) assert.equal(xs.map((x) => qonnxRound(x, mode as 'ROUND')), want, mode);
  // IntQuant ranges (min_int, max_int) and Trunc v1 / v2 (trunc_v1.md, trunc_v2.md).
  const p = (signed: boolean, narrow: boolean, bits: number) => ({ signed, narrow, bits, mode: 'ROUND' as const });
  assert.equal([-200, -127.5, 3.5, 300].map((x) => qonnxQuantCode(x, 1, 0, p(true, true, 8))), [-127, -127, 4, 127]);
  assert.equal([-3, 7.5, 300].map((x) => qonnxQuantCode(x, 1, 0, p(false, true, 4))), [0, 8, 14]);
  assert.equal([-0.1, 0, 2].map((x) => qonnxQuantCode(x, 1, 0, p(true, false, 1))), [-1, 1, 1], 'a signed 1-bit IntQuant is bipolar');
  assert.equal([37, 100, -37].map((x) => qonnxTrunc(x, 1, 0, 10, 4, 'FLOOR').q), [0, 1, -1]);
  assert.equal([37, 100].map((x) => qonnxTrunc(x, 1, 0, 10, 4, 'ROUND').q), [1, 2]);
  assert.equal(qonnxTrunc(37, 1, 0, 10, 4, 'FLOOR', { outScale: 4, signed: true, narrow: false }), { q: 7, value: 28 }, 'v2: 37 / 4 = 9.25, clamped to 4-bit 7');
});

// --- the QOperator round trip through harness/quant/onnx-export.ts ---------------------------

/** An imported graph against the one exported: every conv problem equal; every add on all 65536 code pairs. */
function compareGraphs(what: string, a: IntGraph, b: IntGraph): { adds: number; pairsDiffering: number } {
  const convA = a.nodes.filter((n) => n.op === 'conv');
  const convB = b.nodes.filter((n) => n.op === 'conv');
  assert.is(convB.length, convA.length, `${what}: conv count`);
  convA.forEach((n, i) => {
    const m = convB[i]!;
    assert.ok(n.op === 'conv' && m.op === 'conv');
    const [p, r] = [n.problem, m.problem];
    assert.equal(r.shape, p.shape, `${what} ${n.name}: shape`);
    assert.equal([r.inputZeroPoint, r.requant.outputZeroPoint, r.requant.outputMin, r.requant.outputMax], [p.inputZeroPoint, p.requant.outputZeroPoint, p.requant.outputMin, p.requant.outputMax], `${what} ${n.name}: zero points and clamp`);
    assert.is(firstDifference(r.weights, p.weights), '', `${what} ${n.name}: weights`);
    assert.is(firstDifference(r.bias, p.bias), '', `${what} ${n.name}: bias`);
    assert.is(firstDifference(Array.from(r.requant.scale, Math.fround), Array.from(p.requant.scale, Math.fround)), '', `${what} ${n.name}: f32 multipliers`);
  });
  const addA = a.nodes.filter((n): n is IntAdd => n.op === 'add');
  const addB = b.nodes.filter((n): n is IntAdd => n.op === 'add');
  assert.is(addB.length, addA.length);
  let pairsDiffering = 0;
  addA.forEach((n, i) => {
    const m = addB[i]!;
    const table = (node: IntAdd, k: 'A' | 'B') => Int32Array.from({ length: 256 }, (_, q) => multiplyGemmlowp((q - 128 - node[`zeroPoint${k}`]) * 2 ** ADD_LEFT_SHIFT, node[`multiplier${k}`]));
    const [ta, tb, ua, ub] = [table(n, 'A'), table(n, 'B'), table(m, 'A'), table(m, 'B')];
    const out = (node: IntAdd, sum: number) => Math.min(node.outputMax, Math.max(node.outputMin, multiplyGemmlowp(sum, node.multiplierOut) + node.outputZeroPoint));
    const cache = new Map<number, number>();
    const cached = (node: IntAdd, sum: number, c: Map<number, number>) => c.get(sum) ?? (c.set(sum, out(node, sum)), c.get(sum)!);
    const cacheB = new Map<number, number>();
    for (let x = 0; x < 256; x++) for (let y = 0; y < 256; y++) if (cached(n, ta[x]! + tb[y]!, cache) !== cached(m, ua[x]! + ub[y]!, cacheB)) pairsDiffering++;
  });
  return { adds: addA.length, pairsDiffering };
}

test('round trip: the default model exported (QOperator) and imported gives the same codes (50 images)', () => {
  const set = readEvalSet();
  const g = quantizeModel(importOnnxFile(FASHION_MNIST_MODEL), set, calibrationIndices(set), {}, { requantMode: 'fp32' });
  const q = importQuantizedOnnx(exportIntGraphOnnx(g), 'cnn-int8.onnx');
  assert.is(q.format, 'qoperator');
  assert.is(q.input.params.scale, g.input.params.scale, 'the exact input scale from the metadata');
  const g2 = buildFor(q);
  const { adds, pairsDiffering } = compareGraphs('cnn', g, g2);
  console.log(`  default model: ${adds} add, ${pairsDiffering} of ${adds * 65536} code pairs differ from the original add`);
  assert.is(pairsDiffering, 0, 'the add, from f32 scales, differs from the original on some code pairs');
  for (const i of measureIndices(set, 50)) {
    const x = quantizeEvalInput(g, set, i);
    const d = firstDifference(runIntGraph(g2, x, 'wasm'), runIntGraph(g, x, 'wasm'));
    assert.is(d, '', `image ${i}: ${d}`);
  }
});

test('round trip: BlazeFace (depthwise, zero-padding concats, 16 adds) exported and imported gives the same codes on all outputs of its 8 measured photos', () => {
  const bfGraph = importOnnxFile(BLAZEFACE_MODEL);
  const photos = readUint8Images(BLAZEFACE_INPUTS, bfGraph.input.shape, BLAZEFACE_RANGE);
  const bf = buildIntGraph(bfGraph, calibrate(bfGraph, photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES), {}, calibratedTensors(bfGraph)), { requantMode: 'fp32' });
  const q = importQuantizedOnnx(exportIntGraphOnnx(bf), 'blazeface-int8.onnx');
  const g2 = buildFor(q);
  const { adds, pairsDiffering } = compareGraphs('BlazeFace', bf, g2);
  console.log(`  BlazeFace: ${adds} adds, ${pairsDiffering} of ${adds * 65536} code pairs differ from the original adds`);
  assert.ok(pairsDiffering <= 16, `${pairsDiffering} add code pairs differ`);
  let codes = 0;
  for (let k = BLAZEFACE_CALIBRATION_IMAGES; k < photos.length; k++) {
    const x = quantizeTensor(photos[k]!, bf.input.params);
    const want = runIntGraphTensors(bf, x, 'wasm');
    const got = runIntGraphTensors(g2, x, 'wasm');
    bf.outputs.forEach((o, i) => {
      const d = firstDifference(got.get(g2.outputs[i]!.name)!, want.get(o.name)!);
      assert.is(d, '', `photo ${k}, ${o.name}: ${d}`);
      codes += want.get(o.name)!.length;
    });
  }
  console.log(`  BlazeFace: ${codes} output codes equal`);
});

// --- tools/train/qat.py's QDQ export ------------------------------------------------------

test("tools/train/qat.py W4A4: imported, the integer graph ('fp32') equals the trainer's codes dump on every dumped tensor of 20 images", () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-qat-import-'));
  try {
    const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, '..', 'tools', 'train', 'qat.py'), '--wbits', '4', '--abits', '4', '--train-images', '512',
      '--epochs', '1', '--eval-images', '20', '--dump-codes', '20', '--out-dir', dir, '--name', 'w4a4'], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
    assert.is(r.status, 0, `qat.py failed (needs /usr/bin/python3 with torch, onnx, numpy: apt-get install -y python3-torch python3-onnx dataset-fashion-mnist): ${r.stderr}`);
    const q = importQuantizedOnnx(join(dir, 'w4a4.onnx'));
    assert.is(q.format, 'qdq');
    assert.equal([...q.fixedWeights.values()].map((w) => w.bits), [8, 4, 4, 4, 8], 'fkb.weight_bits');
    const g = buildFor(q);
    const data = readFileSync(join(dir, 'w4a4.codes.bin'));
    assert.is(data.subarray(0, 8).toString(), 'FKBCODE1');
    const h = data.readUInt32LE(8);
    const header = JSON.parse(data.subarray(12, 12 + h).toString()) as { images: number; tensors: Array<{ name: string; offset: number; bytes: number; bits: number }> };
    const body = data.subarray(12 + h);
    const codes = (name: string, i: number): Int8Array => {
      const t = header.tensors.find((x) => x.name === name)!;
      const per = t.bytes / header.images;
      return new Int8Array(body.buffer, body.byteOffset + t.offset + i * per, per);
    };
    let compared = 0;
    for (let i = 0; i < header.images; i++) {
      const x = Int8Array.from(nchwToNhwc(codes('input', i), q.graph.input.shape));
      const all = runIntGraphTensors(g, x, 'wasm');
      for (const t of header.tensors) {
        const name = q.tensorOf(t.name);
        assert.ok(name !== undefined, `no graph tensor for '${t.name}'`);
        const it = g.tensors.get(name)!;
        assert.is(it.params.bits, t.bits, `${t.name}: bits`);
        const want = it.shape.h * it.shape.w > 1 ? nchwToNhwc(codes(t.name, i), it.shape) : codes(t.name, i);
        const d = firstDifference(all.get(name)!, want);
        assert.is(d, '', `image ${i}, ${t.name}: ${d}`);
        compared += want.length;
      }
    }
    console.log(`  qat.py W4A4: ${compared} codes of ${header.tensors.length} tensors equal the trainer's on ${header.images} images`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// --- bad models ----------------------------------------------------------------------------

type Model = onnxProto.onnx.ModelProto;
const fixture = (file: string): Model => onnx.ModelProto.decode(readFileSync(join(DIR, file)));
const encode = (m: Model): Uint8Array => onnx.ModelProto.encode(m).finish();
const nodeOf = (m: Model, name: string) => {
  const n = m.graph!.node!.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
};
const setInit = (m: Model, name: string, t: onnxProto.onnx.ITensorProto): void => {
  const g = m.graph!;
  g.initializer = [...g.initializer!.filter((x) => x.name !== name), onnx.TensorProto.create({ ...t, name })];
};
const f32s = (dims: number[], v: number[]) => ({ dataType: DT.FLOAT, dims, floatData: v });
const attr = (m: Model, node: string, name: string, a: onnxProto.onnx.IAttributeProto): void => {
  const n = nodeOf(m, node);
  n.attribute = [...n.attribute!.filter((x) => x.name !== name), { name, ...a }];
};

function refused(what: string, edit: (m: Model) => void, file: string, ...needles: string[]): void {
  test(`refused: ${what}`, () => {
    const m = fixture(file);
    edit(m);
    throwsInput(() => importQuantizedOnnx(encode(m), 'bad.onnx'), 'bad.onnx', ...needles);
  });
}

refused('uint8 QLinearConv weights with zero point 0 (codes up to 255)', (m) => setInit(m, 'w1_z', { dataType: DT.UINT8, dims: [], rawData: Uint8Array.of(0) }), 'qop-u8.onnx',
  "node 'conv1' (QLinearConv)", 'after subtracting the zero point', 'zero point 0', 'outside [-127, 127]');
refused('an int8 weight code -128', (m) => {
  const t = m.graph!.initializer!.find((x) => x.name === 'w1_codes')!;
  const raw = Uint8Array.from(t.rawData!);
  raw[5] = 0x80;
  setInit(m, 'w1_codes', { dataType: DT.INT8, dims: t.dims, rawData: raw });
}, 'qdq-u8.onnx', "node 'conv1' (Conv)", 'weight 5 is -128', 'never used by a symmetric quantizer');
refused('float Conv weights (no DequantizeLinear)', (m) => {
  const n = nodeOf(m, 'conv1');
  setInit(m, 'w1_float', f32s([8, 3, 3, 3], new Array(216).fill(0.1)));
  n.input![1] = 'w1_float';
}, 'qdq-u8.onnx', "node 'conv1' (Conv)", "weights 'w1_float' are float");
refused('a per-channel activation quantizer', (m) => setInit(m, 'input_dq_scale', f32s([3], [0.01, 0.02, 0.03])), 'qdq-u8.onnx',
  '(QuantizeLinear)', 'per-channel activation quantizers are not supported');
refused('a convolution output the model leaves float', (m) => {
  nodeOf(m, 'add').input![0] = 'c2_pre';
  m.graph!.node = m.graph!.node!.filter((n) => !['c2_q_QuantizeLinear', 'c2_DequantizeLinear'].includes(n.name!));
}, 'qdq-u8.onnx', "node 'conv2' (conv)", "tensor 'c2_pre' has no quantizer");
refused('a tensor both quantized and read as float', (m) => void (nodeOf(m, 'add').input![0] = 'c2_pre'), 'qdq-u8.onnx',
  "'c2_pre' is quantized here but also read as float by node 'add' (Add)");
refused('a requantization after MaxPool', (m) => setInit(m, 'mp_scale', f32s([], [0.5])), 'qdq-u8.onnx',
  "node 'pool' (maxpool)", 'a requantization there is not reproducible');
refused('a bias scale that is not x_scale * w_scale', (m) => {
  const t = m.graph!.initializer!.find((x) => x.name === 'b1_bscale')!;
  const v = new DataView(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength);
  setInit(m, 'b1_bscale', f32s([8], Array.from({ length: 8 }, (_, i) => v.getFloat32(i * 4, true) * 1.5)));
}, 'qdq-u8.onnx', "node 'conv1' (Conv)", 'bias scale', '1.5 times input scale x weight scale', 'cannot be expressed exactly');
refused('BatchNormalization', (m) => void (nodeOf(m, 'relu1').opType = 'BatchNormalization'), 'qdq-u8.onnx', "node 'relu1' (BatchNormalization)", 'fold it before quantizing');
refused('DynamicQuantizeLinear', (m) => void (nodeOf(m, 'c1_q_QuantizeLinear').opType = 'DynamicQuantizeLinear'), 'qdq-u8.onnx', '(DynamicQuantizeLinear)', 'run time');
refused('ConvInteger in a graph', (m) => void (nodeOf(m, 'conv2').opType = 'ConvInteger'), 'qop-u8.onnx', "node 'conv2' (ConvInteger)", 'int32 accumulators', 'importQuantizedLayer');
refused('fkb.weight_bits below the codes', (m) => void m.metadataProps!.push({ key: 'fkb.weight_bits.conv1', value: '3' }), 'qdq-4bit.onnx',
  "node 'conv1' (Conv)", 'fkb.weight_bits.conv1 = 3', 'reach ±7');
refused('QONNX activation rounding FLOOR', (m) => attr(m, 'a1_Quant', 'rounding_mode', { type: 3, s: new TextEncoder().encode('FLOOR') }), 'qonnx.onnx',
  "node 'a1_Quant' (Quant)", 'rounding_mode FLOOR on an activation');
refused('QONNX activation bitwidth 10', (m) => setInit(m, 'a1_bitwidth', f32s([], [10])), 'qonnx.onnx', "node 'a1_Quant' (Quant)", 'bitwidth 10', 'at most 8-bit');
refused('QONNX activation zeropt 0.5', (m) => setInit(m, 'a1_zeropt', f32s([], [0.5])), 'qonnx.onnx', "node 'a1_Quant' (Quant)", 'zeropt 0.5 is not an integer');
refused('QONNX per-channel activation scale', (m) => setInit(m, 'a1_scale', f32s([1, 6, 1, 1], [0.1, 0.1, 0.1, 0.1, 0.1, 0.2])), 'qonnx.onnx',
  "node 'a1_Quant' (Quant)", 'per-channel activation quantizers are not supported');
refused('QONNX BipolarQuant on an activation', (m) => {
  const n = nodeOf(m, 'a1_Quant');
  n.opType = 'BipolarQuant';
  n.input = [n.input![0]!, 'a1_scale'];
  n.attribute = [];
}, 'qonnx.onnx', "node 'a1_Quant' (BipolarQuant)", 'threshold at 0', 'zero point 1/2');
refused('QONNX Trunc on an activation', (m) => {
  const n = nodeOf(m, 'a1_Quant');
  n.opType = 'Trunc';
  setInit(m, 'a1_outbits', f32s([], [2]));
  n.input = [n.input![0]!, 'a1_scale', 'a1_zeropt', 'a1_bitwidth', 'a1_outbits'];
  n.attribute = [];
}, 'qonnx.onnx', "node 'a1_Quant' (Trunc)", 'right shift');

test('a bias scale twice x_scale * w_scale is multiplied out exactly', () => {
  const m = fixture('qdq-u8.onnx');
  const t = m.graph!.initializer!.find((x) => x.name === 'b1_bscale')!;
  const v = new DataView(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength);
  setInit(m, 'b1_bscale', f32s([8], Array.from({ length: 8 }, (_, i) => v.getFloat32(i * 4, true) * 2)));
  const doubled = importQuantizedOnnx(encode(m), 'bias2.onnx').fixedBias.get('conv1')!;
  const plain = importQuantizedOnnx(join(DIR, 'qdq-u8.onnx')).fixedBias.get('conv1')!;
  assert.equal(Array.from(doubled), Array.from(plain, (b) => 2 * b));
});

test.run();

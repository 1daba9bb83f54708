/**
 * The integer graph compiled into one WebAssembly instance (harness/quant/int-graph-wasm.ts)
 * against the reference backend, tensor by tensor: the embedded Fashion-MNIST model on 60
 * held-out images (gemmlowp) and 20 each in fp32 and single, BlazeFace on 3 photos, the
 * memory-sharing executor's outputs, guard bytes, and a corrupted graph that must differ; and
 * BlazeFace as .tflite on LiteRT.js (the peer of scripts/bench-model.ts) equal to it.
 * Run: node --import tsx test/int-graph-wasm.test.ts
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../harness/model/image-inputs.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { loadModel } from '../harness/pipelines/compress.ts';
import { calibrate, quantizeTensor } from '../harness/quant/calibrate.ts';
import { calibrationIndices, measureIndices, quantizeInput, quantizeModel } from '../harness/quant/evaluate.ts';
import { type IntGraph, buildIntGraph, calibratedTensors, runIntGraph, runIntGraphTensors } from '../harness/quant/int-graph.ts';
import { WasmGraph } from '../harness/quant/int-graph-wasm.ts';
import { asExported, buildTfliteModel } from '../harness/quant/tflite-export.ts';
import { createLiteRtRunner } from '../harness/tflite/litert.ts';

/** Every tensor of the compiled graph equals the reference's; returns the codes compared. */
function compareAll(g: IntGraph, inputs: Int8Array[], what: string): number {
  const all = new WasmGraph(g, { keepAll: true });
  const shared = new WasmGraph(g);
  let codes = 0;
  inputs.forEach((x, k) => {
    const want = runIntGraphTensors(g, x, 'reference');
    const got = all.tensors(x);
    assert.is(got.size, want.size, `${what}: tensors`);
    for (const [name, w] of want) {
      const v = got.get(name)!;
      const i = w.findIndex((c, j) => c !== v[j]);
      assert.is(i, -1, `${what}, input ${k}, tensor ${name}: code ${i} is ${v[i]}, reference ${w[i]}`);
      codes += w.length;
    }
    const outs = shared.run(x);
    g.outputs.forEach((o, j) => assert.equal(outs[j], want.get(o.name), `${what}, input ${k}, output ${o.name} (buffers shared)`));
  });
  assert.equal(all.guardViolations(), [], `${what}: writes past a buffer`);
  assert.equal(shared.guardViolations(), [], `${what}: writes past a constant region`);
  return codes;
}

const m = loadModel();

for (const [mode, images] of [['gemmlowp', 60], ['fp32', 20], ['single', 20]] as const) {
  test(`embedded model (${mode}): every tensor of ${images} held-out images equals the reference`, () => {
    const g = quantizeModel(m.graph, m.set, calibrationIndices(m.set), {}, { requantMode: mode });
    const inputs = measureIndices(m.set, images).map((i) => quantizeInput(g, m.set, i));
    const codes = compareAll(g, inputs, `embedded ${mode}`);
    const kinds = [...new WasmGraph(g).convKinds.values()];
    assert.ok(kinds[0]!.startsWith('im2col'), `the 1-channel first convolution runs as im2col + 1x1, got ${kinds[0]}`);
    console.log(`  embedded ${mode}: ${codes} codes equal over ${images} images (${kinds.join('; ')})`);
  });
}

test("runIntGraph / runIntGraphTensors on the 'wasm' backend are the compiled graph and equal the per-layer path", () => {
  const g = quantizeModel(m.graph, m.set, calibrationIndices(m.set));
  for (const i of measureIndices(m.set, 5)) {
    const x = quantizeInput(g, m.set, i);
    const ref = runIntGraphTensors(g, x, 'reference');
    assert.equal(runIntGraph(g, x, 'wasm'), ref.get(g.outputs[0]!.name));
    const all = runIntGraphTensors(g, x, 'wasm');
    for (const [name, want] of ref) assert.equal(all.get(name), want, name);
  }
});

test('BlazeFace (fp32): every tensor of 3 photos equals the reference; depthwise layers run in WebAssembly', () => {
  const bf = importOnnxFile(BLAZEFACE_MODEL);
  const photos = readUint8Images(BLAZEFACE_INPUTS, bf.input.shape, BLAZEFACE_RANGE);
  const g = buildIntGraph(bf, calibrate(bf, photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES), {}, calibratedTensors(bf)), { requantMode: 'fp32' });
  const inputs = photos.slice(BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_CALIBRATION_IMAGES + 3).map((p) => quantizeTensor(p, g.input.params));
  const codes = compareAll(g, inputs, 'BlazeFace');
  const kinds = [...new WasmGraph(g).convKinds.values()];
  assert.is(kinds.filter((k) => k === 'depthwise').length, 16);
  console.log(`  BlazeFace: ${codes} codes equal over ${inputs.length} photos, ${g.nodes.length} nodes`);
});

test('BlazeFace exported as .tflite (DEPTHWISE_CONV_2D, channel PAD) gives the compiled graph\'s four outputs on LiteRT.js (2 photos)', async () => {
  const bf = importOnnxFile(BLAZEFACE_MODEL);
  const photos = readUint8Images(BLAZEFACE_INPUTS, bf.input.shape, BLAZEFACE_RANGE);
  const { graph: g } = asExported(buildIntGraph(bf, calibrate(bf, photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES), {}, calibratedTensors(bf)), { requantMode: 'fp32' }));
  const names = g.outputs.map((o) => o.name);
  const r = await createLiteRtRunner(buildTfliteModel(g, { outputs: names }), { outputs: names.length });
  const ours = new WasmGraph(g);
  try {
    for (const p of photos.slice(BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_CALIBRATION_IMAGES + 2)) {
      const x = quantizeTensor(p, g.input.params);
      r.setInput(x);
      const got = await r.runAndReadAll();
      ours.run(x).forEach((want, j) => assert.equal(got[j], want, names[j]));
    }
  } finally {
    r.release();
  }
});

test('a corrupted add multiplier is caught: the comparison can fail', () => {
  const g = quantizeModel(m.graph, m.set, calibrationIndices(m.set));
  const add = g.nodes.find((n) => n.op === 'add')!;
  if (add.op !== 'add') throw new Error('no add');
  const bad: IntGraph = { ...g, nodes: g.nodes.map((n) => (n === add ? { ...add, multiplierOut: { ...add.multiplierOut, multiplier: add.multiplierOut.multiplier + (1 << 24) } } : n)) };
  const x = quantizeInput(g, m.set, measureIndices(m.set, 1)[0]!);
  const want = runIntGraphTensors(g, x, 'reference').get(add.output)!;
  const got = new WasmGraph(bad, { keepAll: true }).tensors(x).get(add.output)!;
  assert.ok(got.some((c, j) => c !== want[j]), 'the corrupted add gave the reference codes');
});

test('the wrong input size is an InputError naming the input', () => {
  const g = quantizeModel(m.graph, m.set, calibrationIndices(m.set));
  assert.throws(() => new WasmGraph(g).run(new Int8Array(5)), (e: Error) => e.name === 'InputError' && e.message.includes(g.input.name));
});

test.run();

/**
 * The default model's integer graph ('fp32' requantization) exported as ONNX must run in
 * onnxruntime-web (wasm, 1 thread) with the integer graph's output codes: every conv layer
 * (single-node models fed the integer graph's own input codes) equal bit for bit, the whole graph
 * compared code by code on 50 eval images, and top-1 equal on all of them. The same for BlazeFace
 * (depthwise QLinearConv, int8 Concat with zero padding, 16 QLinearAdd) on its 8 measured photos.
 * Run: node --import tsx test/quant-onnx.test.ts
 */
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FASHION_MNIST_MODEL, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { nchwToNhwc, nhwcToNchw } from '../harness/model/graph.ts';
import { argmax } from '../harness/model/float-infer.ts';
import { calibrationIndices, measureIndices, quantizeInput, quantizeModel } from '../harness/quant/evaluate.ts';
import { ADD_LEFT_SHIFT, type IntGraph, type IntNode, buildIntGraph, calibratedTensors, runIntGraph, runIntGraphTensors } from '../harness/quant/int-graph.ts';
import { multiplyGemmlowp } from '../harness/reference/requant.ts';
import { referenceConv } from '../harness/reference/conv.ts';
import { exportIntGraphOnnx, onnxOutputDims } from '../harness/quant/onnx-export.ts';
import { compressModel } from '../harness/pipelines/compress.ts';
import { throwsInput } from './helpers.ts';
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../harness/model/image-inputs.ts';
import { calibrate, quantizeTensor } from '../harness/quant/calibrate.ts';

const IMAGES = 50;
const set = readEvalSet();
const model = importOnnxFile(FASHION_MNIST_MODEL);
const g = quantizeModel(model, set, calibrationIndices(set), {}, { requantMode: 'fp32' });
const indices = measureIndices(set, IMAGES);
const inputs = indices.map((i) => quantizeInput(g, set, i));
const ints = inputs.map((x) => runIntGraphTensors(g, x, 'wasm'));

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

/** Runs an exported model on NHWC codes; returns its first output as NHWC codes. */
async function runOnnx(session: ort.InferenceSession, sub: IntGraph, nhwc: Int8Array): Promise<Int8Array> {
  const s = sub.input.shape;
  const feeds = { [sub.input.name]: new ort.Tensor('int8', Int8Array.from(nhwcToNchw(nhwc, s)), [1, s.c, s.h, s.w]) };
  const out = sub.outputs[0]!;
  const y = (await session.run(feeds))[out.name];
  assert.ok(y && y.data instanceof Int8Array, `no int8 output ${out.name}`);
  assert.equal(y!.dims, onnxOutputDims(out.shape));
  return Int8Array.from(nchwToNhwc(y!.data as Int8Array, out.shape));
}

/** The integer graph restricted to one node, its input and output the node's. */
function single(node: IntNode): IntGraph {
  return { ...g, name: node.name, input: g.tensors.get(node.inputs[0]!)!, outputs: [g.tensors.get(node.output)!], nodes: [node] };
}

function differing(a: Int8Array, b: Int8Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) idx.push(i);
  return idx;
}

test('every conv layer, alone in a model, equals the integer graph bit for bit (50 images)', async () => {
  const convs = g.nodes.filter((n) => n.op === 'conv');
  assert.is(convs.length, 5);
  for (const node of convs) {
    const sub = single(node);
    const session = await ort.InferenceSession.create(exportIntGraphOnnx(sub), { executionProviders: ['wasm'] });
    let codes = 0;
    for (let k = 0; k < IMAGES; k++) {
      const want = ints[k]!.get(node.output)!;
      const got = await runOnnx(session, sub, ints[k]!.get(node.inputs[0]!)!);
      const d = differing(want, got);
      codes += want.length;
      assert.is(d.length, 0, `${node.name} image ${indices[k]}: ${d.length} codes differ, first at ${d[0]}: ours ${want[d[0]!]}, ORT ${got[d[0]!]}`);
    }
    console.log(`  ${node.name}: ${codes} codes equal`);
    await session.release();
  }
});

test('maxpool alone equals the integer graph bit for bit', async () => {
  for (const node of g.nodes.filter((n) => n.op === 'maxpool')) {
    const sub = single(node);
    const session = await ort.InferenceSession.create(exportIntGraphOnnx(sub), { executionProviders: ['wasm'] });
    for (let k = 0; k < 5; k++) {
      assert.equal(await runOnnx(session, sub, ints[k]!.get(node.inputs[0]!)!), ints[k]!.get(node.output)!, node.name);
    }
    await session.release();
  }
});

test('residual add: QLinearAdd (MLAS float) vs the TFLite fixed-point add, measured on 50 images', async () => {
  // The tail conv3 -> conv4 -> add(+ReLU): the convs are exact (above), so a differing code is the add's.
  const add = g.nodes.findIndex((n) => n.op === 'add');
  assert.ok(add >= 2, 'the default model has a residual add after two convs');
  const nodes = g.nodes.slice(add - 2, add + 1);
  const sub: IntGraph = { ...g, name: 'tail', input: g.tensors.get(nodes[0]!.inputs[0]!)!, outputs: [g.tensors.get(nodes[2]!.output)!], nodes };
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(sub), { executionProviders: ['wasm'] });
  let differ = 0;
  let total = 0;
  let maxAbs = 0;
  for (let k = 0; k < IMAGES; k++) {
    const want = ints[k]!.get(sub.outputs[0]!.name)!;
    const got = await runOnnx(session, sub, ints[k]!.get(sub.input.name)!);
    const d = differing(want, got);
    differ += d.length;
    total += want.length;
    for (const i of d) maxAbs = Math.max(maxAbs, Math.abs(want[i]! - got[i]!));
  }
  console.log(`  add (+ReLU): ${differ}/${total} codes differ (max |diff| ${maxAbs})`);
  assert.ok(maxAbs <= 1, `the add differs by ${maxAbs} codes somewhere: more than the arithmetic difference explains`);
  await session.release();
});

/** Runs one add of `graph` alone in ORT on all 65536 int8 code pairs; the pairs where QLinearAdd differs from the TFLite add. */
async function addPairsDiffering(graph: IntGraph, node: IntNode): Promise<{ differ: number; maxAbs: number; examples: string[] }> {
  assert.ok(node.op === 'add');
  const sub: IntGraph = { ...graph, name: 'add', input: graph.tensors.get(node.inputs[0]!)!, outputs: [graph.tensors.get(node.output)!], nodes: [node] };
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(sub), { executionProviders: ['wasm'] });
  const s = sub.input.shape;
  const n = s.h * s.w * s.c;
  const dims = [1, s.c, s.h, s.w];
  let differ = 0;
  let maxAbs = 0;
  const examples: string[] = [];
  for (let start = 0; start < 65536; start += n) {
    const a = new Int8Array(n);
    const b = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      const pair = (start + i) % 65536;
      a[i] = (pair >> 8) - 128;
      b[i] = (pair & 255) - 128;
    }
    const y = (await session.run({ [node.inputs[0]!]: new ort.Tensor('int8', a, dims), [node.inputs[1]!]: new ort.Tensor('int8', b, dims) }))[node.output]!.data as Int8Array;
    for (let i = 0; i < n; i++) {
      // int-graph.ts's add, spelled out (TFLite reference_integer_ops/add.h).
      const sa = multiplyGemmlowp((a[i]! - node.zeroPointA) * 2 ** ADD_LEFT_SHIFT, node.multiplierA);
      const sb = multiplyGemmlowp((b[i]! - node.zeroPointB) * 2 ** ADD_LEFT_SHIFT, node.multiplierB);
      const want = Math.min(node.outputMax, Math.max(node.outputMin, multiplyGemmlowp(sa + sb, node.multiplierOut) + node.outputZeroPoint));
      if (want !== y[i]) {
        differ++;
        maxAbs = Math.max(maxAbs, Math.abs(want - y[i]!));
        if (examples.length < 3) examples.push(`(${a[i]}, ${b[i]}): ours ${want}, ORT ${y[i]}`);
      }
    }
  }
  await session.release();
  return { differ, maxAbs, examples };
}

test('residual add alone: all 65536 code pairs, QLinearAdd vs the TFLite add, measured', async () => {
  const node = g.nodes.find((n) => n.op === 'add')!;
  const { differ, maxAbs, examples } = await addPairsDiffering(g, node);
  console.log(`  add alone: ${differ}/65536 code pairs differ (max |diff| ${maxAbs})${examples.length ? `, e.g. ${examples.join('; ')}` : ''}`);
  // Not equal by construction (float vs fixed point), but equal over the whole int8 x int8
  // domain for this model's quantizers: an exhaustive proof for this add.
  assert.is(differ, 0, `the add differs on ${differ} code pairs, e.g. ${examples.join('; ')}`);
});

test('whole graph: codes differing and top-1 on 50 images', async () => {
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(g), { executionProviders: ['wasm'] });
  let differ = 0;
  let maxAbs = 0;
  let total = 0;
  let top1Agree = 0;
  let exactImages = 0;
  for (let k = 0; k < IMAGES; k++) {
    const want = runIntGraph(g, inputs[k]!, 'wasm');
    const got = await runOnnx(session, g, inputs[k]!);
    const d = differing(want, got);
    differ += d.length;
    total += want.length;
    if (d.length === 0) exactImages++;
    for (const i of d) maxAbs = Math.max(maxAbs, Math.abs(want[i]! - got[i]!));
    if (argmax(want) === argmax(got)) top1Agree++;
  }
  console.log(`  whole graph: ${differ}/${total} output codes differ (max |diff| ${maxAbs}), ${exactImages}/${IMAGES} images bit-exact, top-1 agrees on ${top1Agree}/${IMAGES}`);
  assert.is(top1Agree, IMAGES);
  // Every node is exact: convs and maxpool by construction, the add exhaustively (above).
  assert.is(differ, 0, `${differ} output codes differ (max |diff| ${maxAbs})`);
  await session.release();
});

test('fkb compress --onnx path: a pruned (ratio 0.3) fp32 model exports and onnxruntime reproduces its codes (20 images)', async () => {
  const r = compressModel({ ratio: 0.3, requantMode: 'fp32', images: 20, backends: ['wasm'] });
  const pg = r.intGraph;
  assert.is(pg.requantMode, 'fp32');
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(pg), { executionProviders: ['wasm'] });
  let differ = 0;
  for (const i of measureIndices(set, 20)) {
    const x = quantizeInput(pg, set, i);
    const want = runIntGraph(pg, x, 'wasm');
    const got = await runOnnx(session, pg, x);
    const d = differing(want, got);
    differ += d.length;
    assert.is(d.length, 0, `pruned model, image ${i}: codes differ at ${d.slice(0, 5).join(', ')}: got ${d.slice(0, 5).map((k) => got[k]).join(', ')}, want ${d.slice(0, 5).map((k) => want[k]).join(', ')}`);
  }
  console.log(`  pruned model (channels ${r.layers.map((l) => l.outC).join('/')}): ${differ} of ${20 * 10} output codes differ`);
  await session.release();
});

test("scales 'real' (the true quantizers in every QLinearConv): measured against the integer graph", async () => {
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(g, { scales: 'real' }), { executionProviders: ['wasm'] });
  let differ = 0;
  let top1Agree = 0;
  for (let k = 0; k < IMAGES; k++) {
    const want = runIntGraph(g, inputs[k]!, 'wasm');
    const got = await runOnnx(session, g, inputs[k]!);
    differ += differing(want, got).length;
    if (argmax(want) === argmax(got)) top1Agree++;
  }
  // ORT's multiplier f32(f32(xs) * f32(ws[o])) / f32(ys) vs int-graph.ts's fround(xs * ws[o] / ys in f64).
  let channels = 0;
  let multipliersDiffer = 0;
  for (const n of g.nodes) {
    if (n.op !== 'conv') continue;
    const xs = Math.fround(g.tensors.get(n.inputs[0]!)!.params.scale);
    const ys = Math.fround(g.tensors.get(n.output)!.params.scale);
    n.weightScale.forEach((ws, o) => {
      channels++;
      if (Math.fround(Math.fround(xs * Math.fround(ws)) / ys) !== Math.fround(n.problem.requant.scale[o]!)) multipliersDiffer++;
    });
  }
  console.log(`  scales 'real': ${multipliersDiffer}/${channels} channel multipliers differ from int-graph.ts's f32 multiplier; ${differ}/${IMAGES * 10} output codes differ, top-1 agrees on ${top1Agree}/${IMAGES}`);
  assert.ok(top1Agree >= IMAGES - 1, `top-1 agrees on ${top1Agree}/${IMAGES} only`);
  await session.release();
});

test('a fused clamp narrower than int8 becomes an int8 Clip and stays exact', async () => {
  const base = g.nodes.find((n) => n.op === 'conv' && n.name.includes('conv2'));
  assert.ok(base && base.op === 'conv');
  const r = base.problem.requant;
  // Output zero point -20, clamp [-20, 90]: a ReLU with a ReLU6-like top, both ends binding.
  const node: IntNode = { ...base, problem: { ...base.problem, requant: { ...r, outputZeroPoint: -20, outputMin: -20, outputMax: 90 } } };
  const sub = single(node);
  const m = onnxProto.onnx.ModelProto.decode(exportIntGraphOnnx(sub));
  assert.ok(m.graph!.node!.some((n) => n.opType === 'Clip'), 'no Clip node');
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(sub), { executionProviders: ['wasm'] });
  let atMin = 0;
  let atMax = 0;
  for (let k = 0; k < 10; k++) {
    const input = ints[k]!.get(node.inputs[0]!)!;
    const want = referenceConv({ ...node.problem, input }) as Int8Array;
    const got = await runOnnx(session, sub, input);
    const d = differing(want, got);
    assert.is(d.length, 0, `image ${indices[k]}: ${d.length} codes differ, first at ${d[0]}: ours ${want[d[0]!]}, ORT ${got[d[0]!]}`);
    for (const v of want) {
      if (v === -20) atMin++;
      if (v === 90) atMax++;
    }
  }
  assert.ok(atMin > 0 && atMax > 0, `clamp ends not exercised: ${atMin} at min, ${atMax} at max`);
  await session.release();
});

test('the model declares int8 NCHW input, int8 [1, 10] output and opset 13', () => {
  const m = onnxProto.onnx.ModelProto.decode(exportIntGraphOnnx(g));
  const dims = (v: onnxProto.onnx.IValueInfoProto): number[] => v.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue));
  assert.equal(dims(m.graph!.input![0]!), [1, 1, 28, 28]);
  assert.equal(dims(m.graph!.output![0]!), [1, 10]);
  assert.ok(m.opsetImport!.some((o) => o.domain === '' && Number(o.version) === 13));
  const meta = new Map(m.metadataProps!.map((p) => [p.key, p.value]));
  assert.is(Number(meta.get(`${g.input.name}.scale`)), g.input.params.scale);
  assert.is(Number(meta.get(`${g.outputs[0]!.name}.zero_point`)), g.outputs[0]!.params.zeroPoint);
});

test('a non-fp32 graph is refused', () => {
  const gl = quantizeModel(model, set, calibrationIndices(set, 20), {}, { requantMode: 'gemmlowp' });
  throwsInput(() => exportIntGraphOnnx(gl), 'fp32');
});

// --- BlazeFace: depthwise QLinearConv (group), Concat with zero padding, 16 QLinearAdd --------

const blazeface = importOnnxFile(BLAZEFACE_MODEL);
const photos = readUint8Images(BLAZEFACE_INPUTS, blazeface.input.shape, BLAZEFACE_RANGE);
const bf = buildIntGraph(blazeface, calibrate(blazeface, photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES), {}, calibratedTensors(blazeface)), { requantMode: 'fp32' });

test('BlazeFace int8 exported as ONNX: onnxruntime-web gives our codes on every output of the 8 measured photos', async () => {
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(bf), { executionProviders: ['wasm'] });
  const s = bf.input.shape;
  let codes = 0;
  for (let k = BLAZEFACE_CALIBRATION_IMAGES; k < photos.length; k++) {
    const q = quantizeTensor(photos[k]!, bf.input.params);
    const ours = runIntGraphTensors(bf, q, 'wasm');
    const res = await session.run({ [bf.input.name]: new ort.Tensor('int8', Int8Array.from(nhwcToNchw(q, s)), [1, s.c, s.h, s.w]) });
    for (const o of bf.outputs) {
      const y = res[o.name]!;
      assert.equal(y.dims, onnxOutputDims(o.shape));
      const got = y.data as Int8Array; // [1, C] outputs: flat, the same order as ours
      const want = ours.get(o.name)!;
      const d = differing(want, got);
      codes += want.length;
      assert.is(d.length, 0, `BlazeFace photo ${k}, ${o.name}: ${d.length} codes differ, first at ${d[0]}: ours ${want[d[0]!]}, ORT ${got[d[0]!]}`);
    }
  }
  console.log(`  BlazeFace: ${codes} output codes equal (${photos.length - BLAZEFACE_CALIBRATION_IMAGES} photos)`);
  await session.release();
});

test("BlazeFace's 16 adds, each alone on all 65536 code pairs: QLinearAdd vs the TFLite add, measured", async () => {
  const adds = bf.nodes.filter((n) => n.op === 'add');
  assert.is(adds.length, 16);
  let total = 0;
  let maxAbs = 0;
  const per: string[] = [];
  for (const node of adds) {
    const r = await addPairsDiffering(bf, node);
    total += r.differ;
    maxAbs = Math.max(maxAbs, r.maxAbs);
    if (r.differ) per.push(`${node.name.replace('StatefulPartitionedCall/functional_1/', '')}: ${r.differ}, e.g. ${r.examples[0]}`);
  }
  console.log(`  BlazeFace adds: ${total} of ${16 * 65536} code pairs differ, by at most ${maxAbs}${per.length ? ` (${per.join('; ')})` : ''}`);
  // Float (MLAS) and fixed point (TFLite) are not equal by construction: measured here, 4 of
  // 1,048,576 pairs land on opposite sides of a rounding tie, by one code. None of them occurred
  // on the 8 measured photos (the test above). Anything more is a change in either arithmetic.
  assert.ok(maxAbs <= 1, `an add differs by ${maxAbs} codes: ${per.join('; ')}`);
  assert.ok(total <= 16, `${total} code pairs differ: ${per.join('; ')}`);
});

test.run();

/**
 * ONNX import and the float reference, on the committed default model (models/fashion-mnist/,
 * trained by tools/train/train_fashion_mnist.py), on BlazeFace (models/blazeface/) and on small
 * models built here. Run: node --import tsx test/model-onnx.test.ts
 *
 * Tolerances. The float reference accumulates in float64 (harness/model/float-infer.ts);
 * onnxruntime and PyTorch accumulate in float32 in their own orders. Outputs are compared with
 * an error relative to the largest |value| of the output tensor (per image): a per-element
 * relative error means nothing for a logit that happens to be near zero.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { type Graph, type GraphIO, fromSourceLayout, inferShapes, opCounts, toSourceLayout } from '../harness/model/graph.ts';
import { importOnnx, importOnnxFile } from '../harness/model/onnx-import.ts';
import { foldBatchNorm } from '../harness/model/fold.ts';
import { argmax, runGraph } from '../harness/model/float-infer.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet, readFashionMnistMeta } from '../harness/model/fashion-mnist.ts';
import { InputError } from '../harness/util/errors.ts';
import { throwsInput } from './helpers.ts';
import { uniform } from '../harness/util/rng.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;
const BLAZEFACE = fileURLToPath(new URL('../models/blazeface/face_detection_front_128x128_barracuda.onnx', import.meta.url));

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;


/** max |a - b| / max |b|, and where. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): { err: number; at: number } {
  assert.is(a.length, b.length, 'lengths');
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let err = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / (scale || 1);
    if (!(e <= err)) [err, at] = [e, i];
  }
  return { err, at };
}

/** Runs the graph and onnxruntime on one input (in the source layout) and compares every output. */
async function compareWithOrt(graph: Graph, session: ort.InferenceSession, sourceInput: Float32Array, tol: number, what: string): Promise<number> {
  const ours = runGraph(graph, fromSourceLayout(graph.input, sourceInput));
  const theirs = await session.run({ [graph.input.sourceName]: new ort.Tensor('float32', sourceInput, graph.input.sourceDims) });
  let worst = 0;
  for (const o of graph.outputs) {
    const ref = theirs[o.sourceName]?.data as Float32Array | undefined;
    assert.ok(ref, `${what}: onnxruntime has no output '${o.sourceName}'`);
    const { err, at } = relError(toSourceLayout(o, ours.get(o.name)!), ref);
    const got = toSourceLayout(o, ours.get(o.name)!)[at];
    assert.ok(err <= tol, `${what}, output '${o.sourceName}': relative error ${err.toExponential(2)} > ${tol} at index ${at} (ours ${got}, onnxruntime ${ref[at]})`);
    worst = Math.max(worst, err);
  }
  return worst;
}

// --- the default model ------------------------------------------------------------------

const meta = readFashionMnistMeta();
const evalSet = readEvalSet();
const model = importOnnxFile(FASHION_MNIST_MODEL);
const folded = foldBatchNorm(model).graph;
const logitsName = model.outputs[0]!.name;

/** The imported (unfolded) graph's logits for every evaluation image, computed once. */
let cachedLogits: Float32Array[] | null = null;
function evalLogits(): Float32Array[] {
  if (!cachedLogits) {
    const shapes = inferShapes(model);
    cachedLogits = Array.from({ length: evalSet.count }, (_, i) => runGraph(model, evalInput(evalSet, i), {}, shapes).get(logitsName)!);
  }
  return cachedLogits;
}

test('the default model imports: ops, shapes, input and output layout', () => {
  const ops = Object.fromEntries(opCounts(model));
  assert.equal(ops, { conv: 5, batchnorm: 4, relu: 4, maxpool: 2, add: 1, flatten: 1 });
  assert.equal(model.input.shape, { h: 28, w: 28, c: 1 });
  assert.is(model.input.sourceLayout, 'nchw');
  assert.is(model.outputs.length, 1);
  assert.equal(model.outputs[0]!.shape, { h: 1, w: 1, c: 10 });
  const fc = model.nodes.find((n) => n.op === 'conv' && n.fc);
  assert.ok(fc && fc.op === 'conv' && fc.inC === 7 * 7 * 64 && fc.outC === 10, 'Gemm became a 3136 -> 10 fully connected layer');
  // Only the Gemm reads the Flatten, so its weights were permuted and the flatten moves no data.
  const flatten = model.nodes.find((n) => n.op === 'flatten');
  assert.is(flatten?.op === 'flatten' && flatten.order, 'hwc');
  assert.is(evalSet.count, 2000);
  assert.is(meta.predictionsEval2000.length, 2000);
});

test('float top-1 on the 2,000 evaluation images equals PyTorch, image by image', () => {
  const logits = evalLogits();
  let correct = 0;
  const differ: string[] = [];
  logits.forEach((l, i) => {
    const p = argmax(l);
    if (p === evalSet.labels[i]) correct++;
    if (String(p) !== meta.predictionsEval2000[i]) differ.push(`image ${i}: ours ${p}, PyTorch ${meta.predictionsEval2000[i]}, logits ${Array.from(l, (v) => v.toFixed(4)).join(' ')}`);
  });
  assert.is(differ.length, 0, `predictions differ from PyTorch's:\n${differ.join('\n')}`);
  assert.is(correct, meta.correctEval2000, `correct ${correct}/2000, PyTorch ${meta.correctEval2000}`);
  assert.ok(meta.top1Test10000 >= 0.9, `the committed model reaches ${meta.top1Test10000} on the 10,000 test images`);
});

test('logits match onnxruntime-web on every evaluation image within 1e-4 relative', async () => {
  const logits = evalLogits();
  const session = await ort.InferenceSession.create(readFileSync(FASHION_MNIST_MODEL), { executionProviders: ['wasm'] });
  const batch = 250;
  const pixels = evalSet.rows * evalSet.cols;
  let worst = 0;
  for (let start = 0; start < evalSet.count; start += batch) {
    const n = Math.min(batch, evalSet.count - start);
    const x = new Float32Array(n * pixels);
    for (let k = 0; k < n; k++) x.set(evalInput(evalSet, start + k), k * pixels);
    const y = (await session.run({ [model.input.sourceName]: new ort.Tensor('float32', x, [n, 1, evalSet.rows, evalSet.cols]) }))[model.outputs[0]!.sourceName];
    const data = y?.data as Float32Array;
    for (let k = 0; k < n; k++) {
      const { err, at } = relError(logits[start + k]!, data.subarray(k * 10, k * 10 + 10));
      assert.ok(err <= 1e-4, `image ${start + k}: relative error ${err.toExponential(2)} at logit ${at}`);
      worst = Math.max(worst, err);
    }
  }
  await session.release();
  console.log(`  fashion-mnist: worst relative logit error vs onnxruntime-web over 2000 images ${worst.toExponential(2)}`);
});

test('BatchNormalization folding: no batchnorm left, logits within 1e-5 of the unfolded graph', () => {
  const { report } = foldBatchNorm(model);
  assert.equal(report, { folded: 4, standalone: 0 });
  assert.not.ok(folded.nodes.some((n) => n.op === 'batchnorm'));
  assert.is(folded.nodes.length, model.nodes.length - 4);
  const logits = evalLogits();
  const shapes = inferShapes(folded);
  for (let i = 0; i < 100; i++) {
    const f = runGraph(folded, evalInput(evalSet, i), {}, shapes).get(logitsName)!;
    const { err, at } = relError(f, logits[i]!);
    assert.ok(err <= 1e-5, `image ${i}: folded vs unfolded relative error ${err.toExponential(2)} at logit ${at}`);
  }
});

// --- BlazeFace -----------------------------------------------------------------------------

test('BlazeFace (tf2onnx, NHWC input, channel padding by ConstantOfShape) matches onnxruntime-web within 1e-4', async () => {
  const graph = importOnnxFile(BLAZEFACE);
  assert.is(graph.input.sourceLayout, 'nhwc');
  assert.equal(graph.input.shape, { h: 128, w: 128, c: 3 });
  assert.equal(graph.outputs.map((o) => o.sourceDims), [[1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]]);
  const ops = Object.fromEntries(opCounts(graph));
  assert.equal(ops, { conv: 37, relu: 17, add: 16, zeros: 11, concat: 11, maxpool: 3, flatten: 4 });
  assert.ok(graph.nodes.some((n) => n.op === 'conv' && n.groups > 1 && n.groups === n.inC), 'has depthwise convolutions');
  // It carries three unused initializers: severity 3 (errors only) keeps onnxruntime's warnings about them quiet.
  const session = await ort.InferenceSession.create(readFileSync(BLAZEFACE), { executionProviders: ['wasm'], logSeverityLevel: 3 });
  const rnd = uniform(0xb1a2e);
  const noise = Float32Array.from({ length: 128 * 128 * 3 }, () => rnd() * 2 - 1);
  // A smooth picture too: a bright disc on a gradient, in the [-1, 1] range BlazeFace takes.
  const disc = Float32Array.from({ length: 128 * 128 * 3 }, (_, i) => {
    const p = Math.floor(i / 3);
    const [y, x, c] = [Math.floor(p / 128), p % 128, i % 3];
    const r = Math.hypot(y - 60, x - 64);
    return r < 30 ? 0.8 - 0.1 * c : (x + y) / 256 - 0.5;
  });
  const worst = Math.max(await compareWithOrt(graph, session, noise, 1e-4, 'noise'), await compareWithOrt(graph, session, disc, 1e-4, 'disc'));
  await session.release();
  console.log(`  blazeface: worst relative error vs onnxruntime-web ${worst.toExponential(2)}`);
});

// --- small models built here --------------------------------------------------------------

type Attr = onnxProto.onnx.IAttributeProto;
const ints = (name: string, v: number[]): Attr => ({ name, type: AT.INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: AT.INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: AT.FLOAT, f: v });
const str = (name: string, v: string): Attr => ({ name, type: AT.STRING, s: new TextEncoder().encode(v) });

interface Spec {
  nodes: onnxProto.onnx.INodeProto[];
  inits: onnxProto.onnx.ITensorProto[];
  input: number[];
  outputs: string[];
}

function node(opType: string, name: string, input: string[], output: string[], attribute: Attr[] = []): onnxProto.onnx.INodeProto {
  return { opType, name, input, output, attribute };
}

/** A float initializer with random values in [-1, 1); `floatData` instead of raw_data when asked. */
function weights(name: string, dims: number[], rnd: () => number, typed = false, fn = (): number => rnd() * 2 - 1): onnxProto.onnx.ITensorProto {
  const v = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, fn);
  return typed ? { name, dataType: DT.FLOAT, dims, floatData: [...v] } : { name, dataType: DT.FLOAT, dims, rawData: new Uint8Array(v.buffer) };
}

function int64s(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dataType: DT.INT64, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) };
}

function buildModel(spec: Spec): Uint8Array {
  const info = (name: string, dims?: number[]): onnxProto.onnx.IValueInfoProto => ({
    name, type: { tensorType: { elemType: DT.FLOAT, shape: dims ? { dim: dims.map((dimValue) => ({ dimValue })) } : null } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8, producerName: 'model-onnx.test', opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'test', node: spec.nodes, initializer: spec.inits, input: [info('x', spec.input)], output: spec.outputs.map((o) => info(o)) },
  }).finish();
}

/** Every op the importer takes that neither real model has, in one graph. */
function zooModel(): Uint8Array {
  const r = uniform(7);
  const positive = (): number => 0.5 + r();
  return buildModel({
    input: [1, 3, 9, 9],
    outputs: ['prob', 'g', 'flat'],
    nodes: [
      node('Conv', 'same_s2', ['x', 'w1', 'b1'], ['c1'], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), str('auto_pad', 'SAME_UPPER')]),
      node('Clip', 'relu6', ['c1', 'zero', 'six'], ['c1r']),
      node('Conv', 'depthwise_x2', ['c1r', 'wd'], ['dw'], [int('group', 8), ints('pads', [1, 0, 1, 2])]),
      node('Concat', 'cat', ['dw', 'c1r'], ['cat'], [int('axis', -3)]),
      node('BatchNormalization', 'bn_after_concat', ['cat', 'gamma', 'beta', 'mean', 'var'], ['bn'], [float('epsilon', 1e-3)]),
      node('AveragePool', 'avg_excl', ['bn'], ['a1'], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])]),
      node('AveragePool', 'avg_incl', ['bn'], ['a2'], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1]), int('count_include_pad', 1)]),
      node('Add', 'sum', ['a1', 'a2'], ['s']),
      node('MaxPool', 'max_pad', ['s'], ['m'], [ints('kernel_shape', [2, 2]), ints('pads', [0, 0, 1, 1])]),
      node('Flatten', 'to_gemm', ['m'], ['f']),
      node('Gemm', 'fc_kn', ['f', 'wf', 'bf'], ['z'], [float('alpha', 0.5), float('beta', 2)]),
      node('Softmax', 'softmax', ['z'], ['prob'], [int('axis', -1)]),
      node('GlobalAveragePool', 'gap', ['m'], ['gp']),
      node('Reshape', 'squeeze', ['gp', 'shape_vec'], ['gv']),
      node('Gemm', 'fc_nk', ['gv', 'wg'], ['g'], [int('transB', 1)]),
      node('Flatten', 'chw_out', ['m'], ['flat']),
    ],
    inits: [
      weights('w1', [8, 3, 3, 3], r), weights('b1', [8], r, true),
      { name: 'zero', dataType: DT.FLOAT, dims: [], floatData: [0] }, { name: 'six', dataType: DT.FLOAT, dims: [], floatData: [6] },
      weights('wd', [16, 1, 3, 3], r),
      weights('gamma', [24], r, false, positive), weights('beta', [24], r), weights('mean', [24], r), weights('var', [24], r, true, positive),
      weights('wf', [24 * 3 * 3, 10], r), weights('bf', [10], r),
      int64s('shape_vec', [1, -1]), weights('wg', [5, 24], r),
    ],
  });
}

test('small models: auto_pad, Clip, grouped conv, Concat, BN after Concat, pools, Gemm both ways, Softmax match onnxruntime-web', async () => {
  const bytes = zooModel();
  const graph = importOnnx(bytes, 'zoo');
  const flattens = graph.nodes.filter((n) => n.op === 'flatten').map((n) => (n.op === 'flatten' ? n.order : ''));
  assert.equal(flattens.sort(), ['chw', 'hwc'], 'the Flatten read by a Gemm moves no data, the one read by the graph output reorders');
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const rnd = uniform(11);
  for (let k = 0; k < 5; k++) {
    const x = Float32Array.from({ length: 3 * 9 * 9 }, () => rnd() * 4 - 2);
    await compareWithOrt(graph, session, x, 1e-5, `zoo input ${k}`);
    const { graph: f, report } = foldBatchNorm(graph);
    assert.equal(report, { folded: 0, standalone: 1 });
    await compareWithOrt(f, session, x, 1e-5, `zoo folded, input ${k}`);
  }
  await session.release();
});

// --- errors --------------------------------------------------------------------------------


test('a truncated model is an InputError naming the file', () => {
  const bytes = readFileSync(FASHION_MNIST_MODEL);
  const dir = mkdtempSync(join(tmpdir(), 'fkb-onnx-'));
  try {
    for (const keep of [0.5, 0.9, 0.999]) {
      const path = join(dir, `cut-${keep}.onnx`);
      writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * keep)));
      throwsInput(() => importOnnxFile(path), path);
    }
    throwsInput(() => importOnnxFile(join(dir, 'missing.onnx')), 'missing.onnx');
    throwsInput(() => importOnnx(new TextEncoder().encode('not a model at all'), 'junk.onnx'), 'junk.onnx');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unsupported op is an InputError naming the op and the node', () => {
  const r = uniform(3);
  const resize = buildModel({
    input: [1, 2, 4, 4], outputs: ['y'],
    nodes: [node('Relu', 'r', ['x'], ['a']), node('Resize', 'upsample_2x', ['a', '', 'scales'], ['y'], [str('mode', 'nearest')])],
    inits: [weights('scales', [4], r, true, () => 2)],
  });
  throwsInput(() => importOnnx(resize, 'resize.onnx'), "'Resize'", "'upsample_2x'", 'resize.onnx');
  const lstm = buildModel({ input: [1, 2, 4], outputs: ['y'], nodes: [node('LSTM', 'lstm_1', ['x', 'w', 'r'], ['y'], [int('hidden_size', 3)])], inits: [] });
  throwsInput(() => importOnnx(lstm, 'lstm.onnx'), "'LSTM'", "'lstm_1'");
  const custom = buildModel({ input: [1, 2, 4, 4], outputs: ['y'], nodes: [{ ...node('Relu', 'custom_relu', ['x'], ['y']), domain: 'com.example' }], inits: [] });
  throwsInput(() => importOnnx(custom, 'custom.onnx'), 'com.example.Relu', "'custom_relu'");
});

test('shapes that do not fit are an InputError naming the node', () => {
  const r = uniform(5);
  const conv = buildModel({
    input: [1, 3, 8, 8], outputs: ['y'],
    nodes: [node('Conv', 'conv_wrong_channels', ['x', 'w'], ['y'], [ints('kernel_shape', [3, 3])])],
    inits: [weights('w', [4, 2, 3, 3], r)],
  });
  throwsInput(() => importOnnx(conv, 'conv.onnx'), "'conv_wrong_channels'", '3');
  const add = buildModel({
    input: [1, 3, 8, 8], outputs: ['y'],
    nodes: [node('Conv', 'valid', ['x', 'w'], ['c'], [ints('kernel_shape', [3, 3])]), node('Add', 'residual_mismatch', ['c', 'x'], ['y'])],
    inits: [weights('w', [3, 3, 3, 3], r)],
  });
  throwsInput(() => importOnnx(add, 'add.onnx'), "'residual_mismatch'", '[1,3,6,6]', '[1,3,8,8]');
  const gemm = buildModel({
    input: [1, 3, 4, 4], outputs: ['y'],
    nodes: [node('Flatten', 'flat', ['x'], ['f']), node('Gemm', 'fc_wrong_k', ['f', 'w'], ['y'], [int('transB', 1)])],
    inits: [weights('w', [10, 47], r)],
  });
  throwsInput(() => importOnnx(gemm, 'gemm.onnx'), "'fc_wrong_k'", '48');
  const cat = buildModel({
    input: [1, 3, 8, 8], outputs: ['y'],
    nodes: [node('MaxPool', 'half', ['x'], ['p'], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]), node('Concat', 'cat_sizes', ['x', 'p'], ['y'], [int('axis', 1)])],
    inits: [],
  });
  throwsInput(() => importOnnx(cat, 'cat.onnx'), "'cat_sizes'", '8x8x3', '4x4x3');
  const declared = onnx.ModelProto.decode(buildModel({ input: [1, 3, 8, 8], outputs: ['y'], nodes: [node('Relu', 'r', ['x'], ['y'])], inits: [] }));
  declared.graph!.output![0]!.type!.tensorType!.shape = { dim: [1, 3, 8, 9].map((dimValue) => ({ dimValue })) };
  throwsInput(() => importOnnx(onnx.ModelProto.encode(declared).finish(), 'declared.onnx'), "'y'", '[1,3,8,9]');
});

test('what the graph cannot express is an InputError naming the node', () => {
  const r = uniform(9);
  const cases: Array<[string, Spec, string[]]> = [
    ['dilated conv', {
      input: [1, 2, 8, 8], outputs: ['y'],
      nodes: [node('Conv', 'atrous', ['x', 'w'], ['y'], [ints('dilations', [2, 2])])], inits: [weights('w', [2, 2, 3, 3], r)],
    }, ["'atrous'", 'dilations']],
    ['ConstantOfShape read by Add', {
      input: [1, 2, 4, 4], outputs: ['y'],
      nodes: [node('ConstantOfShape', 'zeros', ['shape'], ['z']), node('Add', 'plus_zero', ['x', 'z'], ['y'])], inits: [int64s('shape', [1, 2, 4, 4])],
    }, ["'zeros'", 'Concat']],
    ['a transpose that moves H and W', {
      input: [1, 2, 4, 4], outputs: ['y'], nodes: [node('Transpose', 'swap_hw', ['x'], ['y'], [ints('perm', [0, 1, 3, 2])])], inits: [],
    }, ["'swap_hw'", '0,1,3,2']],
    ['concat along height', {
      input: [1, 2, 4, 4], outputs: ['y'], nodes: [node('Concat', 'cat_h', ['x', 'x'], ['y'], [int('axis', 2)])], inits: [],
    }, ["'cat_h'", 'axis 2']],
    ['ceil-mode pooling', {
      input: [1, 2, 5, 5], outputs: ['y'], nodes: [node('MaxPool', 'ceil_pool', ['x'], ['y'], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2]), int('ceil_mode', 1)])], inits: [],
    }, ["'ceil_pool'", 'ceil_mode']],
  ];
  for (const [what, spec, needles] of cases) {
    try {
      importOnnx(buildModel(spec), `${what}.onnx`);
    } catch (e) {
      assert.instance(e, InputError, what);
      for (const n of needles) assert.ok((e as Error).message.includes(n), `${what}: '${(e as Error).message}' does not mention ${n}`);
      continue;
    }
    assert.unreachable(`${what}: expected an InputError`);
  }
});

test('layout helpers round-trip and reject a wrong size', () => {
  const io: GraphIO = { name: 't', sourceName: 't', shape: { h: 2, w: 3, c: 4 }, sourceLayout: 'nchw', sourceDims: [1, 4, 2, 3] };
  const nchw = Float32Array.from({ length: 24 }, (_, i) => i);
  const nhwc = fromSourceLayout(io, nchw);
  assert.is(nhwc[(1 * 3 + 2) * 4 + 3], (3 * 2 + 1) * 3 + 2);
  assert.equal([...toSourceLayout(io, nhwc)], [...nchw]);
  throwsInput(() => fromSourceLayout(io, new Float32Array(23)), '24');
});

test.run();

/**
 * The float ONNX writer (harness/model/onnx-write.ts): graphs written and read back by our
 * importer (same nodes, weights bit for bit, runGraph bit-identical), run by onnxruntime-web
 * (within float tolerance of runGraph), checked structurally and, when python3 has the onnx
 * package, by onnx.checker; the op set tools/train/qat.py loads by default.
 * Run: node --import tsx test/onnx-write.test.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { type ConvNode, type Graph, type GraphNode, type TensorShape, inferShapes, opCounts, toSourceLayout } from '../harness/model/graph.ts';
import { importOnnx, importOnnxFile } from '../harness/model/onnx-import.ts';
import { readConstant } from '../harness/model/onnx-decode.ts';
import { EXTENDED_OPS, FLOAT_ONNX_OPSET, TRAINING_OPS, exportFloatOnnx } from '../harness/model/onnx-write.ts';
import { foldBatchNorm } from '../harness/model/fold.ts';
import { runGraph } from '../harness/model/float-infer.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../harness/model/image-inputs.ts';
import { pruneGraph } from '../harness/prune/prune.ts';
import { pruneToMacs } from '../harness/prune/budget.ts';
import { uniform } from '../harness/util/rng.ts';
import { throwsInput } from './helpers.ts';

const { onnx } = onnxProto;
const PYTHON = '/usr/bin/python3';
const TRAIN_DIR = fileURLToPath(new URL('../tools/train/', import.meta.url));

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

// --- helpers ------------------------------------------------------------------------------

const bits = (f: Float32Array): number[] => Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));

/** Every field of a node (keys sorted), float arrays as their bit patterns. */
function nodeKey(n: GraphNode): string {
  return JSON.stringify(n, (_, v: unknown) => {
    if (v instanceof Float32Array) return bits(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
    return v;
  });
}

/** Reads the bytes back and checks the graph is `g`: nodes, input and output names and shapes. */
function assertRoundTrip(g: Graph, bytes: Uint8Array, what: string): Graph {
  const back = importOnnx(bytes, what);
  assert.is(back.name, g.name, `${what}: graph name`);
  assert.is(back.input.name, g.input.name, `${what}: input name`);
  assert.equal(back.input.shape, g.input.shape, `${what}: input shape`);
  assert.equal(back.outputs.map((o) => [o.name, o.shape]), g.outputs.map((o) => [o.name, o.shape]), `${what}: outputs`);
  assert.is(back.nodes.length, g.nodes.length, `${what}: node count`);
  g.nodes.forEach((n, i) => assert.is(nodeKey(back.nodes[i]!), nodeKey(n), `${what}: node ${i} '${n.name}' differs`));
  return back;
}

/** runGraph of both graphs on every input: every output bit for bit. */
function assertSameRuns(a: Graph, b: Graph, inputs: Float32Array[], what: string): void {
  const [sa, sb] = [inferShapes(a), inferShapes(b)];
  inputs.forEach((x, i) => {
    const ya = runGraph(a, x, {}, sa);
    const yb = runGraph(b, x, {}, sb);
    for (const o of a.outputs) assert.equal(bits(yb.get(o.name)!), bits(ya.get(o.name)!), `${what}: input ${i}, output '${o.name}' is not bit-identical`);
  });
}

/** max |a - b| / max |b|. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length, 'lengths');
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!) / (scale || 1));
  return err;
}

/**
 * onnxruntime-web runs the written model on all `inputs` at once (the batch dimension is
 * symbolic); every output of every image is within `tol` (relative to the output's largest
 * |value|) of runGraph on the graph read back. Returns the worst error.
 */
async function compareWithOrt(bytes: Uint8Array, inputs: Float32Array[], tol: number, what: string): Promise<number> {
  const back = importOnnx(bytes, what);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const per = inputs[0]!.length;
  const x = new Float32Array(inputs.length * per);
  inputs.forEach((v, k) => x.set(toSourceLayout(back.input, v), k * per));
  const dims = [inputs.length, ...back.input.sourceDims.slice(1)];
  const res = await session.run({ [back.input.sourceName]: new ort.Tensor('float32', x, dims) });
  await session.release();
  let worst = 0;
  const shapes = inferShapes(back);
  inputs.forEach((v, k) => {
    const ours = runGraph(back, v, {}, shapes);
    for (const o of back.outputs) {
      const t = res[o.sourceName];
      assert.ok(t, `${what}: onnxruntime has no output '${o.sourceName}'`);
      assert.equal(t.dims, [inputs.length, ...o.sourceDims.slice(1)], `${what}: output '${o.sourceName}' dims`);
      const n = (t.data as Float32Array).length / inputs.length;
      const err = relError(toSourceLayout(o, ours.get(o.name)!), (t.data as Float32Array).subarray(k * n, (k + 1) * n));
      assert.ok(err <= tol, `${what}: image ${k}, output '${o.sourceName}': relative error ${err.toExponential(2)} > ${tol}`);
      worst = Math.max(worst, err);
    }
  });
  return worst;
}

/**
 * The structure of a written file: opset 13 of the default domain only, float32 input with the
 * symbolic batch 'batch', every node input defined before use, every initializer read, names
 * unique, op types from the allowed set; returns the decoded model.
 */
function checkStructure(bytes: Uint8Array, allowed: readonly string[], what: string): Decoded {
  const m = decode(bytes);
  assert.equal(m.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]), [['', FLOAT_ONNX_OPSET]], `${what}: opset`);
  const g = m.graph;
  assert.is(g.input.length, 1, `${what}: one input`);
  const inType = g.input[0]!.type!.tensorType!;
  assert.is(inType.elemType, onnx.TensorProto.DataType.FLOAT, `${what}: float32 input`);
  assert.is(inType.shape!.dim![0]!.dimParam, 'batch', `${what}: symbolic batch`);
  for (const o of g.output) assert.is(o.type!.tensorType!.shape!.dim![0]!.dimParam, 'batch', `${what}: output '${o.name}' batch`);
  const inits = new Set(g.initializer.map((t) => t.name!));
  assert.is(inits.size, g.initializer.length, `${what}: initializer names are unique`);
  const defined = new Set([g.input[0]!.name!, ...inits]);
  const read = new Set<string>();
  for (const n of g.node) {
    assert.ok(allowed.includes(n.opType!), `${what}: node '${n.name}' has op ${n.opType}, not one of ${allowed.join(', ')}`);
    assert.ok(!n.domain, `${what}: node '${n.name}' is in domain '${n.domain}'`);
    for (const i of n.input ?? []) {
      if (i === '') continue;
      assert.ok(defined.has(i), `${what}: node '${n.name}' reads '${i}' before it is defined`);
      read.add(i);
    }
    for (const o of n.output ?? []) {
      assert.not.ok(defined.has(o), `${what}: '${o}' is written twice`);
      defined.add(o);
    }
  }
  for (const t of inits) assert.ok(read.has(t), `${what}: initializer '${t}' is never read`);
  for (const o of g.output) assert.ok(defined.has(o.name!), `${what}: output '${o.name}' is not computed`);
  return m;
}

/** A decoded model: protobufjs fills in the repeated fields, whatever the interfaces say. */
interface Decoded {
  graph: onnxProto.onnx.GraphProto;
  opsetImport: onnxProto.onnx.OperatorSetIdProto[];
}
function decode(bytes: Uint8Array): Decoded {
  const m = onnx.ModelProto.decode(bytes);
  return { graph: m.graph as onnxProto.onnx.GraphProto, opsetImport: m.opsetImport as onnxProto.onnx.OperatorSetIdProto[] };
}

const pythonOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
const pythonTorch = pythonOnnx && existsSync(join(TRAIN_DIR, 'onnx_torch.py')) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

/** Runs a python snippet on written files (sys.argv[1:]); fails the test on a non-zero exit. */
function python(script: string, files: Record<string, Uint8Array>, cwd?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-write-'));
  try {
    const paths = Object.entries(files).map(([name, bytes]) => {
      const p = join(dir, `${name}.onnx`);
      writeFileSync(p, bytes);
      return p;
    });
    const r = spawnSync(PYTHON, ['-c', script, ...paths], { encoding: 'utf8', cwd, timeout: 300_000 });
    assert.is(r.status, 0, `python failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- the default model and pruned versions of it --------------------------------------------

const evalSet = readEvalSet();
const images = Array.from({ length: 20 }, (_, i) => evalInput(evalSet, i));
const model = importOnnxFile(FASHION_MNIST_MODEL);
const written = exportFloatOnnx(model);
const prunedBn = pruneGraph(model, { criterion: 'l1', ratio: 0.3 }).graph;
const writtenPrunedBn = exportFloatOnnx(prunedBn);
const folded = foldBatchNorm(model).graph;
const budgeted = pruneToMacs(folded, { criterion: 'l1', targetMacsFraction: 0.5 });
const writtenBudgeted = exportFloatOnnx(budgeted.graph);

test('the default model: read back into the same graph, bit-identical logits on 20 images, the file PyTorch wrote', () => {
  const back = assertRoundTrip(model, written, 'fashion-mnist');
  assertSameRuns(model, back, images, 'fashion-mnist');
  // The weights as PyTorch stored them: Conv OIHW, the Gemm's columns in Flatten's c, y, x order.
  const m = checkStructure(written, TRAINING_OPS, 'fashion-mnist');
  const orig = decode(readFileSync(FASHION_MNIST_MODEL)).graph;
  const initsOf = (g: onnxProto.onnx.IGraphProto): Map<string, onnxProto.onnx.ITensorProto> => new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  const [oi, wi] = [initsOf(orig), initsOf(m.graph)];
  assert.equal(m.graph.node.map((n) => n.opType), orig.node!.map((n) => n.opType), 'the same ONNX ops as the original');
  let compared = 0;
  orig.node!.forEach((n, k) => {
    if (n.opType !== 'Conv' && n.opType !== 'Gemm') return;
    const mine = m.graph.node[k]!;
    assert.is(mine.name, n.name);
    assert.is(mine.input!.length, n.input!.length, `${n.name}: inputs`);
    for (const j of [1, 2]) {
      if (!n.input![j]) continue;
      const a = readConstant(oi.get(n.input![j]!)!, 'original');
      const b = readConstant(wi.get(mine.input![j]!)!, 'written');
      assert.equal(b.dims, a.dims, `${n.name} input ${j} dims`);
      assert.equal(bits(b.data as Float32Array), bits(a.data as Float32Array), `${n.name} input ${j}: not the original's bits`);
      compared++;
    }
  });
  assert.is(compared, 6, 'four conv weights, the fc weight and bias; no conv bias (all zero: left out, as PyTorch did)');
  const dims = m.graph.input[0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  assert.equal(dims, ['batch', 1, 28, 28]);
  assert.equal(m.graph.output.map((o) => o.name), ['logits']);
});


test('pruned with BatchNormalization kept (l1, ratio 0.3): same graph back, bit-identical runs, onnxruntime-web within 1e-4', async () => {
  assert.ok(prunedBn.nodes.some((n) => n.op === 'batchnorm'), 'batchnorm nodes still there');
  const fc = prunedBn.nodes.find((n): n is ConvNode => n.op === 'conv' && n.fc)!;
  assert.ok(fc.inC < 3136, `the fc lost columns (${fc.inC})`);
  checkStructure(writtenPrunedBn, TRAINING_OPS, 'pruned');
  const back = assertRoundTrip(prunedBn, writtenPrunedBn, 'pruned');
  assertSameRuns(prunedBn, back, images, 'pruned');
  const worst = await compareWithOrt(writtenPrunedBn, images, 1e-4, 'pruned');
  console.log(`  pruned (ratio 0.3, BN kept): worst relative logit error vs onnxruntime-web over 20 images ${worst.toExponential(2)}`);
});

test('folded and pruned to half the MACs (pruneToMacs 0.5): same graph back, bit-identical runs, onnxruntime-web within 1e-4', async () => {
  const g = budgeted.graph;
  assert.not.ok(g.nodes.some((n) => n.op === 'batchnorm'));
  assert.ok(budgeted.macsAfter <= 0.5 * budgeted.macsBefore);
  checkStructure(writtenBudgeted, TRAINING_OPS, 'budgeted');
  const back = assertRoundTrip(g, writtenBudgeted, 'budgeted');
  assertSameRuns(g, back, images, 'budgeted');
  const worst = await compareWithOrt(writtenBudgeted, images, 1e-4, 'budgeted');
  console.log(`  pruneToMacs 0.5 (folded): worst relative logit error vs onnxruntime-web over 20 images ${worst.toExponential(2)}`);
});

// --- small graphs: every op and every form change -------------------------------------------

const zeroPads = { top: 0, left: 0, bottom: 0, right: 0 };

function randoms(rnd: () => number, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rnd());
}

function conv(rnd: () => number, name: string, input: string, inC: number, outC: number, o: Partial<ConvNode> = {}): ConvNode {
  const k = { kH: o.kH ?? 1, kW: o.kW ?? 1, groups: o.groups ?? 1 };
  return {
    op: 'conv', name, inputs: [input], output: `${name}:0`, strideH: 1, strideW: 1, pads: zeroPads, fc: false, inC, outC, ...k,
    weights: randoms(rnd, outC * k.kH * k.kW * (inC / k.groups)), bias: randoms(rnd, outC), ...o,
  };
}

function batchnorm(rnd: () => number, name: string, input: string, c: number, epsilon: number): GraphNode {
  return { op: 'batchnorm', name, inputs: [input], output: `${name}:0`, gamma: randoms(rnd, c), beta: randoms(rnd, c), mean: randoms(rnd, c), variance: randoms(rnd, c, 0.1, 2), epsilon };
}

function graphOf(name: string, shape: TensorShape, nodes: GraphNode[], outputs: string[]): Graph {
  const g: Graph = {
    name, nodes,
    input: { name: 'x', sourceName: 'x', shape, sourceLayout: shape.h === 1 && shape.w === 1 ? 'flat' : 'nchw', sourceDims: [] },
    outputs: outputs.map((o) => ({ name: o, sourceName: o, shape: { h: 0, w: 0, c: 0 }, sourceLayout: 'nchw', sourceDims: [] })),
  };
  const shapes = inferShapes({ ...g, outputs: [] });
  for (const o of g.outputs) o.shape = shapes.get(o.name)!;
  return g;
}

/** Every op of the training set: grouped and depthwise convs with odd pads, both average pools, clips, flattens, fcs, adds of every form. */
function trainingOpsGraph(): Graph {
  const r = uniform(17);
  const nodes: GraphNode[] = [
    conv(r, 'c1', 'x', 4, 6, { kH: 3, kW: 3, groups: 2, pads: { top: 1, left: 0, bottom: 2, right: 1 } }), // 9x7x6
    batchnorm(r, 'bn1', 'c1:0', 6, 1e-5), // the importer's default epsilon, a double: left out, so it comes back exactly
    { op: 'clip', name: 'relu6', inputs: ['bn1:0'], output: 'relu6:0', min: 0, max: 6 },
    conv(r, 'dw', 'relu6:0', 6, 6, { kH: 3, kW: 3, groups: 6, strideH: 2, strideW: 2, pads: { top: 0, left: 0, bottom: 1, right: 1 } }), // 4x3x6
    { op: 'avgpool', name: 'ap', inputs: ['dw:0'], output: 'ap:0', kH: 2, kW: 2, strideH: 1, strideW: 1, pads: { top: 1, left: 1, bottom: 0, right: 0 }, countIncludePad: false },
    { op: 'avgpool', name: 'ap2', inputs: ['dw:0'], output: 'ap2:0', kH: 2, kW: 2, strideH: 1, strideW: 1, pads: { top: 0, left: 0, bottom: 1, right: 1 }, countIncludePad: true },
    { op: 'add', name: 'add1', inputs: ['ap:0', 'ap2:0'], output: 'add1:0' },
    { op: 'maxpool', name: 'mp', inputs: ['add1:0'], output: 'mp:0', kH: 2, kW: 2, strideH: 2, strideW: 2, pads: { top: 0, left: 0, bottom: 1, right: 1 }, countIncludePad: false }, // 2x2x6
    { op: 'clip', name: 'upper', inputs: ['mp:0'], output: 'upper:0', min: -Infinity, max: 0.5 },
    { op: 'concat', name: 'cat', inputs: ['upper:0', 'mp:0'], output: 'cat:0' }, // 2x2x12
    { op: 'flatten', name: 'fl', inputs: ['cat:0'], output: 'fl:0', order: 'chw' }, // read only by an fc: Reshape + Flatten
    conv(r, 'fc1', 'fl:0', 48, 10, { fc: true }),
    { op: 'relu', name: 'r1', inputs: ['fc1:0'], output: 'r1:0' },
    batchnorm(r, 'bnf', 'r1:0', 10, Math.fround(1e-3)), // on a vector
    conv(r, 'fc2', 'bnf:0', 10, 10, { fc: true, bias: new Float32Array(10) }), // no bias written
    { op: 'add', name: 'add2', inputs: ['bnf:0', 'fc2:0'], output: 'add2:0' }, // vector + vector
    { op: 'globalavgpool', name: 'gap', inputs: ['cat:0'], output: 'gap:0' },
    conv(r, 'c2', 'gap:0', 12, 10), // a 1x1 conv on a 1x1 map
    { op: 'add', name: 'add3', inputs: ['add2:0', 'c2:0'], output: 'add3:0' }, // vector + map: both as [N, 10, 1, 1]
    conv(r, 'fc3', 'add3:0', 10, 5, { fc: true }), // a Gemm on a [N, 10, 1, 1] map: Flatten first
    conv(r, 'c3', 'fc2:0', 10, 4), // a conv on a vector: Reshape first
    { op: 'flatten', name: 'fl2', inputs: ['mp:0'], output: 'fl2:0', order: 'hwc' }, // read only by an fc: permuted Gemm weights
    conv(r, 'fc4', 'fl2:0', 24, 5, { fc: true, bias: Float32Array.from({ length: 5 }, (_, i) => (i === 2 ? -0 : 0)) }), // -0: written
    { op: 'flatten', name: 'fl3', inputs: ['dw:0'], output: 'fl3:0', order: 'chw' },
    { op: 'relu', name: 'r3', inputs: ['fl3:0'], output: 'r3:0' },
  ];
  return graphOf('training-ops', { h: 8, w: 8, c: 4 }, nodes, ['fc3:0', 'c2:0', 'fc4:0', 'r3:0', 'c3:0']);
}

/** The importer-only ops: zeros channels, softmax, an 'hwc' flatten read by other than an fc. */
function extendedOpsGraph(): Graph {
  const r = uniform(23);
  const nodes: GraphNode[] = [
    conv(r, 'c', 'x', 3, 5, { kH: 3, kW: 3, pads: { top: 1, left: 1, bottom: 1, right: 1 } }), // 4x4x5
    // As the importer names them: after the Concat reading them, the tensor with '#1'.
    { op: 'zeros', name: 'cat (zeros 1)', inputs: [], output: 'pad#1', shape: { h: 4, w: 4, c: 3 } },
    { op: 'concat', name: 'cat', inputs: ['c:0', 'pad#1'], output: 'cat:0' },
    { op: 'softmax', name: 'sm', inputs: ['cat:0'], output: 'sm:0' },
    { op: 'flatten', name: 'fl', inputs: ['c:0'], output: 'fl:0', order: 'hwc' },
    { op: 'relu', name: 'r', inputs: ['fl:0'], output: 'r:0' },
    conv(r, 'fc', 'r:0', 80, 3, { fc: true }),
    { op: 'softmax', name: 'sm2', inputs: ['fc:0'], output: 'sm2:0' },
  ];
  return graphOf('extended-ops', { h: 4, w: 4, c: 3 }, nodes, ['sm:0', 'r:0', 'sm2:0']);
}

function randomInputs(g: Graph, n: number, seed: number): Float32Array[] {
  const r = uniform(seed);
  const size = g.input.shape.h * g.input.shape.w * g.input.shape.c;
  return Array.from({ length: n }, () => randoms(r, size, -2, 2));
}

test('a graph with every op of the training set and every form change: same graph back, bit-identical runs, onnxruntime-web within 1e-5', async () => {
  const g = trainingOpsGraph();
  const bytes = exportFloatOnnx(g);
  const m = checkStructure(bytes, TRAINING_OPS, 'training-ops');
  const ops = new Set(m.graph.node.map((n) => n.opType));
  for (const op of TRAINING_OPS) if (op !== 'MatMul') assert.ok(ops.has(op), `writes ${op}`);
  // bn1's epsilon is left out, bnf's written; fc2 has no bias, fc4's -0 is kept.
  const node = (name: string) => m.graph.node.find((n) => n.name === name) as onnxProto.onnx.NodeProto;
  assert.is(node('bn1').attribute.length, 0);
  assert.is(node('bnf').attribute[0]!.f, Math.fround(1e-3));
  assert.is(node('fc2').input.length, 2);
  assert.is(node('fc4').input.length, 3);
  assert.equal(node('upper').input.slice(1, 2), ['']);
  const back = assertRoundTrip(g, bytes, 'training-ops');
  assertSameRuns(g, back, randomInputs(g, 4, 1), 'training-ops');
  const worst = await compareWithOrt(bytes, randomInputs(g, 3, 2), 1e-5, 'training-ops');
  console.log(`  training-ops graph: worst relative error vs onnxruntime-web ${worst.toExponential(2)}`);
});

test('zeros, softmax and an hwc flatten read by a relu: InputError naming the node by default, written with extendedOps', async () => {
  const g = extendedOpsGraph();
  throwsInput(() => exportFloatOnnx(g), "'cat (zeros 1)'", 'ConstantOfShape', 'extendedOps');
  throwsInput(() => exportFloatOnnx({ ...g, nodes: g.nodes.slice(0, 1).concat(g.nodes.slice(4)), outputs: g.outputs.slice(1) }), "'fl'", 'Transpose');
  const softmax = graphOf('softmax', { h: 1, w: 1, c: 4 }, [{ op: 'softmax', name: 'sm3', inputs: ['x'], output: 'sm3:0' }], ['sm3:0']);
  throwsInput(() => exportFloatOnnx(softmax), "'sm3'", 'Softmax');
  const bytes = exportFloatOnnx(g, { extendedOps: true });
  checkStructure(bytes, [...TRAINING_OPS, ...EXTENDED_OPS], 'extended-ops');
  const back = assertRoundTrip(g, bytes, 'extended-ops');
  assertSameRuns(g, back, randomInputs(g, 3, 3), 'extended-ops');
  // Batch 1: ConstantOfShape writes [1, C, H, W].
  const worst = await compareWithOrt(bytes, randomInputs(g, 1, 4), 1e-5, 'extended-ops');
  console.log(`  extended-ops graph: worst relative error vs onnxruntime-web ${worst.toExponential(2)}`);
});

test('what the importer cannot tell apart: a flatten of a 1x1 map comes back as an alias, a vector input stays [batch, K]', () => {
  const r = uniform(29);
  const g = graphOf('alias', { h: 1, w: 1, c: 6 }, [
    conv(r, 'c', 'x', 6, 4), // a vector input read by a conv: Reshape to [N, 6, 1, 1]
    { op: 'flatten', name: 'fl', inputs: ['c:0'], output: 'fl:0', order: 'chw' },
    conv(r, 'fc', 'fl:0', 4, 3, { fc: true }),
  ], ['fc:0']);
  const bytes = exportFloatOnnx(g);
  const back = importOnnx(bytes, 'alias');
  assert.equal(back.nodes.map((n) => n.op), ['conv', 'conv']);
  assert.equal(back.nodes[1]!.inputs, ['c:0']);
  assert.equal(back.input.sourceDims, [1, 6]);
  assert.is(back.input.sourceLayout, 'flat');
  assertSameRuns(g, back, randomInputs(g, 2, 5), 'alias');
});

test('nodes that cannot be written and bad options: InputError naming them', () => {
  const r = uniform(31);
  const grouped = graphOf('grouped-fc', { h: 1, w: 1, c: 4 }, [conv(r, 'gfc', 'x', 4, 2, { fc: true, groups: 2 })], ['gfc:0']);
  throwsInput(() => exportFloatOnnx(grouped), "'gfc'", 'Gemm', 'group 1');
  const zerosAdd = graphOf('zeros-add', { h: 2, w: 2, c: 3 }, [
    { op: 'zeros', name: 'z', inputs: [], output: 'z:0', shape: { h: 2, w: 2, c: 3 } },
    { op: 'add', name: 'a', inputs: ['x', 'z:0'], output: 'a:0' },
  ], ['a:0']);
  throwsInput(() => exportFloatOnnx(zerosAdd, { extendedOps: true }), "'z'", "'a' (add)");
  throwsInput(() => exportFloatOnnx(zerosAdd), "'z'", 'extendedOps');
  const g = trainingOpsGraph();
  throwsInput(() => exportFloatOnnx(g, { batch: 0 }), 'batch');
  throwsInput(() => exportFloatOnnx(g, { batch: 'two words' }), 'batch');
  throwsInput(() => exportFloatOnnx({ ...g, nodes: g.nodes.slice(1) }), "'bn1'", 'c1:0');
  // A fixed batch of 1 reads back too.
  const fixed = decode(exportFloatOnnx(g, { batch: 1 }));
  assert.is(Number(fixed.graph.input[0]!.type!.tensorType!.shape!.dim![0]!.dimValue), 1);
  assertRoundTrip(g, exportFloatOnnx(g, { batch: 1 }), 'batch 1');
});

// --- BlazeFace -----------------------------------------------------------------------------

test('BlazeFace (depthwise convs, zero-channel concats, hwc flattens as outputs): InputError by default, round trip with extendedOps', async () => {
  const g = importOnnxFile(BLAZEFACE_MODEL);
  const firstZeros = g.nodes.find((n) => n.op === 'zeros')!;
  throwsInput(() => exportFloatOnnx(g), `'${firstZeros.name}'`, 'ConstantOfShape');
  const bytes = exportFloatOnnx(g, { extendedOps: true });
  const m = checkStructure(bytes, [...TRAINING_OPS, ...EXTENDED_OPS], 'blazeface');
  assert.equal(Object.fromEntries(opCounts(g)), { conv: 37, relu: 17, add: 16, zeros: 11, concat: 11, maxpool: 3, flatten: 4 });
  const count = (op: string): number => m.graph.node.filter((n) => n.opType === op).length;
  assert.equal([count('ConstantOfShape'), count('Transpose'), count('Flatten')], [11, 4, 4]);
  const back = assertRoundTrip(g, bytes, 'blazeface');
  // The input is NCHW now (tf2onnx's was NHWC), the outputs [batch, K].
  assert.is(back.input.sourceLayout, 'nchw');
  assert.equal(back.outputs.map((o) => o.sourceDims), [[1, 512], [1, 384], [1, 8192], [1, 6144]]);
  const inputs = readUint8Images(BLAZEFACE_INPUTS, g.input.shape, BLAZEFACE_RANGE).slice(0, 2);
  assertSameRuns(g, back, inputs, 'blazeface');
  const worst = await compareWithOrt(bytes, inputs.slice(0, 1), 1e-4, 'blazeface');
  console.log(`  blazeface (extendedOps): worst relative error vs onnxruntime-web ${worst.toExponential(2)}`);
});

// --- other readers of the files ----------------------------------------------------------------

test('onnx.checker (full check, with shape inference) accepts the written files', () => {
  if (!pythonOnnx) {
    console.log(`  skipped: ${PYTHON} has no onnx package`);
    return;
  }
  const out = python(
    'import sys, onnx\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n    print("ok", p)\n',
    {
      default: written, pruned: writtenPrunedBn, budgeted: writtenBudgeted,
      training: exportFloatOnnx(trainingOpsGraph()), extended: exportFloatOnnx(extendedOpsGraph(), { extendedOps: true }),
      blazeface: exportFloatOnnx(importOnnxFile(BLAZEFACE_MODEL), { extendedOps: true }),
    },
  );
  assert.is(out.split('\n').filter((l) => l.startsWith('ok ')).length, 6, out);
});

test("tools/train/onnx_torch.py (qat.py's loader) reads the written default and pruned models", () => {
  if (!pythonTorch) {
    console.log('  skipped: no torch or no tools/train/onnx_torch.py');
    return;
  }
  const out = python(
    'import sys\nsys.path.insert(0, ".")\nimport onnx_torch\nfor p in sys.argv[1:]:\n    ir = onnx_torch.load_ir(p)\n    print(" ".join(n.op for n in ir.nodes))\n',
    { default: written, pruned: writtenPrunedBn, budgeted: writtenBudgeted },
    TRAIN_DIR,
  );
  const lines = out.trim().split('\n');
  assert.is(lines.length, 3, out);
  for (const l of lines) assert.is(l, 'conv relu maxpool conv relu maxpool conv relu conv add relu flatten linear', out);
});

test.run();

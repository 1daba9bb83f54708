/**
 * The 'direct-indirect' channel criterion (harness/prune/criteria.ts; Zheng et al.'s idea of a
 * filter's direct and indirect effects, our formulation): hand-built graphs whose ranking is
 * known (a chain, a residual Add into a flatten and an fc in both flatten orders, a batch norm,
 * a depthwise convolution and a concat, a graph output), the folded/unfolded invariance on the
 * default model, and pruning with it (ratio and MACs budget, protected layers) keeping the graph
 * valid: shapes infer and float inference runs.
 * Run: node --import tsx test/prune-zheng.test.ts
 *
 * Accuracy is measured on eval images 1000..1499 (500 images); calibration uses images 0..127.
 */
import { fileURLToPath } from 'node:url';
import { conv, io, pad0 } from './helpers.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ConvNode, type Graph, type GraphNode, inferShapes } from '../harness/model/graph.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { foldBatchNorm } from '../harness/model/fold.ts';
import { argmax, runGraph } from '../harness/model/float-infer.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { CRITERIA, channelScores, checkCriterion, downstreamWeights, l2Norms } from '../harness/prune/criteria.ts';
import { pruneGraph } from '../harness/prune/prune.ts';
import { pruneToMacs } from '../harness/prune/budget.ts';
import { Rng } from '../harness/util/rng.ts';

const order = (s: Float64Array): number[] => [...s.keys()].sort((a, b) => s[a]! - s[b]! || a - b);
const close = (a: number, b: number, what: string, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** OHWI weights of a 1x1 conv from rows W[o][i]. */
const rows = (m: number[][]): number[] => m.flat();

test('the criterion is registered: compress and quantize take --criterion direct-indirect', () => {
  assert.ok((CRITERIA as readonly string[]).includes('direct-indirect'));
  assert.is(checkCriterion('direct-indirect'), 'direct-indirect');
});

test('a chain: equal filters are ranked by the next layer, equal next-layer columns by the filter', () => {
  // A: 1x1, 2 -> 4 with rows of norm 1 (channels 0..3); B: 1x1, 4 -> 2 reading them.
  // B's column norms: c0 = 3, c1 = 0.5, c2 = 4, c3 = 1 -> order 1, 3, 0, 2.
  const A = conv('A', 'x', 'a', 2, 4, 1, rows([[1, 0], [0, 1], [0.6, 0.8], [-1, 0]]));
  const B = conv('B', 'ar', 'y', 4, 2, 1, rows([[3, 0.3, 0, 0.6], [0, 0.4, 4, 0.8]]));
  const g: Graph = { name: 'chain', input: io('x', 2, 2, 2), outputs: [io('y', 2, 2, 2)], nodes: [A, { op: 'relu', name: 'r', inputs: ['a'], output: 'ar' }, B] };
  const s = channelScores(g, 'direct-indirect').get('A')!;
  [3, 0.5, 4, 1].forEach((want, c) => close(s[c]!, want, `A[${c}] = 1 * ||B[:, ${c}]||`));
  assert.equal(order(s), [1, 3, 0, 2]);
  // B is read by the graph output only: an identity layer, so its score is its own L2 norm.
  const sb = channelScores(g, 'direct-indirect').get('B')!;
  close(sb[0]!, Math.hypot(3, 0.3, 0, 0.6), 'B[0]');
  close(sb[1]!, Math.hypot(0, 0.4, 4, 0.8), 'B[1]');

  // Now B reads every channel alike and A's filters differ: the direct norm decides.
  const A2 = { ...A, weights: Float32Array.from(rows([[2, 0], [0, 0.1], [1, 1], [0, 3]])) };
  const B2 = { ...B, weights: Float32Array.from(rows([[1, 1, 1, 1], [1, 1, 1, 1]])) };
  const s2 = channelScores({ ...g, nodes: [A2, g.nodes[1]!, B2] }, 'direct-indirect').get('A')!;
  [2, 0.1, Math.SQRT2, 3].forEach((want, c) => close(s2[c]!, want * Math.SQRT2, `A2[${c}]`));
  assert.equal(order(s2), [1, 2, 0, 3]);
  // L2 alone would rank the first graph's filters as ties: the indirect term is what orders them.
  assert.ok(l2Norms(A).every((v) => Math.abs(v - 1) < 1e-6));
});

/**
 * 3x3x2 input -> A 3x3 conv (4 channels) -> relu -> B 1x1 (4 -> 4) -> add(relu out, B out)
 * -> relu -> flatten (order) -> fc (36 -> 3). A and B meet in the Add: one unit per channel.
 */
function residualGraph(order: 'hwc' | 'chw', fc: Float32Array, A?: ArrayLike<number>, B?: ArrayLike<number>): Graph {
  const r = new Rng(5);
  const w = (n: number): number[] => Array.from({ length: n }, () => r.next() - 0.5);
  const nodes: GraphNode[] = [
    conv('A', 'x', 'a', 2, 4, 3, A ?? w(4 * 9 * 2)),
    { op: 'relu', name: 'ra', inputs: ['a'], output: 'ar' },
    conv('B', 'ar', 'b', 4, 4, 1, B ?? w(16)),
    { op: 'add', name: 'add', inputs: ['ar', 'b'], output: 's' },
    { op: 'relu', name: 'rs', inputs: ['s'], output: 'sr' },
    { op: 'flatten', name: 'flat', inputs: ['sr'], output: 'f', order },
    conv('FC', 'f', 'y', 36, 3, 1, fc, { fc: true, pads: pad0 }),
  ];
  return { name: 'residual', input: io('x', 3, 3, 2), outputs: [io('y', 1, 1, 3)], nodes };
}

test('a residual Add into a flatten and an fc: both branches and both flatten orders counted exactly', () => {
  for (const flat of ['hwc', 'chw'] as const) {
    // fc columns: channel 2's 9 columns carry weight 1 (of 3 outputs), the others 0.01.
    const col = (p: number, c: number): number => (flat === 'hwc' ? p * 4 + c : c * 9 + p);
    const fc = new Float32Array(3 * 36).fill(0.01);
    for (let o = 0; o < 3; o++) for (let p = 0; p < 9; p++) fc[o * 36 + col(p, 2)] = 1;
    const g = residualGraph(flat, fc);
    const [A, B] = [g.nodes[0] as ConvNode, g.nodes[2] as ConvNode];
    const fcSq = (c: number): number => 3 * 9 * (c === 2 ? 1 : 1e-4);
    const bCol = (c: number): number => [0, 1, 2, 3].reduce((s, o) => s + B.weights[o * 4 + c]! ** 2, 0);
    const s = channelScores(g, 'direct-indirect');
    const [da, db] = [l2Norms(A), l2Norms(B)];
    for (let c = 0; c < 4; c++) {
      // A's channel reaches B (column c) and, through the Add, the fc; B's only the fc.
      close(s.get('A')![c]!, da[c]! * Math.sqrt(bCol(c) + fcSq(c)), `${flat}: A[${c}]`, 1e-6);
      close(s.get('B')![c]!, db[c]! * Math.sqrt(fcSq(c)), `${flat}: B[${c}]`, 1e-6);
    }
    // B's channel 2 is the only one the fc reads strongly: it ranks last (most important).
    assert.is(order(s.get('B')!)[3], 2, `${flat}: B[2] most important`);
    // The g of the flatten's source: per channel, the fc columns of every pixel.
    const gs = downstreamWeights(g).get('sr')!;
    [0, 1, 2, 3].forEach((c) => close(gs[c]!, fcSq(c), `${flat}: g(sr)[${c}]`, 1e-6));

    // Pruning half the channels of the {A, B} group removes channels, never channel 2, and the
    // pruned graph stays valid: shapes infer, the fc loses 9 columns per channel, inference runs.
    const pr = pruneGraph(g, { criterion: 'direct-indirect', ratio: 0.5 });
    inferShapes(pr.graph);
    assert.ok(pr.kept.get('A')!.includes(2) && pr.kept.get('B')!.includes(2));
    assert.equal(pr.kept.get('A'), pr.kept.get('B'), 'A and B keep the same channels (residual)');
    assert.equal(pr.kept.get('FC'), [0, 1, 2], 'the fc, protected by default, keeps its outputs');
    assert.is((pr.graph.nodes.find((n) => n.name === 'FC') as ConvNode).inC, 18);
    const y = runGraph(pr.graph, Float32Array.from({ length: 18 }, (_, i) => i / 18)).get('y')!;
    assert.is(y.length, 3);
    assert.ok([...y].every(Number.isFinite));
  }
});

test('a batch norm scales the path once: unfolded and folded graphs score alike (default model)', () => {
  const unfolded = importOnnxFile(FASHION_MNIST_MODEL);
  const folded = foldBatchNorm(unfolded).graph;
  const su = channelScores(unfolded, 'direct-indirect');
  const sf = channelScores(folded, 'direct-indirect');
  assert.is(su.size, 5);
  assert.is(sf.size, 5);
  // Folded names are '<conv>+<batchnorm>'; the fc keeps its name.
  for (const [name, u] of su) {
    const f = [...sf].find(([n]) => n === name || n.startsWith(`${name}+`))![1];
    // Unfolded: ||W|| * sqrt(s^2 g) ; folded: ||s W|| * sqrt(g). Equal up to float32 rounding.
    u.forEach((v, c) => close(v, f[c]!, `${name}[${c}]`, 1e-5));
  }
  // On a hand-made conv + BN: the score moves with gamma / sqrt(var + eps).
  const A = conv('A', 'x', 'a', 1, 2, 1, [1, 1]);
  const bn: GraphNode = { op: 'batchnorm', name: 'bn', inputs: ['a'], output: 'ab', gamma: Float32Array.of(2, -0.5), beta: new Float32Array(2), mean: new Float32Array(2), variance: Float32Array.of(3, 0), epsilon: 1 };
  const s = channelScores({ name: 'bn', input: io('x', 1, 1, 1), outputs: [io('ab', 1, 1, 2)], nodes: [A, bn] }, 'direct-indirect').get('A')!;
  close(s[0]!, 1, 'A[0] = 1 * |2 / sqrt(4)|');
  close(s[1]!, 0.5, 'A[1] = 1 * |-0.5 / sqrt(1)|');
});

test('a depthwise conv multiplies the path by its channel norm; a concat hands each input its slice', () => {
  // P (1x1, 1 -> 2) and Q (1x1, 1 -> 2) concatenated to 4 channels -> depthwise 1x1 D -> R (1x1, 4 -> 1).
  const P = conv('P', 'x', 'p', 1, 2, 1, [1, 1]);
  const Q = conv('Q', 'x', 'q', 1, 2, 1, [1, 1]);
  const D = conv('D', 'pq', 'd', 4, 4, 1, [1, 2, 0.5, 0], { groups: 4 });
  const R = conv('R', 'd', 'y', 4, 1, 1, [1, 1, 3, 3]);
  const g: Graph = {
    name: 'dw', input: io('x', 2, 2, 1), outputs: [io('y', 2, 2, 1)],
    nodes: [P, Q, { op: 'concat', name: 'cat', inputs: ['p', 'q'], output: 'pq' }, D, R],
  };
  const s = channelScores(g, 'direct-indirect');
  assert.not.ok(s.has('D'), 'a depthwise conv is no producer: it carries no score');
  // Channel c of the concat: |D[c]| * |R[0][c]| = 1, 2, 1.5, 0.
  assert.equal([...s.get('P')!].map((v) => +v.toFixed(9)), [1, 2]);
  assert.equal([...s.get('Q')!].map((v) => +v.toFixed(9)), [1.5, 0]);
  const pr = pruneGraph(g, { criterion: 'direct-indirect', ratio: 0.25, protect: [] });
  inferShapes(pr.graph);
  assert.equal(pr.kept.get('Q'), [0], 'the channel whose depthwise filter is zero goes first');
  runGraph(pr.graph, Float32Array.of(1, 2, 3, 4));
});

test('default model: pruning with it (ratio 0.5 and half the MACs) keeps the graph valid, the fc protected, top-1 sane', () => {
  const unfolded = importOnnxFile(FASHION_MNIST_MODEL);
  const folded = foldBatchNorm(unfolded).graph;
  const set = readEvalSet();
  const calibration = Array.from({ length: 128 }, (_, i) => evalInput(set, i));
  const top1 = (g: Graph): number => {
    const shapes = inferShapes(g);
    let ok = 0;
    for (let i = 1000; i < 1500; i++) ok += Number(argmax(runGraph(g, evalInput(set, i), {}, shapes).get('logits')!) === set.labels[i]);
    return ok / 500;
  };
  for (const graph of [unfolded, folded]) {
    const r = pruneGraph(graph, { criterion: 'direct-indirect', ratio: 0.5, calibration });
    inferShapes(r.graph);
    const fcName = graph.nodes.find((n): n is ConvNode => n.op === 'conv' && n.fc)!.name;
    assert.is(r.kept.get(fcName)!.length, 10, 'the protected fc keeps its 10 outputs');
    const fc = r.graph.nodes.find((n): n is ConvNode => n.op === 'conv' && n.fc)!;
    assert.is(fc.inC, 49 * 32);
    // Half of every layer without reconstruction costs any criterion most of its accuracy (l1
    // gives 15.8 % here): only report it. A quarter keeps the model usable.
    console.log(`  direct-indirect ratio 0.5 (${graph === folded ? 'folded' : 'unfolded'}): top-1 ${(100 * top1(r.graph)).toFixed(1)} % on 500 images`);
    const t = top1(pruneGraph(graph, { criterion: 'direct-indirect', ratio: 0.25, calibration }).graph);
    console.log(`  direct-indirect ratio 0.25: top-1 ${(100 * t).toFixed(1)} % on 500 images`);
    assert.ok(t > 0.75, `top-1 ${t}`);
  }
  const m = pruneToMacs(unfolded, { criterion: 'direct-indirect', targetMacsFraction: 0.5, costAware: false, calibration });
  inferShapes(m.graph);
  assert.ok(m.macsAfter <= 0.5 * m.macsBefore);
  console.log(`  direct-indirect to 50 % of the MACs: ${m.macsAfter} of ${m.macsBefore}, top-1 ${(100 * top1(m.graph)).toFixed(1)} % on 500 images`);
  // Protecting conv2 keeps all of its channels.
  const conv2 = unfolded.nodes.find((n) => n.name.startsWith('/conv2'))!.name;
  const p = pruneGraph(unfolded, { criterion: 'direct-indirect', ratio: 0.5, protect: [conv2, fc(unfolded)] });
  assert.is(p.kept.get(conv2)!.length, 32);
  runGraph(p.graph, evalInput(set, 0));
});

test('BlazeFace (depthwise convolutions, zero-padding concats, residual adds, four output heads): every channel scored, pruning keeps the graph valid', () => {
  const bf = importOnnxFile(fileURLToPath(new URL('../models/blazeface/face_detection_front_128x128_barracuda.onnx', import.meta.url)));
  const s = channelScores(bf, 'direct-indirect');
  const dense = bf.nodes.filter((n): n is ConvNode => n.op === 'conv' && n.groups === 1);
  assert.is(s.size, dense.length);
  for (const n of dense) assert.ok(s.get(n.name)!.every((v) => v > 0 && Number.isFinite(v)), `${n.name}: positive, finite scores`);
  const r = pruneGraph(bf, { criterion: 'direct-indirect', ratio: 0.25, roundTo: 8 });
  const shapes = inferShapes(r.graph);
  for (const o of r.graph.outputs) assert.equal(shapes.get(o.name), o.shape, 'the output heads are untouched');
  const x = Float32Array.from({ length: 128 * 128 * 3 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1);
  assert.is(runGraph(r.graph, x, {}, shapes).size, 4);
  assert.ok(r.macsAfter < r.macsBefore);
});

const fc = (g: Graph): string => g.nodes.find((n): n is ConvNode => n.op === 'conv' && n.fc)!.name;

test.run();

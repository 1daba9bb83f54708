/**
 * Structured pruning (harness/prune/): criteria, dependency groups, shape consistency on the
 * default model and BlazeFace, bias compensation, least-squares reconstruction, MACs, errors.
 * Run: node --import tsx test/prune.test.ts
 *
 * Accuracy is measured on eval images 1000..1499 (500 images); calibration uses images 0..127,
 * so the two never overlap.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { type ConvNode, type Graph, type GraphNode, graphMacs, inferShapes } from '../harness/model/graph.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { foldBatchNorm } from '../harness/model/fold.ts';
import { argmax, runGraph } from '../harness/model/float-infer.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { Rng } from '../harness/util/rng.ts';
import { channelScores, fpgmScores, l1Norms, l2Norms } from '../harness/prune/criteria.ts';
import { analyzeChannels } from '../harness/prune/groups.ts';
import { type PruneOptions, type PruneResult, macsSummary, pruneGraph, ridgeSolve } from '../harness/prune/prune.ts';
import { conv, io, pad0, throwsInput } from './helpers.ts';

const BLAZEFACE = fileURLToPath(new URL('../models/blazeface/face_detection_front_128x128_barracuda.onnx', import.meta.url));
const unfolded = importOnnxFile(FASHION_MNIST_MODEL);
const folded = foldBatchNorm(unfolded).graph;
const evalSet = readEvalSet();
const calibration = Array.from({ length: 128 }, (_, i) => evalInput(evalSet, i));
const [CONV1, CONV2, CONV3, CONV4, FC] = folded.nodes.filter((n) => n.op === 'conv').map((n) => n.name) as [string, string, string, string, string];


/** 8x8x3 -> conv A 3x3 (8) -> relu -> conv B 1x1 (4) -> relu -> flatten -> fc (2). */
function smallGraph(seed = 1): Graph {
  const r = new Rng(seed);
  const w = (n: number): number[] => Array.from({ length: n }, () => r.next() * 2 - 1);
  const nodes: GraphNode[] = [
    conv('A', 'x', 'a', 3, 8, 3, w(8 * 9 * 3)),
    { op: 'relu', name: 'ra', inputs: ['a'], output: 'ar' },
    conv('B', 'ar', 'b', 8, 4, 1, w(4 * 8)),
    { op: 'relu', name: 'rb', inputs: ['b'], output: 'br' },
    { op: 'flatten', name: 'flat', inputs: ['br'], output: 'f', order: 'hwc' },
    conv('FC', 'f', 'y', 256, 2, 1, w(2 * 256), { fc: true, pads: pad0 }),
  ];
  return { name: 'small', input: io('x', 8, 8, 3), outputs: [io('y', 1, 1, 2)], nodes };
}

function top1(g: Graph, from = 1000, count = 500): number {
  const shapes = inferShapes(g);
  let ok = 0;
  for (let i = from; i < from + count; i++) ok += Number(argmax(runGraph(g, evalInput(evalSet, i), {}, shapes).get('logits')!) === evalSet.labels[i]);
  return ok / count;
}

/** Mean squared difference of the logits over the given inputs. */
function logitError(a: Graph, b: Graph, inputs: Float32Array[]): number {
  const [sa, sb] = [inferShapes(a), inferShapes(b)];
  let sum = 0;
  let n = 0;
  for (const x of inputs) {
    const ya = runGraph(a, x, {}, sa).get('logits')!;
    const yb = runGraph(b, x, {}, sb).get('logits')!;
    for (let i = 0; i < ya.length; i++) [sum, n] = [sum + (ya[i]! - yb[i]!) ** 2, n + 1];
  }
  return sum / n;
}

/** Every unit of every group is kept in all its members or removed from all of them. */
function assertGroupsConsistent(r: PruneResult): void {
  for (const g of r.analysis.groups)
    for (const u of g.units) {
      const states = u.members.map((m) => r.kept.get(m.layer)!.includes(m.channel));
      assert.ok(states.every((s) => s === states[0]), `unit ${u.id} of group ${g.id}: kept in ${u.members.filter((_, i) => states[i]).map((m) => `${m.layer}[${m.channel}]`).join(', ')} but not in the others`);
    }
}


// --- criteria ------------------------------------------------------------------------------

test('criteria on hand-made filters: L1, L2 and FPGM give the expected values and order', () => {
  // Four 1x1 filters over 4 inputs. L1: 4, 3, 0.1, 0.5; L2: 2, 3, 0.1, 0.5.
  const c = conv('c', 'x', 'y', 4, 4, 1, [1, 1, 1, 1, 3, 0, 0, 0, 0.1, 0, 0, 0, 0, 0.5, 0, 0]);
  assert.equal([...l1Norms(c)].map((v) => +v.toFixed(6)), [4, 3, 0.1, 0.5]);
  assert.equal([...l2Norms(c)].map((v) => +v.toFixed(6)), [2, 3, 0.1, 0.5]);
  const order = (s: Float64Array): number[] => [...s.keys()].sort((a, b) => s[a]! - s[b]!);
  assert.equal(order(l1Norms(c)), [2, 3, 1, 0]);
  assert.equal(order(l2Norms(c)), [2, 3, 0, 1], 'L2 prefers the concentrated filter 1 to the spread filter 0');
  // FPGM on the 2-D points (0,0), (1,0), (0,2), (5,5): sums of distances to the others.
  const p = conv('p', 'x', 'y', 2, 4, 1, [0, 0, 1, 0, 0, 2, 5, 5]);
  const want = [1 + 2 + Math.hypot(5, 5), 1 + Math.hypot(1, 2) + Math.hypot(4, 5), 2 + Math.hypot(1, 2) + Math.hypot(5, 3), Math.hypot(5, 5) + Math.hypot(4, 5) + Math.hypot(5, 3)];
  fpgmScores(p).forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6, `fpgm[${i}] ${v} vs ${want[i]}`));
  assert.equal(order(fpgmScores(p)), [1, 2, 0, 3], 'the filter nearest the geometric median goes first, the outlier last');
});

test('criteria on the model: BN |gamma| needs the unfolded graph; global-local keeps each layer\'s L1 order, in (0, 1]', () => {
  const bn = channelScores(unfolded, 'bn');
  assert.is(bn.size, 4, 'conv1..conv4 have a batch norm, the fc has none');
  const gamma = unfolded.nodes.find((n) => n.op === 'batchnorm')!;
  assert.equal([...bn.get('/conv1/Conv')!], [...(gamma.op === 'batchnorm' ? gamma.gamma : [])].map(Math.abs));
  assert.is(channelScores(folded, 'bn').size, 0);
  const gl = channelScores(folded, 'global-local');
  for (const node of folded.nodes) {
    if (node.op !== 'conv') continue;
    const s = gl.get(node.name)!;
    const l1 = l1Norms(node);
    for (let a = 0; a < s.length; a++) {
      assert.ok(s[a]! > 0 && s[a]! <= 1, `${node.name}[${a}] = ${s[a]}`);
      for (let b = 0; b < s.length; b++) if (l1[a]! < l1[b]!) assert.ok(s[a]! < s[b]!, `${node.name}: order of ${a} and ${b}`);
    }
  }
});

// --- groups and shapes ---------------------------------------------------------------------

test('default model: conv3 and conv4 form one group (residual Add); the fc is protected', () => {
  const a = analyzeChannels(folded);
  assert.equal(a.groups.map((g) => g.layers), [[CONV1], [CONV2], [CONV3, CONV4], [FC]]);
  assert.ok(a.groups[3]!.units.every((u) => u.fixed?.includes('protected')));
  assert.ok(a.groups[2]!.units.every((u) => u.members.length === 2 && u.members[0]!.channel === u.members[1]!.channel));
  assert.ok(a.flattens.size === 1, 'the flatten feeds only the fc');
});

test('default model pruned (folded and unfolded, every criterion): shapes consistent, groups pruned alike', () => {
  for (const [graph, criteria] of [[folded, ['l1', 'l2', 'fpgm', 'global-local']], [unfolded, ['bn', 'l1']]] as const) {
    for (const criterion of criteria) {
      const r = pruneGraph(graph, { criterion, ratio: 0.5, roundTo: 4 });
      inferShapes(r.graph);
      assertGroupsConsistent(r);
      const k3 = r.kept.get(graph.nodes.find((n) => n.name.startsWith('/conv3'))!.name)!;
      const k4 = r.kept.get(graph.nodes.find((n) => n.name.startsWith('/conv4'))!.name)!;
      assert.equal(k3, k4, `${criterion}: conv3 and conv4 keep the same channels`);
      assert.is(k3.length, 32);
      const fc = r.graph.nodes.find((n) => n.op === 'conv' && n.fc) as ConvNode;
      assert.is(fc.inC, 49 * 32, 'the fc loses 49 columns per removed channel');
      assert.is(fc.outC, 10);
      runGraph(r.graph, evalInput(evalSet, 0));
    }
  }
});

test('BlazeFace pruned: residual Adds and channel-padding Concats stay consistent, the graph runs', () => {
  const bf = importOnnxFile(BLAZEFACE);
  const a = analyzeChannels(bf);
  const backbone = a.groups.find((g) => g.layers.length > 10)!;
  assert.ok(backbone.layers.some((l) => l.includes('(zeros')), 'the padding zeros belong to the backbone group');
  const r = pruneGraph(bf, { criterion: 'l1', ratio: 0.25, roundTo: 8 });
  inferShapes(r.graph);
  assertGroupsConsistent(r);
  const name = (s: string): string => bf.nodes.find((n) => n.name.endsWith(`/${s}/BiasAdd`))!.name;
  // conv2d_1 (24) is added to conv2d (24); conv2d_2 (28) is added to [that sum, 4 zeros].
  assert.equal(r.kept.get(name('conv2d_1')), r.kept.get(name('conv2d')));
  assert.equal(r.kept.get(name('conv2d_2'))!.filter((c) => c < 24), r.kept.get(name('conv2d_1')));
  assert.is(r.kept.get(name('conv2d_16'))!.length, 72);
  for (const o of r.graph.outputs) assert.equal(inferShapes(r.graph).get(o.name), o.shape, 'the output heads are untouched');
  const x = Float32Array.from({ length: 128 * 128 * 3 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1);
  const y = runGraph(r.graph, x);
  assert.is(y.size, 4);
  console.log(`  blazeface l1 ratio 0.25 roundTo 8: ${macsSummary(r)}`);
});

test('ratio 0 returns an identical graph (same outputs)', () => {
  for (const g of [folded, unfolded]) {
    const r = pruneGraph(g, { criterion: 'l1', ratio: 0, calibration: calibration.slice(0, 8) });
    assert.is(r.macsAfter, r.macsBefore);
    r.graph.nodes.forEach((n, i) => assert.is(n, g.nodes[i], `node ${n.name} unchanged`));
    for (let i = 0; i < 5; i++) {
      const x = evalInput(evalSet, 1000 + i);
      assert.equal([...runGraph(r.graph, x).get('logits')!], [...runGraph(g, x).get('logits')!]);
    }
  }
});

test('per-layer ratios prune only the named group', () => {
  const r = pruneGraph(folded, { criterion: 'l2', ratio: { [CONV2]: 0.5 } });
  assert.equal([CONV1, CONV2, CONV3, FC].map((n) => r.kept.get(n)!.length), [16, 16, 64, 10]);
  const r2 = pruneGraph(folded, { criterion: 'l2', ratio: { [CONV3]: 0.25, [CONV4]: 0.5 } });
  assert.is(r2.kept.get(CONV4)!.length, 32, 'a group takes the largest ratio of its layers');
});

// --- MACs ----------------------------------------------------------------------------------

test('MACs drop as computed by hand on a small graph', () => {
  const g = smallGraph();
  // A: 8*8 pixels * 8 out * 3*3 * 3 in = 13824; B: 64 * 4 * 8 = 2048; fc: 256 * 2 = 512.
  assert.is(graphMacs(g), 13824 + 2048 + 512);
  const r = pruneGraph(g, { criterion: 'l1', ratio: 0.5 });
  // A keeps 4, B keeps 2: A 64*4*27 = 6912, B 64*2*4 = 512, fc 128*2 = 256.
  assert.is(r.macsBefore, 16384);
  assert.is(r.macsAfter, 6912 + 512 + 256);
  const fc = r.graph.nodes.find((n) => n.name === 'FC') as ConvNode;
  assert.is(fc.inC, 128);
  // The kept fc columns are those of B's kept channels at every pixel.
  const kb = r.kept.get('B')!;
  const orig = g.nodes.find((n) => n.name === 'FC') as ConvNode;
  for (let p = 0; p < 64; p++) kb.forEach((c, j) => assert.is(fc.weights[p * 2 + j], orig.weights[p * 4 + c]));
});

// --- compensation and reconstruction --------------------------------------------------------

test('bias compensation lowers the logit error on calibration data', () => {
  const opts: PruneOptions = { criterion: 'l1', ratio: 0.3, calibration };
  const plain = pruneGraph(folded, { ...opts, biasCompensation: false });
  const comp = pruneGraph(folded, opts);
  const [e0, e1] = [logitError(folded, plain.graph, calibration), logitError(folded, comp.graph, calibration)];
  assert.ok(e1 < e0, `compensated ${e1} vs plain ${e0}`);
  // Where it acts: the output of the first consumer (conv2) when only conv1 is pruned. On the
  // calibration set the compensated error is the plain error minus its squared mean per channel.
  const conv2Out = folded.nodes.find((n) => n.name === CONV2)!.output;
  const layerError = (p: Graph): number => {
    const [sa, sb] = [inferShapes(folded), inferShapes(p)];
    let sum = 0;
    for (const x of calibration) {
      const a = runGraph(folded, x, { keepAll: true }, sa).get(conv2Out)!;
      const b = runGraph(p, x, { keepAll: true }, sb).get(conv2Out)!;
      for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
    }
    return sum / (calibration.length * 14 * 14 * 32);
  };
  const one = { criterion: 'l1', ratio: { [CONV1]: 0.5 }, calibration } as const;
  const [l0, l1] = [layerError(pruneGraph(folded, { ...one, biasCompensation: false }).graph), layerError(pruneGraph(folded, one).graph)];
  console.log(`  l1 ratio 0.3, logit MSE on the 128 calibration images: no compensation ${e0.toFixed(3)}, bias compensation ${e1.toFixed(3)}\n` +
    `  conv1 halved, conv2-output MSE: no compensation ${l0.toFixed(4)}, bias compensation ${l1.toFixed(4)}`);
  assert.ok(l1 < 0.9 * l0, `conv2 output: compensated ${l1} vs plain ${l0}`);
  // On the small graph too (random weights, ReLU activations: the means are positive).
  const g = smallGraph(3);
  const r = new Rng(42);
  const xs = Array.from({ length: 32 }, () => Float32Array.from({ length: 192 }, () => r.next()));
  const err = (p: Graph): number => {
    let s = 0;
    for (const x of xs) {
      const [a, b] = [runGraph(g, x).get('y')!, runGraph(p, x).get('y')!];
      s += (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2;
    }
    return s;
  };
  const small0 = err(pruneGraph(g, { criterion: 'l2', ratio: 0.5 }).graph);
  const small1 = err(pruneGraph(g, { criterion: 'l2', ratio: 0.5, calibration: xs }).graph);
  assert.ok(small1 < small0, `small graph: compensated ${small1} vs plain ${small0}`);
});

test('ridge solve: recovers exact weights (primal and dual forms)', () => {
  const r = new Rng(5);
  for (const [n, k] of [[40, 6], [4, 9]] as const) {
    const m = 2;
    const a = Float64Array.from({ length: n * k }, () => r.next() * 2 - 1);
    const w = Float64Array.from({ length: k * m }, () => r.next() * 2 - 1);
    const y = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) for (let t = 0; t < k; t++) y[i * m + c]! += a[i * k + t]! * w[t * m + c]!;
    // Primal: a tiny ridge recovers w. Dual (under-determined): the fit is exact on the rows.
    const got = ridgeSolve(a, y, new Float64Array(k * m), n, k, m, 1e-10);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < m; c++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a[i * k + t]! * got[t * m + c]!;
        assert.ok(Math.abs(s - y[i * m + c]!) < 1e-6, `n ${n} k ${k}: row ${i} fits to ${Math.abs(s - y[i * m + c]!)}`);
      }
    if (n >= k) got.forEach((v, i) => assert.ok(Math.abs(v - w[i]!) < 1e-6, `weight ${i}`));
  }
});

test('default model at about 50 % of the MACs: top-1 on 500 eval images, with and without reconstruction', () => {
  const base = top1(folded);
  const lines = [`  float top-1 (images 1000..1499): ${(100 * base).toFixed(1)} %`];
  let recon = 0;
  for (const criterion of ['l1', 'fpgm'] as const) {
    const plain = pruneGraph(folded, { criterion, ratio: 0.3, calibration, biasCompensation: false });
    const comp = pruneGraph(folded, { criterion, ratio: 0.3, calibration });
    const rec = pruneGraph(folded, { criterion, ratio: 0.3, calibration, reconstruct: true });
    const [a0, a1, a2] = [top1(plain.graph), top1(comp.graph), top1(rec.graph)];
    lines.push(`  ${criterion} ratio 0.3, ${macsSummary(comp)}: no compensation ${(100 * a0).toFixed(1)} %, bias compensation ${(100 * a1).toFixed(1)} %, + reconstruction ${(100 * a2).toFixed(1)} %`);
    assert.ok(comp.macsAfter < 0.52 * comp.macsBefore && comp.macsAfter > 0.45 * comp.macsBefore);
    assert.ok(a1 > 0.5 && a2 > 0.5, `${criterion}: ${a1}, ${a2}`);
    recon = Math.max(recon, a2);
  }
  console.log(lines.join('\n'));
  assert.ok(recon > 0.8, `reconstruction reaches ${recon}`);
});

// --- errors --------------------------------------------------------------------------------

test('bad input is an InputError saying what is wrong', () => {
  const g = smallGraph();
  for (const ratio of [1, -0.1, Number.NaN, 1.5]) throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio }), 'ratio', '[0, 1)');
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: { A: 1 } }), "'A'", '[0, 1)');
  throwsInput(() => pruneGraph(g, { criterion: 'l3' as never, ratio: 0.5 }), "'l3'", 'l1, l2, bn, fpgm, global-local');
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: { Z: 0.5 } }), "'Z'", 'A, B, FC');
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: 0.5, protect: ['nope'] }), "'nope'");
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: { FC: 0.5 } }), "'FC'", 'protected');
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: 0.9 }), 'every channel', "'B'");
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: 0.5, roundTo: 0 }), 'roundTo');
  throwsInput(() => pruneGraph(g, { criterion: 'bn', ratio: 0.5 }), "'bn'", 'unfolded');
  throwsInput(() => pruneGraph(g, { criterion: 'l1', ratio: 0.5, reconstruct: true }), 'calibration');
});

test.run();

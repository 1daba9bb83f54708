/**
 * Low-rank factorization and vector quantization (harness/lowrank/, harness/pipelines/factorize.ts,
 * `fkb lowrank`): the Jacobi SVD (reconstruction, orthogonality, order, known singular values,
 * rank-deficient and degenerate matrices, the model's largest shapes), k-means++ / Lloyd (known
 * clusters, determinism, exact codebooks), vector quantization (padding, size), the graph
 * transform on hand-built graphs (exact rank, fc after a flatten, which layers stay whole, size
 * and MACs by hand), the default model (float inference and quantization run on the result),
 * and the command line (exit codes 0 and 2).
 * Run: node --import tsx test/lowrank-vq.test.ts
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ConvNode, type Graph, type GraphNode, graphMacs, inferShapes } from '../harness/model/graph.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { runGraph } from '../harness/model/float-infer.ts';
import { FASHION_MNIST_MODEL, evalInput, readEvalSet } from '../harness/model/fashion-mnist.ts';
import { energyKept, reconstruct, svd } from '../harness/lowrank/svd.ts';
import { indexBits, kMeans, vectorQuantize } from '../harness/lowrank/vq.ts';
import { chooseRank, lowRankCompress } from '../harness/lowrank/factorize.ts';
import { factorizeModel } from '../harness/pipelines/factorize.ts';
import { calibrationIndices, quantizeModel } from '../harness/quant/evaluate.ts';
import { runIntGraph } from '../harness/quant/int-graph.ts';
import { quantizeTensor } from '../harness/quant/calibrate.ts';
import { Rng } from '../harness/util/rng.ts';
import { io, throwsInput } from './helpers.ts';

const root = join(import.meta.dirname, '..');

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: rows * cols }, () => r.next() * 2 - 1);
}

function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s);
}

/** max |Q^T Q - I| over the columns of the n x r row-major matrix q. */
function orthogonality(q: Float64Array, n: number, r: number): number {
  let worst = 0;
  for (let a = 0; a < r; a++)
    for (let b = 0; b < r; b++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += q[i * r + a]! * q[i * r + b]!;
      worst = Math.max(worst, Math.abs(d - (a === b ? 1 : 0)));
    }
  return worst;
}

function checkSvd(a: Float64Array, rows: number, cols: number, what: string): ReturnType<typeof svd> {
  const d = svd(a, rows, cols);
  assert.is(d.rank, Math.min(rows, cols), `${what}: rank`);
  const back = reconstruct(d);
  const err = frob(back.map((x, i) => x - a[i]!)) / (frob(a) || 1);
  assert.ok(err < 1e-12, `${what}: ||A - U S V^T|| / ||A|| = ${err}`);
  assert.ok(orthogonality(d.u, rows, d.rank) < 1e-12, `${what}: U^T U = I (${orthogonality(d.u, rows, d.rank)})`);
  assert.ok(orthogonality(d.v, cols, d.rank) < 1e-12, `${what}: V^T V = I (${orthogonality(d.v, cols, d.rank)})`);
  for (let i = 0; i < d.rank; i++) {
    assert.ok(d.s[i]! >= 0, `${what}: s[${i}] >= 0`);
    if (i) assert.ok(d.s[i]! <= d.s[i - 1]!, `${what}: s descending at ${i}`);
  }
  return d;
}

// --- SVD -----------------------------------------------------------------------------------

test('svd: random tall, wide and square matrices (and the model\'s shapes 64x288 and 10x3136) are rebuilt, U and V orthonormal, s descending', () => {
  const shapes: Array<[number, number]> = [[1, 1], [1, 5], [5, 1], [7, 7], [16, 9], [9, 16], [32, 144], [64, 64], [64, 288], [10, 3136]];
  shapes.forEach(([r, c], k) => {
    const d = checkSvd(randomMatrix(r, c, 100 + k), r, c, `${r}x${c}`);
    assert.ok(d.sweeps < 30, `${r}x${c}: ${d.sweeps} sweeps`);
  });
});

test('svd: known singular values; Eckart-Young: the rank-k error is the energy left; rank-deficient and zero matrices', () => {
  // A permuted, signed diagonal: singular values |d|, sorted.
  const a = new Float64Array(4 * 3);
  [[0, 1, -2], [1, 0, 5], [2, 2, 0.5]].forEach(([i, j, v]) => (a[i! * 3 + j!] = v!));
  const d = checkSvd(a, 4, 3, 'diagonal');
  assert.equal([...d.s].map((x) => +x.toFixed(12)), [5, 2, 0.5]);

  // Singular values are the square roots of the eigenvalues of A^T A: for [[3, 0], [4, 5]], 45 and 5.
  const t = checkSvd(Float64Array.of(3, 0, 4, 5), 2, 2, '2x2');
  assert.ok(Math.abs(t.s[0]! - Math.sqrt(45)) < 1e-12 && Math.abs(t.s[1]! - Math.sqrt(5)) < 1e-12, `${[...t.s]}`);

  const m = randomMatrix(12, 20, 7);
  const e = checkSvd(m, 12, 20, '12x20');
  for (const k of [1, 3, 6, 11]) {
    const approx = reconstruct(e, k);
    const err2 = frob(approx.map((x, i) => x - m[i]!)) ** 2 / frob(m) ** 2;
    assert.ok(Math.abs(err2 - (1 - energyKept(e.s, k))) < 1e-12, `rank ${k}: error^2 ${err2} vs 1 - energy ${1 - energyKept(e.s, k)}`);
  }

  // Rank 1: u v^T with ||u|| = 3, ||v|| = 2: s = [6, 0, 0], U and V still orthonormal.
  const u = [1, 2, 2, 0, 0];
  const v = [0, 2, 0];
  const r1 = checkSvd(Float64Array.from({ length: 15 }, (_, i) => u[Math.floor(i / 3)]! * v[i % 3]!), 5, 3, 'rank 1');
  assert.ok(Math.abs(r1.s[0]! - 6) < 1e-12 && r1.s[1] === 0 && r1.s[2] === 0, `${[...r1.s]}`);
  // Equal columns (rank 1 again) and the zero matrix.
  checkSvd(Float64Array.from({ length: 24 }, (_, i) => Math.floor(i / 4) + 1), 6, 4, 'equal columns');
  const z = checkSvd(new Float64Array(12), 3, 4, 'zero');
  assert.equal([...z.s], [0, 0, 0]);
  assert.is(energyKept(z.s, 1), 1);
});

test('svd: bad input is an InputError naming what was expected', () => {
  throwsInput(() => svd([1, 2, 3], 2, 2), 'svd', '4 values', 'got 3');
  throwsInput(() => svd([1, NaN], 1, 2), 'svd', 'element 1', 'finite');
  throwsInput(() => svd([], 0, 2), 'svd', 'positive integers');
});

// --- k-means and vector quantization -------------------------------------------------------

test('k-means++ and Lloyd: three separated blobs are found, the same seed gives the same codebook, K = n is exact', () => {
  const centres = [[0, 0], [10, 0], [0, 10]];
  const r = new Rng(3);
  const pts = new Float64Array(3 * 50 * 2);
  for (let i = 0; i < 150; i++) {
    const c = centres[i % 3]!;
    pts[2 * i] = c[0]! + r.next() - 0.5;
    pts[2 * i + 1] = c[1]! + r.next() - 0.5;
  }
  const km = kMeans(pts, 2, 3, 42);
  const found = [0, 1, 2].map((j) => [km.centroids[2 * j]!, km.centroids[2 * j + 1]!]);
  for (const c of centres) assert.ok(found.some((f) => Math.hypot(f[0]! - c[0]!, f[1]! - c[1]!) < 0.2), `a centroid near ${c}: ${JSON.stringify(found)}`);
  for (let i = 0; i < 150; i++) assert.is(km.assign[i], km.assign[i % 3], `point ${i} with its blob`);
  const again = kMeans(pts, 2, 3, 42);
  assert.equal([...again.centroids], [...km.centroids]);
  assert.equal([...again.assign], [...km.assign]);
  // More iterations never raise the squared error (Lloyd only lowers it).
  assert.ok(kMeans(pts, 2, 3, 7, 1).sse >= kMeans(pts, 2, 3, 7, 50).sse - 1e-12);
  const exact = kMeans(pts, 2, 150, 1);
  assert.ok(exact.sse < 1e-20, `K = n: sse ${exact.sse}`);
  throwsInput(() => kMeans(pts, 2, 151, 1), 'codebook size K', '[1, 150]');
  throwsInput(() => kMeans(pts, 7, 2, 1), 'dimension 7');
});

test('vector quantization: rows cut into d-pieces (short last piece zero-padded), decoded from the codebook, size counted', () => {
  // 3 rows of 5: pieces [0..3], [4] per row -> 6 sub-vectors of d = 4.
  const m = Float32Array.from({ length: 15 }, (_, i) => (i % 5 === 4 ? 9 : i % 5));
  const q = vectorQuantize(m, 3, 5, 4, 2, 1);
  assert.is(q.codebookSize, 2);
  assert.is(q.indices.length, 6);
  // Two distinct sub-vectors, [0, 1, 2, 3] and [9, 0, 0, 0]: both exact.
  assert.equal([...q.decoded], [...m]);
  assert.is(q.bits, 6 * 1 + 32 * 2 * 4);
  assert.equal([indexBits(1), indexBits(2), indexBits(3), indexBits(256), indexBits(257)], [0, 1, 2, 8, 9]);
  // A noisy matrix: more centroids, smaller error.
  const noisy = Float32Array.from(randomMatrix(32, 36, 9));
  const err = (k: number) => frob(vectorQuantize(noisy, 32, 36, 4, k, 1).decoded.map((x, i) => x - noisy[i]!));
  assert.ok(err(16) > err(64) && err(64) > err(256), `${err(16)} ${err(64)} ${err(256)}`);
  throwsInput(() => vectorQuantize(m, 3, 4, 4, 2, 1), '3 x 4', '12 values');
  throwsInput(() => vectorQuantize(m, 3, 5, 0, 2, 1), 'sub-vector length');
});

// --- the graph transform -------------------------------------------------------------------


/** 6x6x3 -> conv A 3x3 s2 (8 filters, rank 2) -> relu -> flatten -> fc (72 -> 6, rank 3) -> relu -> fc (6 -> 2). */
function rankGraph(): Graph {
  const r = new Rng(11);
  const vec = (n: number) => Array.from({ length: n }, () => r.next() - 0.5);
  const lowRank = (rows: number, cols: number, k: number): Float32Array => {
    const [p, q] = [vec(rows * k), vec(k * cols)];
    return Float32Array.from({ length: rows * cols }, (_, i) => {
      let s = 0;
      for (let l = 0; l < k; l++) s += p[Math.floor(i / cols) * k + l]! * q[l * cols + (i % cols)]!;
      return s;
    });
  };
  const pad0 = { top: 0, left: 0, bottom: 0, right: 0 };
  const nodes: GraphNode[] = [
    { op: 'conv', name: 'A', inputs: ['x'], output: 'a', kH: 3, kW: 3, strideH: 2, strideW: 2, pads: { top: 1, left: 1, bottom: 1, right: 1 }, groups: 1, inC: 3, outC: 8, weights: lowRank(8, 27, 2), bias: Float32Array.from(vec(8)), fc: false },
    { op: 'relu', name: 'ra', inputs: ['a'], output: 'ar' },
    { op: 'flatten', name: 'flat', inputs: ['ar'], output: 'f', order: 'chw' },
    { op: 'conv', name: 'F', inputs: ['f'], output: 'h', kH: 1, kW: 1, strideH: 1, strideW: 1, pads: pad0, groups: 1, inC: 72, outC: 6, weights: lowRank(6, 72, 3), bias: Float32Array.from(vec(6)), fc: true },
    { op: 'relu', name: 'rh', inputs: ['h'], output: 'hr' },
    { op: 'conv', name: 'G', inputs: ['hr'], output: 'y', kH: 1, kW: 1, strideH: 1, strideW: 1, pads: pad0, groups: 1, inC: 6, outC: 2, weights: Float32Array.from(vec(12)), bias: Float32Array.from(vec(2)), fc: true },
  ];
  return { name: 'rank', input: io('x', 6, 6, 3), outputs: [io('y', 1, 1, 2)], nodes };
}

test('factorization: exact-rank layers are split into rank-k pairs with the same outputs; a layer that would not shrink stays whole', () => {
  const g = rankGraph();
  const r = lowRankCompress(g, { energy: 1 - 1e-9, codebook: 0 });
  const [A, F, G] = r.layers;
  assert.equal([A!.rank, A!.factorized, F!.rank, F!.factorized, G!.factorized], [2, true, 3, true, false]);
  assert.ok(A!.lowRankError < 1e-6 && F!.lowRankError < 1e-6, `${A!.lowRankError} ${F!.lowRankError}`);
  assert.is(r.compressed, r.lowRank, 'codebook 0: no vector quantization');
  const names = r.lowRank.nodes.filter((n) => n.op === 'conv').map((n) => n.name);
  assert.equal(names, ['A/factor1', 'A/factor2', 'F/factor1', 'F/factor2', 'G']);
  const a1 = r.lowRank.nodes[0] as ConvNode;
  const a2 = r.lowRank.nodes[1] as ConvNode;
  assert.equal([a1.kH, a1.strideH, a1.pads.top, a1.outC, a1.inC], [3, 2, 1, 2, 3], 'factor 1 keeps kernel, stride and pads');
  assert.equal([a2.kH, a2.strideH, a2.pads.top, a2.inC, a2.outC, a2.output], [1, 1, 0, 2, 8, 'a'], 'factor 2 is 1x1 and writes the original tensor');
  assert.equal([...a2.bias], [...(g.nodes[0] as ConvNode).bias]);
  assert.ok((r.lowRank.nodes.find((n) => n.name === 'F/factor1') as ConvNode).fc);
  // Outputs agree with the original graph.
  const shapes = inferShapes(r.lowRank);
  for (let s = 0; s < 5; s++) {
    const x = Float32Array.from(randomMatrix(1, 108, 50 + s));
    const want = runGraph(g, x).get('y')!;
    const got = runGraph(r.lowRank, x, {}, shapes).get('y')!;
    want.forEach((v, i) => assert.ok(Math.abs(v - got[i]!) < 1e-5, `image ${s} output ${i}: ${got[i]} vs ${v}`));
  }
  // Size and MACs by hand. A: 9 output pixels, 8x27 -> 2x27 + 8x2; F: 6x72 -> 3x72 + 6x3.
  assert.is(A!.macsBefore, 9 * 8 * 27);
  assert.is(A!.macsAfter, 9 * (2 * 27 + 8 * 2));
  assert.is(F!.bitsLowRank, 32 * (3 * 72 + 6 * 3 + 6));
  assert.is(r.macs.float, graphMacs(g));
  assert.is(r.macs.lowRank, 9 * (2 * 27 + 16) + 3 * 72 + 18 + 12);
  assert.is(r.bits.float, 32 * (8 * 27 + 8 + 6 * 72 + 6 + 12 + 2));
});

test('factorization: rank ratio and energy choose the rank; vector quantization stores indices + codebook only where smaller', () => {
  assert.is(chooseRank([4, 3, 2, 1], { rankRatio: 0.5, energy: null }), 2);
  assert.is(chooseRank([4, 3, 2, 1], { rankRatio: 0.01, energy: null }), 1, 'at least rank 1');
  assert.is(chooseRank([4, 3, 2, 1], { rankRatio: null, energy: 16 / 30 }), 1);
  assert.is(chooseRank([4, 3, 2, 1], { rankRatio: null, energy: 0.84 }), 3, '(16 + 9) / 30 = 0.833 < 0.84 <= 29 / 30');
  const g = rankGraph();
  const r = lowRankCompress(g, { rankRatio: 0.25, codebook: 4, subvector: 2, seed: 3 });
  const A = r.layers[0]!;
  assert.equal([A.rank, A.factorized], [2, true], 'round(0.25 * 8) = 2');
  // factor1 2x27: 28 sub-vectors of 2 (each row: 13 full + 1 padded), 4 centroids: 28 * 2 + 4 * 2 * 32 = 312 < 32 * 54.
  assert.equal(A.factors.map((f) => f.vq?.codebookSize ?? 'float'), [4, 4]);
  assert.is(A.factors[0]!.bits, 28 * 2 + 4 * 2 * 32);
  // factor2 8x2: 8 sub-vectors: 8 * 2 + 256 = 272 < 32 * 16 = 512.
  assert.is(A.factors[1]!.bits, 8 * 2 + 4 * 2 * 32);
  assert.is(A.bitsAfter, 312 + 272 + 32 * 8);
  // G (2x6, whole): 6 sub-vectors -> 6 * 2 + 256 = 268 < 384: vector-quantized too.
  assert.ok(A.compressedError > A.lowRankError);
  inferShapes(r.compressed);
  runGraph(r.compressed, new Float32Array(108));
  // A codebook as large as the matrix is not smaller than float: every matrix kept float.
  const big = lowRankCompress(g, { energy: 1, codebook: 65536, subvector: 1 });
  assert.ok(big.layers.every((l) => l.factors.every((f) => f.vq === null)));
  assert.is(big.bits.compressed, big.bits.lowRank);
  throwsInput(() => lowRankCompress(g, { energy: 0.9, rankRatio: 0.5 }), 'not both');
  throwsInput(() => lowRankCompress(g, { energy: 0 }), 'energy', '(0, 1]');
  throwsInput(() => lowRankCompress(g, { rankRatio: 1.5 }), 'rank ratio', '(0, 1]');
  throwsInput(() => lowRankCompress(g, { codebook: 1 }), 'codebook size', '[2, 65536]');
  throwsInput(() => lowRankCompress(g, { subvector: 65 }), 'sub-vector length', '[1, 64]');
});

test('default model: the factorized + VQ graph is a float Graph that runs, prunes nothing away, and quantizes to int8', () => {
  const graph = importOnnxFile(FASHION_MNIST_MODEL);
  const set = readEvalSet();
  const r = lowRankCompress(graph, { energy: 0.9 });
  inferShapes(r.compressed);
  assert.ok(r.layers.filter((l) => l.factorized).length >= 3, 'conv2, conv3 and the fc factorized at 90 % energy');
  assert.ok(r.bits.compressed < r.bits.float / 4, `${r.bits.compressed} of ${r.bits.float}`);
  assert.ok(r.macs.lowRank < r.macs.float);
  for (const l of r.layers) assert.ok(l.factorized ? Math.abs(l.lowRankError ** 2 - (1 - l.energy)) < 1e-4 : l.lowRankError === 0, `${l.name}: error^2 = 1 - energy`);
  const y = runGraph(r.compressed, evalInput(set, 300)).get('logits')!;
  assert.is(y.length, 10);
  // The existing quantizer builds an integer graph from it and the reference kernels run it.
  const ig = quantizeModel(r.compressed, set, calibrationIndices(set, 16));
  const codes = runIntGraph(ig, quantizeTensor(evalInput(set, 300), ig.input.params), 'reference');
  assert.is(codes.length, 10);
});

test('pipeline: float, low rank and low rank + VQ measured on the same held-out images (never the first 200)', () => {
  const r = factorizeModel({ images: 120, energy: 0.95 });
  assert.is(r.images, 120);
  assert.is(r.imageSets.measured, '200..319');
  assert.is(r.imageSets.neverMeasured, '0..199');
  for (const p of [r.float, r.lowRank, r.compressed]) assert.ok(p.top1 > 0.5 && p.top1 <= 1 && p.correct === Math.round(p.top1 * 120));
  assert.is(r.float.sizeBits, 1882432, 'the float model: 470,608 weights and biases at 32 bits');
  assert.ok(r.compressed.sizeBits < r.lowRank.sizeBits);
  throwsInput(() => factorizeModel({ images: 1801 }), 'images', '[1, 1800]');
});

// --- command line --------------------------------------------------------------------------

function fkb(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'fkb.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('fkb lowrank: malformed options exit 2 naming the option, without a stack trace; a run exits 0 with its table or JSON', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--rank-ratio', '0'], /--rank-ratio must be a number in \(0, 1\]/],
    [['--energy', '1.5'], /--energy must be a number in \(0, 1\]/],
    [['--energy', '0.9', '--rank-ratio', '0.5'], /either --rank-ratio or --energy/],
    [['--codebook', '1'], /--codebook must be 0/],
    [['--codebook', 'x'], /--codebook/],
    [['--subvector', '0'], /--subvector/],
    [['--seed', '-1'], /--seed/],
    [['--images', '1801'], /images must be an integer in \[1, 1800\]/],
  ];
  for (const [args, want] of bad) {
    const r = fkb(['lowrank', ...args]);
    assert.is(r.code, 2, `fkb lowrank ${args.join(' ')}: exit ${r.code}\n${r.out}`);
    assert.match(r.out, want);
    assert.not.match(r.out, /\n\s+at .+:\d+:\d+\)?/, 'no stack trace');
  }
  const table = fkb(['lowrank', '--images', '40', '--rank-ratio', '0.75', '--codebook', '64']);
  assert.is(table.code, 0, table.out);
  assert.match(table.out, /low rank \(rank ratio 0\.75\), vector quantization K = 64, d = 2, seed 1; top-1 on 40 held-out images/);
  assert.match(table.out, /low rank \+ VQ/);
  const json = fkb(['lowrank', '--images', '40', '--codebook', '0', '--json']);
  assert.is(json.code, 0, json.out);
  const parsed = JSON.parse(json.out) as { images: number; layers: unknown[]; options: { codebook: number; energy: number } };
  assert.equal([parsed.images, parsed.layers.length, parsed.options.codebook, parsed.options.energy], [40, 5, 0, 0.95]);
});

test.run();

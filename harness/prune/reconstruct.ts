/**
 * Least-squares reconstruction of each dense consumer that lost input channels, in graph order
 * (the idea of He, Zhang, Sun, "Channel Pruning for Accelerating Very Deep Neural Networks",
 * ICCV 2017, and Luo et al., ThiNet, ICCV 2017, without their channel selection step). With
 * A = the consumer's im2col input rows in the *pruned* graph (with a trailing 1 for the bias;
 * earlier layers already reconstructed), Y = the same layer's output in the *original* graph
 * (kept output channels) and w0 = the compensated weights and bias, the new weights and bias
 * are ridgeSolve(A, Y, w0) (ridge.ts).
 */
import { runNode } from '../model/float-infer.ts';
import { type ConvNode, type Graph, type GraphNode, type TensorShape, inferShapes } from '../model/graph.ts';
import { ridgeSolve } from './ridge.ts';

/** The consumer's im2col rows on the given inputs (with a trailing 1), sampled to at most maxRows. */
function im2col(node: ConvNode, xs: Float32Array[], s: TensorShape, out: TensorShape, maxRows: number): { a: Float64Array; rows: number[][] } {
  const k = node.kH * node.kW * node.inC + 1;
  const total = xs.length * out.h * out.w;
  const step = Math.max(1, Math.ceil(total / maxRows));
  const picked: number[][] = [];
  for (let r = 0; r < total; r += step) {
    const img = Math.floor(r / (out.h * out.w));
    const p = r % (out.h * out.w);
    picked.push([img, Math.floor(p / out.w), p % out.w]);
  }
  const a = new Float64Array(picked.length * k);
  picked.forEach(([img, oy, ox], row) => {
    const x = xs[img!]!;
    let t = row * k;
    for (let ky = 0; ky < node.kH; ky++)
      for (let kx = 0; kx < node.kW; kx++) {
        const iy = oy! * node.strideH + ky - node.pads.top;
        const ix = ox! * node.strideW + kx - node.pads.left;
        const inside = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
        for (let i = 0; i < node.inC; i++) a[t++] = inside ? x[(iy * s.w + ix) * s.c + i]! : 0;
      }
    a[t] = 1;
  });
  return { a, rows: picked };
}

/** Runs `pruned` over the calibration inputs layer by layer, re-fitting the layers in `fit`. */
export function reconstruct(pruned: Graph, inputs: Float32Array[], fit: Map<string, { targets: Float32Array[]; outKept: number[]; fullC: number }>, ridge: number, maxRows: number): void {
  const shapes = inferShapes(pruned);
  const lastUse = new Map<string, number>();
  pruned.nodes.forEach((node, i) => node.inputs.forEach((name) => lastUse.set(name, i)));
  const tensors = inputs.map((x) => new Map([[pruned.input.name, x]]));
  pruned.nodes.forEach((node, idx) => {
    let run: GraphNode = node;
    const job = fit.get(node.name);
    if (job && node.op === 'conv') {
      const xs = tensors.map((t) => t.get(node.inputs[0]!)!);
      const outShape = shapes.get(node.output)!;
      const { a, rows } = im2col(node, xs, shapes.get(node.inputs[0]!)!, outShape, maxRows);
      const k = node.kH * node.kW * node.inC + 1;
      const m = node.outC;
      const y = new Float64Array(rows.length * m);
      rows.forEach(([img, oy, ox], r) => {
        const t = job.targets[img!]!;
        const base = (oy! * outShape.w + ox!) * job.fullC;
        job.outKept.forEach((o, c) => (y[r * m + c] = t[base + o]!));
      });
      const w0 = new Float64Array(k * m);
      for (let o = 0; o < m; o++) {
        for (let t = 0; t < k - 1; t++) w0[t * m + o] = node.weights[o * (k - 1) + t]!;
        w0[(k - 1) * m + o] = node.bias[o]!;
      }
      const w = ridgeSolve(a, y, w0, rows.length, k, m, ridge);
      const weights = new Float32Array(node.weights.length);
      const bias = new Float32Array(m);
      for (let o = 0; o < m; o++) {
        for (let t = 0; t < k - 1; t++) weights[o * (k - 1) + t] = w[t * m + o]!;
        bias[o] = w[(k - 1) * m + o]!;
      }
      run = { ...node, weights, bias };
      pruned.nodes[idx] = run;
    }
    const inShapes = run.inputs.map((n) => shapes.get(n)!);
    for (const t of tensors) {
      t.set(run.output, runNode(run, run.inputs.map((n) => t.get(n)!), inShapes, shapes.get(run.output)!));
      for (const n of run.inputs) if (lastUse.get(n) === idx) t.delete(n);
    }
  });
}

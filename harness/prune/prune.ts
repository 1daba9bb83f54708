/**
 * Structured (channel) pruning of a float graph (harness/model/graph.ts).
 *
 * 1. Channel units and dependency groups come from groups.ts: a unit is removed from every
 *    layer it appears in (producer output channels, BN parameters, depthwise channels, consumer
 *    input channels, the h*w columns of an fc behind a flatten).
 * 2. A unit's importance is the mean of its producers' channel scores (criteria.ts), zeros
 *    nodes not counted (the mean, not the sum, so that a channel added late in a chain of
 *    channel-padding concats, as in BlazeFace, is not favoured for removal for having fewer
 *    producers).
 * 3. In each dependency group, round(ratio * prunable units) units with the lowest importance
 *    are removed; with `roundTo`, the group's kept unit count is then rounded to the nearest
 *    multiple (at least `roundTo`, never more than it had, never fewer than its fixed units).
 *    The rounding is per group: a group's unit count is its widest tensor's channel count
 *    (for the default model, each layer's); a layer of a BlazeFace padding chain, which carries
 *    only some of its group's units, is not itself rounded.
 * 4. Bias compensation (with calibration inputs): the activation a removed channel carried into
 *    a dense consumer is replaced by its mean over the calibration set (per channel, over all
 *    pixels; per element for an fc input), folded into the consumer's bias:
 *        bias'[o] = bias[o] + sum over removed i of mean[i] * sum over ky, kx of W[o][ky][kx][i]
 *    After a ReLU the mean is positive, so dropping the channel without this shifts every
 *    consumer output. Border taps that read zero padding are not special-cased.
 * 5. Optional least-squares reconstruction of each dense consumer that lost input channels,
 *    in graph order (the idea of He, Zhang, Sun, "Channel Pruning for Accelerating Very Deep
 *    Neural Networks", ICCV 2017, and Luo et al., ThiNet, ICCV 2017, without their channel
 *    selection step). With A = the consumer's im2col input rows in the *pruned* graph (with a
 *    trailing 1 for the bias; earlier layers already reconstructed), Y = the same layer's output
 *    in the *original* graph (kept output channels) and w0 = the compensated weights and bias,
 *        w = argmin ||A w - Y||^2 + lambda ||w - w0||^2,   lambda = ridge * trace(A^T A) / K
 *    solved by Cholesky on the normal equations (A^T A + lambda I) w = A^T Y + lambda w0 when
 *    there are at least as many rows N as unknowns K, else on the equivalent dual system
 *    w = w0 + A^T (A A^T + lambda I)^-1 (Y - A w0). The ridge pulls towards w0 rather than
 *    towards 0, which keeps an under-determined fc (few images, many columns) sensible.
 */
import { type ConvNode, type Graph, type GraphNode, type TensorShape, graphMacs, inferShapes, shapeSize } from '../model/graph.ts';
import { runGraph, runNode } from '../model/float-infer.ts';
import { InputError } from '../util/errors.ts';
import { type Criterion, channelScores, checkCriterion } from './criteria.ts';
import { type ChannelAnalysis, type DependencyGroup, analyzeChannels, defaultProtected, flatIndex, isDepthwise } from './groups.ts';

export interface PruneOptions {
  criterion: Criterion;
  /**
   * Fraction of each dependency group's prunable channels to remove, in [0, 1); or a map from
   * layer name (a dense conv) to such a fraction: a group takes the largest fraction named
   * for any of its layers, unnamed groups are not pruned.
   */
  ratio: number | Record<string, number>;
  /** Round each pruned group's kept channel count to a multiple of this. @default 1 */
  roundTo?: number;
  /** Layers whose output channels are never pruned. @default the last fully connected layer */
  protect?: string[];
  /** Graph inputs (NHWC) measuring mean activations and reconstruction targets. @default [] */
  calibration?: Float32Array[];
  /** Fold removed channels' mean activations into consumer biases (needs calibration). @default true */
  biasCompensation?: boolean;
  /** Least-squares reconstruction of consumers (needs calibration). @default false */
  reconstruct?: boolean;
  /** Relative ridge term of the reconstruction. @default 1e-3 */
  ridge?: number;
  /** Most im2col rows per reconstructed layer (evenly sampled). @default 20000 */
  maxRows?: number;
}

export interface PruneResult {
  graph: Graph;
  /** Kept output channel indices of every producer (dense conv, zeros) and depthwise conv. */
  kept: Map<string, number[]>;
  macsBefore: number;
  macsAfter: number;
  analysis: ChannelAnalysis;
}

function checkRatio(what: string, r: unknown): number {
  if (typeof r !== 'number' || !Number.isFinite(r) || r < 0 || r >= 1) throw new InputError(`${what} must be a number in [0, 1), got ${String(r)}`);
  return r;
}

/** Per group, the ratio it is pruned with. */
function groupRatios(graph: Graph, a: ChannelAnalysis, ratio: PruneOptions['ratio']): Map<DependencyGroup, number> {
  const out = new Map<DependencyGroup, number>();
  if (typeof ratio === 'number' || typeof ratio !== 'object' || ratio === null) {
    const r = checkRatio('ratio', ratio);
    for (const g of a.groups) out.set(g, r);
    return out;
  }
  const convs = new Set(graph.nodes.filter((n) => n.op === 'conv' && !isDepthwise(n)).map((n) => n.name));
  for (const [layer, value] of Object.entries(ratio)) {
    const r = checkRatio(`ratio for '${layer}'`, value);
    if (!convs.has(layer)) throw new InputError(`ratio: no dense convolution named '${layer}' (have: ${[...convs].join(', ')})`);
    const g = a.groupOf.get(layer)!;
    if (r > 0 && !g.units.some((u) => !u.fixed)) {
      throw new InputError(`ratio: layer '${layer}' cannot be pruned (${g.units[0]?.fixed ?? 'no channels'})`);
    }
    out.set(g, Math.max(out.get(g) ?? 0, r));
  }
  return out;
}

/** Unit ids to remove. */
function selectUnits(graph: Graph, a: ChannelAnalysis, options: PruneOptions): Set<number> {
  const criterion = checkCriterion(options.criterion);
  const roundTo = options.roundTo ?? 1;
  if (!Number.isInteger(roundTo) || roundTo < 1) throw new InputError(`roundTo must be a positive integer, got ${String(roundTo)}`);
  const ratios = groupRatios(graph, a, options.ratio);
  const scores = channelScores(graph, criterion);
  const removed = new Set<number>();
  for (const [g, r] of ratios) {
    const prunable = g.units.filter((u) => !u.fixed);
    if (r === 0 || !prunable.length) continue;
    const n = g.units.length;
    let keep = n - Math.round(r * prunable.length);
    if (roundTo > 1) keep = Math.max(roundTo, Math.round(keep / roundTo) * roundTo);
    keep = Math.min(n, Math.max(n - prunable.length, keep));
    const importance = new Map(prunable.map((u) => {
      let s = 0;
      let scored = 0;
      for (const m of u.members) {
        const v = scores.get(m.layer)?.[m.channel];
        if (v !== undefined) [s, scored] = [s + v, scored + 1];
      }
      if (!scored && u.members.some((m) => graph.nodes.find((x) => x.name === m.layer)?.op === 'conv')) {
        throw new InputError(`criterion '${criterion}' gives no score for channel ${u.members[0]!.channel} of '${u.members.map((m) => m.layer).join("', '")}'` +
          (criterion === 'bn' ? ': it needs the unfolded graph, a BatchNormalization right after each pruned convolution' : ''));
      }
      return [u, scored ? s / scored : 0] as const;
    }));
    const order = [...prunable].sort((x, y) => importance.get(x)! - importance.get(y)! || x.id - y.id);
    const cut = order.slice(0, n - keep);
    for (const layer of g.layers) {
      if (graph.nodes.find((x) => x.name === layer)?.op === 'zeros') continue; // an empty padding is dropped
      const left = g.units.filter((u) => !cut.includes(u) && u.members.some((m) => m.layer === layer)).length;
      if (left === 0) throw new InputError(`ratio ${r} would remove every channel of layer '${layer}' (group of ${g.layers.join(', ')}); use a smaller ratio or protect it`);
    }
    for (const u of cut) removed.add(u.id);
  }
  return removed;
}

/** Mean of every channel of every tensor in `names`, over all pixels and calibration inputs. */
interface Measured {
  means: Map<string, Float64Array>;
  targets: Map<string, Float32Array[]>;
}

function measure(graph: Graph, inputs: Float32Array[], meanOf: Set<string>, targetOf: Set<string>): Measured {
  const shapes = inferShapes(graph);
  const means = new Map([...meanOf].map((t) => [t, new Float64Array(shapes.get(t)!.c)]));
  const targets = new Map([...targetOf].map((t) => [t, [] as Float32Array[]]));
  for (const x of inputs) {
    const all = runGraph(graph, x, { keepAll: true }, shapes);
    for (const [t, m] of means) {
      const v = all.get(t)!;
      const c = m.length;
      for (let i = 0; i < v.length; i++) m[i % c]! += v[i]!;
    }
    for (const [t, list] of targets) list.push(all.get(t)!);
  }
  for (const [t, m] of means) {
    const count = inputs.length * shapeSize(shapes.get(t)!) / m.length;
    for (let c = 0; c < m.length; c++) m[c]! /= count;
  }
  return { means, targets };
}

/** A Cholesky factor L (lower, row-major n x n) of a symmetric positive definite matrix, in place. */
function cholesky(m: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j]!;
    for (let k = 0; k < j; k++) d -= m[j * n + k]! ** 2;
    if (!(d > 0)) throw new Error(`reconstruction: normal matrix not positive definite at ${j} (${d})`);
    const l = Math.sqrt(d);
    m[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j]!;
      for (let k = 0; k < j; k++) s -= m[i * n + k]! * m[j * n + k]!;
      m[i * n + j] = s / l;
    }
  }
}

/** Solves L L^T x = b for `cols` right-hand sides stored as b[row * cols + col], in place. */
function cholSolve(l: Float64Array, n: number, b: Float64Array, cols: number): void {
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[i * cols + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k * cols + c]!;
      b[i * cols + c] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * cols + c]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k * cols + c]!;
      b[i * cols + c] = s / l[i * n + i]!;
    }
  }
}

/**
 * Ridge least squares towards w0: rows of A (N x K), targets Y (N x M), w0 (K x M) -> w (K x M).
 */
export function ridgeSolve(a: Float64Array, y: Float64Array, w0: Float64Array, n: number, k: number, m: number, ridge: number): Float64Array {
  let trace = 0;
  for (const v of a) trace += v * v;
  const lambda = ridge * (trace / k || 1);
  if (n >= k) {
    const g = new Float64Array(k * k);
    const rhs = new Float64Array(k * m);
    for (let r = 0; r < n; r++) {
      const row = a.subarray(r * k, (r + 1) * k);
      for (let i = 0; i < k; i++) {
        const ai = row[i]!;
        if (ai === 0) continue;
        for (let j = 0; j <= i; j++) g[i * k + j]! += ai * row[j]!;
        for (let c = 0; c < m; c++) rhs[i * m + c]! += ai * y[r * m + c]!;
      }
    }
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < i; j++) g[j * k + i] = g[i * k + j]!;
      g[i * k + i]! += lambda;
      for (let c = 0; c < m; c++) rhs[i * m + c]! += lambda * w0[i * m + c]!;
    }
    cholesky(g, k);
    cholSolve(g, k, rhs, m);
    return rhs;
  }
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t]! * a[j * k + t]!;
      g[i * n + j] = g[j * n + i] = s + (i === j ? lambda : 0);
    }
  const z = new Float64Array(n * m);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < m; c++) {
      let s = y[r * m + c]!;
      for (let t = 0; t < k; t++) s -= a[r * k + t]! * w0[t * m + c]!;
      z[r * m + c] = s;
    }
  cholesky(g, n);
  cholSolve(g, n, z, m);
  const w = Float64Array.from(w0);
  for (let r = 0; r < n; r++)
    for (let t = 0; t < k; t++) {
      const v = a[r * k + t]!;
      if (v !== 0) for (let c = 0; c < m; c++) w[t * m + c]! += v * z[r * m + c]!;
    }
  return w;
}

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
function reconstruct(pruned: Graph, inputs: Float32Array[], fit: Map<string, { targets: Float32Array[]; outKept: number[]; fullC: number }>, ridge: number, maxRows: number): void {
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

/** A new graph with the selected channels removed (the input graph is not changed). */
export function pruneGraph(graph: Graph, options: PruneOptions): PruneResult {
  const analysis = analyzeChannels(graph, options.protect ?? defaultProtected(graph));
  const removed = selectUnits(graph, analysis, options);
  const keptOf = (tensor: string): number[] => {
    const u = analysis.tensorUnits.get(tensor)!;
    const k: number[] = [];
    u.forEach((id, c) => removed.has(id) || k.push(c));
    return k;
  };
  /** Kept input columns of a dense conv (the fc columns behind a flatten). */
  const inputKept = (tensor: string): number[] => {
    const f = analysis.flattens.get(tensor);
    if (!f) return keptOf(tensor);
    const mask = new Uint8Array(shapeSize(f.shape));
    const pixels = f.shape.h * f.shape.w;
    for (const c of keptOf(f.source)) for (let p = 0; p < pixels; p++) mask[flatIndex(f, p, c)] = 1;
    const k: number[] = [];
    mask.forEach((v, i) => v && k.push(i));
    return k;
  };

  const calibration = options.calibration ?? [];
  const compensate = (options.biasCompensation ?? true) && calibration.length > 0;
  const doFit = (options.reconstruct ?? false) && calibration.length > 0;
  if ((options.reconstruct ?? false) && !calibration.length) throw new InputError('reconstruct needs calibration inputs');
  const touched = graph.nodes.filter((n): n is ConvNode => n.op === 'conv' && n.groups === 1 && inputKept(n.inputs[0]!).length < n.inC);
  const measured = measure(graph, compensate || doFit ? calibration : [], new Set(compensate ? touched.map((n) => n.inputs[0]!) : []), new Set(doFit ? touched.map((n) => n.output) : []));

  const kept = new Map<string, number[]>();
  const nodes = graph.nodes.map((node): GraphNode => {
    switch (node.op) {
      case 'conv': {
        const out = keptOf(node.output);
        kept.set(node.name, out);
        if (isDepthwise(node)) {
          if (out.length === node.outC) return node;
          const per = node.kH * node.kW;
          const weights = new Float32Array(out.length * per);
          out.forEach((c, j) => weights.set(node.weights.subarray(c * per, (c + 1) * per), j * per));
          return { ...node, groups: out.length, inC: out.length, outC: out.length, weights, bias: Float32Array.from(out, (c) => node.bias[c]!) };
        }
        if (node.groups > 1) return node; // fixed by analyzeChannels
        const ins = inputKept(node.inputs[0]!);
        if (ins.length === node.inC && out.length === node.outC) return node;
        const taps = node.kH * node.kW;
        const inKeep = new Uint8Array(node.inC);
        for (const i of ins) inKeep[i] = 1;
        const weights = new Float32Array(out.length * taps * ins.length);
        const bias = new Float32Array(out.length);
        const mean = measured.means.get(node.inputs[0]!);
        out.forEach((o, oj) => {
          let b = node.bias[o]!;
          for (let t = 0; t < taps; t++) {
            const src = (o * taps + t) * node.inC;
            const dst = (oj * taps + t) * ins.length;
            ins.forEach((i, ij) => (weights[dst + ij] = node.weights[src + i]!));
            if (mean) for (let i = 0; i < node.inC; i++) if (!inKeep[i]) b += mean[i]! * node.weights[src + i]!;
          }
          bias[oj] = b;
        });
        return { ...node, inC: ins.length, outC: out.length, weights, bias };
      }
      case 'batchnorm': {
        const k = keptOf(node.output);
        if (k.length === node.gamma.length) return node;
        const pick = (v: Float32Array): Float32Array => Float32Array.from(k, (c) => v[c]!);
        return { ...node, gamma: pick(node.gamma), beta: pick(node.beta), mean: pick(node.mean), variance: pick(node.variance) };
      }
      case 'zeros': {
        const k = keptOf(node.output);
        kept.set(node.name, k);
        return k.length === node.shape.c ? node : { ...node, shape: { ...node.shape, c: k.length } };
      }
      default:
        return node;
    }
  });
  // A channel padding with no channel left is dropped, and so is its place in the concat.
  const empty = new Set(nodes.filter((n) => n.op === 'zeros' && n.shape.c === 0).map((n) => n.output));
  const pruned: Graph = {
    ...graph,
    nodes: nodes.filter((n) => !empty.has(n.output)).map((n) => (n.op === 'concat' && n.inputs.some((i) => empty.has(i)) ? { ...n, inputs: n.inputs.filter((i) => !empty.has(i)) } : n)),
  };
  inferShapes(pruned);
  if (doFit) {
    const fit = new Map(touched.map((n) => [n.name, { targets: measured.targets.get(n.output)!, outKept: kept.get(n.name)!, fullC: n.outC }]));
    reconstruct(pruned, calibration, fit, options.ridge ?? 1e-3, options.maxRows ?? 20000);
  }
  return { graph: pruned, kept, macsBefore: graphMacs(graph), macsAfter: graphMacs(pruned), analysis };
}

/** Multiply-accumulates before and after, and their ratio. */
export function macsSummary(r: PruneResult): string {
  return `MACs ${r.macsBefore} -> ${r.macsAfter} (${((100 * r.macsAfter) / r.macsBefore).toFixed(1)} %)`;
}

/**
 * Structured (channel) pruning of a float graph (harness/model/graph.ts).
 *
 * 1. Channel units and dependency groups come from groups.ts: a unit is removed from every
 *    layer it appears in (producer output channels, BN parameters, depthwise channels, consumer
 *    input channels, the h*w columns of an fc behind a flatten).
 * 2. Which units go: the lowest-importance ones of each dependency group (select-channels.ts).
 * 3. Bias compensation (with calibration inputs): the activation a removed channel carried into
 *    a dense consumer is replaced by its mean over the calibration set (per channel, over all
 *    pixels; per element for an fc input; measure.ts), folded into the consumer's bias:
 *        bias'[o] = bias[o] + sum over removed i of mean[i] * sum over ky, kx of W[o][ky][kx][i]
 *    After a ReLU the mean is positive, so dropping the channel without this shifts every
 *    consumer output. Border taps that read zero padding are not special-cased.
 * 4. Optional least-squares reconstruction of each dense consumer that lost input channels
 *    (reconstruct.ts, ridge.ts).
 */
import { type ConvNode, type Graph, type GraphNode, graphMacs, inferShapes, shapeSize } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { type ChannelAnalysis, analyzeChannels, defaultProtected, flatIndex, isDepthwise } from './groups.ts';
import { measure } from './measure.ts';
import { reconstruct } from './reconstruct.ts';
import { type ChannelSelection, selectUnits } from './select-channels.ts';

export { ridgeSolve } from './ridge.ts';

export interface PruneOptions extends ChannelSelection {
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

/**
 * Channel importance: one score per output channel of every dense convolution (fully
 * connected layers included). Higher = more important; pruning removes the lowest scores.
 * Filter o of a convolution is its OHWI slice W[o][*][*][*] (kH * kW * inC/groups values).
 *
 *  - 'l1':   sum |W[o]|.        Li, Kadav, Durdanovic, Samet, Graf, "Pruning Filters for
 *                               Efficient ConvNets", ICLR 2017 (section 3.1).
 *  - 'l2':   sqrt(sum W[o]^2).  Same paper (section 4.5 compares it with L1).
 *  - 'bn':   |gamma[o]| of the BatchNormalization that reads the convolution's output.
 *            Liu, Li, Shen, Huang, Yan, Zhang, "Learning Efficient Convolutional Networks
 *            through Network Slimming", ICCV 2017. Needs the unfolded graph: a convolution with
 *            no batch norm after it has no score (absent from the map).
 *  - 'fpgm': sum over j of ||W[o] - W[j]||_2 within the layer. He, Liu, Wang, Hu, Yang,
 *            "Filter Pruning via Geometric Median for Deep Convolutional Neural Networks
 *            Acceleration", CVPR 2019: filters near the layer's geometric median are the most
 *            replaceable; the paper ranks them by exactly this sum of distances (its eq. 6-7
 *            approximation), smallest first.
 *  - 'global-local': a combined global+local channel score, our own formulation of the idea
 *            (Sun et al.'s exact formula could not be consulted):
 *                m[o]      = sum |W[o]| / fanIn                  (mean |w|: comparable across layers)
 *                local[o]  = m[o] / max over the layer of m      (in (0, 1])
 *                global[o] = rank of m[o] among all channels of all dense convs, ascending,
 *                            1-based, divided by their count     (in (0, 1])
 *                score[o]  = (local[o] + global[o]) / 2
 *            The local term keeps each layer's own ordering; the global term lets a layer whose
 *            weights are small everywhere lose more when scores are compared across layers.
 *  - 'direct-indirect': a filter's direct effect (its own weights) times its indirect effect
 *            (the weights of the next layers that read its channel). The idea is Zheng et al.'s:
 *            "A novel and efficient model pruning method for deep convolutional neural networks by
 *            evaluating the direct and indirect effects of filters", Neurocomputing 2024 (a
 *            weight-based criterion combining the two effects). Only its abstract could be
 *            consulted, so the formula is our own:
 *                direct[o]   = ||W[o]||_2                            (the filter, as 'l2')
 *                indirect[o] = sqrt(g(out)[o])
 *                score[o]    = direct[o] * indirect[o]
 *            g(t)[c] is the squared weight of every path from channel c of tensor t to the next
 *            weighted layers, summed over paths (downstreamWeights):
 *              - a dense (or grouped) convolution reading t ends a path: it adds
 *                sum over its outputs o' and taps of (s'[o'] W'[o'][ky][kx][c])^2 (an fc behind a
 *                flatten: its columns c*h*w + p or p*C + c for every pixel p, FlattenMap's
 *                flatIndex), s' the scale gamma / sqrt(variance + eps) of a batch norm that alone
 *                reads the convolution's output (what fold.ts folds into W'), else 1;
 *              - channel-preserving ops pass g back unchanged (relu, clip, pools, softmax, the two
 *                inputs of an add: a residual channel collects the paths of both branches),
 *                a concat passes each input its slice, a batch norm scales by
 *                (gamma / sqrt(variance + eps))^2 and a depthwise convolution by ||D[c]||^2;
 *              - a graph output read directly counts as an identity layer (1 per channel), so a
 *                layer before the output (e.g. a protected fc) is ranked by its own norm.
 *            For one path, W' and W[o] meet as the rank-one map W'[:, c] W[o]^T, whose Frobenius
 *            norm is exactly ||W'[:, c]|| * ||W[o]||: the score is the size of what removing
 *            channel o takes out of the two layers (the nonlinearity between them ignored). Batch
 *            norm scales enter where folding would put them, so the folded and unfolded graphs
 *            give the same scores (up to float32 rounding).
 */
import { type ConvNode, type Graph, consumerCounts, inferShapes } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { flatIndex, isDepthwise } from './groups.ts';

export const CRITERIA = ['l1', 'l2', 'bn', 'fpgm', 'global-local', 'direct-indirect'] as const;
export type Criterion = (typeof CRITERIA)[number];

export function checkCriterion(c: unknown): Criterion {
  if (!CRITERIA.includes(c as Criterion)) throw new InputError(`unknown pruning criterion '${String(c)}': use one of ${CRITERIA.join(', ')}`);
  return c as Criterion;
}

function filter(node: ConvNode, o: number): Float32Array {
  const n = node.weights.length / node.outC;
  return node.weights.subarray(o * n, (o + 1) * n);
}

export function l1Norms(node: ConvNode): Float64Array {
  return Float64Array.from({ length: node.outC }, (_, o) => filter(node, o).reduce((s, w) => s + Math.abs(w), 0));
}

export function l2Norms(node: ConvNode): Float64Array {
  return Float64Array.from({ length: node.outC }, (_, o) => Math.sqrt(filter(node, o).reduce((s, w) => s + w * w, 0)));
}

/** FPGM: sum of Euclidean distances from each filter to every other filter of the layer. */
export function fpgmScores(node: ConvNode): Float64Array {
  const f = Array.from({ length: node.outC }, (_, o) => filter(node, o));
  const d = new Float64Array(node.outC);
  for (let a = 0; a < node.outC; a++)
    for (let b = a + 1; b < node.outC; b++) {
      let s = 0;
      for (let i = 0; i < f[a]!.length; i++) s += (f[a]![i]! - f[b]![i]!) ** 2;
      const dist = Math.sqrt(s);
      d[a]! += dist;
      d[b]! += dist;
    }
  return d;
}

/**
 * g(t)[c] for every tensor t of the graph: the summed squared weights of the paths from channel
 * c of t to the next weighted layers (see 'direct-indirect' in the file comment). A flatten
 * output has one entry per vector element.
 */
export function downstreamWeights(graph: Graph): Map<string, Float64Array> {
  const shapes = inferShapes(graph);
  const g = new Map<string, Float64Array>();
  for (const [name, s] of shapes) g.set(name, new Float64Array(s.c));
  for (const out of graph.outputs) g.get(out.name)!.forEach((v, c, a) => (a[c] = v + 1));
  // Squared scale of the batch norm fold.ts would fold into a convolution, by the conv's output.
  const readers = consumerCounts(graph);
  const foldedScale = new Map<string, Float64Array>();
  for (const n of graph.nodes) {
    if (n.op === 'batchnorm' && readers.get(n.inputs[0]!) === 1) foldedScale.set(n.inputs[0]!, Float64Array.from(n.gamma, (v, c) => v ** 2 / (n.variance[c]! + n.epsilon)));
  }
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k]!;
    const y = g.get(node.output)!;
    const x = node.inputs.length ? g.get(node.inputs[0]!)! : undefined;
    switch (node.op) {
      case 'conv': {
        const taps = node.kH * node.kW;
        if (isDepthwise(node)) {
          for (let c = 0; c < node.outC; c++) {
            let n2 = 0;
            for (let t = 0; t < taps; t++) n2 += node.weights[c * taps + t]! ** 2;
            x![c]! += n2 * y[c]!;
          }
          break;
        }
        const inPer = node.inC / node.groups;
        const outPer = node.outC / node.groups;
        const scale = foldedScale.get(node.output);
        for (let o = 0; o < node.outC; o++) {
          const base = Math.floor(o / outPer) * inPer;
          const s2 = scale ? scale[o]! : 1;
          for (let t = 0; t < taps; t++) {
            const row = (o * taps + t) * inPer;
            for (let i = 0; i < inPer; i++) x![base + i]! += s2 * node.weights[row + i]! ** 2;
          }
        }
        break;
      }
      case 'batchnorm':
        for (let c = 0; c < y.length; c++) x![c]! += (node.gamma[c]! ** 2 / (node.variance[c]! + node.epsilon)) * y[c]!;
        break;
      case 'add':
        for (const name of node.inputs) {
          const xi = g.get(name)!;
          for (let c = 0; c < y.length; c++) xi[c]! += y[c]!;
        }
        break;
      case 'concat': {
        let c0 = 0;
        for (const name of node.inputs) {
          const xi = g.get(name)!;
          for (let c = 0; c < xi.length; c++) xi[c]! += y[c0 + c]!;
          c0 += xi.length;
        }
        break;
      }
      case 'flatten': {
        const shape = shapes.get(node.inputs[0]!)!;
        const map = { source: node.inputs[0]!, shape, order: node.order };
        const pixels = shape.h * shape.w;
        for (let c = 0; c < shape.c; c++) for (let p = 0; p < pixels; p++) x![c]! += y[flatIndex(map, p, c)]!;
        break;
      }
      case 'zeros':
        break;
      default: // relu, clip, pools, global average pool, softmax: channel c stays channel c
        for (let c = 0; c < y.length; c++) x![c]! += y[c]!;
    }
  }
  return g;
}

/** Dense convolutions (not depthwise): the layers whose output channels carry a score. */
function denseConvs(graph: Graph): ConvNode[] {
  return graph.nodes.filter((n): n is ConvNode => n.op === 'conv' && !isDepthwise(n));
}

/** Scores per dense convolution name (see the file comment for each criterion). */
export function channelScores(graph: Graph, criterion: Criterion): Map<string, Float64Array> {
  checkCriterion(criterion);
  const convs = denseConvs(graph);
  const scores = new Map<string, Float64Array>();
  switch (criterion) {
    case 'l1':
      for (const c of convs) scores.set(c.name, l1Norms(c));
      break;
    case 'l2':
      for (const c of convs) scores.set(c.name, l2Norms(c));
      break;
    case 'fpgm':
      for (const c of convs) scores.set(c.name, fpgmScores(c));
      break;
    case 'bn': {
      const readers = consumerCounts(graph);
      const producer = new Map(convs.map((c) => [c.output, c]));
      for (const n of graph.nodes) {
        if (n.op !== 'batchnorm') continue;
        const conv = producer.get(n.inputs[0]!);
        if (conv && readers.get(conv.output) === 1) scores.set(conv.name, Float64Array.from(n.gamma, Math.abs));
      }
      break;
    }
    case 'direct-indirect': {
      const g = downstreamWeights(graph);
      for (const c of convs) {
        const after = g.get(c.output)!;
        scores.set(c.name, l2Norms(c).map((d, o) => d * Math.sqrt(after[o]!)));
      }
      break;
    }
    case 'global-local': {
      const mean = new Map(convs.map((c) => [c.name, l1Norms(c).map((v) => v / (c.weights.length / c.outC))]));
      const all = [...mean.values()].flatMap((m) => [...m]).sort((a, b) => a - b);
      // Rank of v = 1-based position of its last occurrence (ties share the highest rank).
      const rank = (v: number): number => {
        let [lo, hi] = [0, all.length];
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (all[mid]! <= v) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      };
      for (const [name, m] of mean) {
        const max = m.reduce((a, b) => Math.max(a, b), 0) || 1;
        scores.set(name, m.map((v) => (v / max + rank(v) / all.length) / 2));
      }
      break;
    }
  }
  return scores;
}

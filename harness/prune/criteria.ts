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
 */
import { type ConvNode, type Graph, consumerCounts } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { isDepthwise } from './groups.ts';

export const CRITERIA = ['l1', 'l2', 'bn', 'fpgm', 'global-local'] as const;
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

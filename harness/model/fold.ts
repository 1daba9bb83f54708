/**
 * Folds every BatchNormalization into the convolution before it.
 *
 * Inference-mode batch norm is a per-channel affine map:
 *
 *     bn(z)[o] = gamma[o] * (z[o] - mean[o]) / sqrt(variance[o] + epsilon) + beta[o]
 *              = s[o] * z[o] + (beta[o] - s[o] * mean[o]),   s[o] = gamma[o] / sqrt(variance[o] + epsilon)
 *
 * and a convolution is z[o] = bias[o] + sum W[o][...] * x[...], so bn(conv(x)) is the
 * convolution with
 *
 *     W'[o][ky][kx][i] = s[o] * W[o][ky][kx][i]
 *     bias'[o]         = s[o] * (bias[o] - mean[o]) + beta[o]
 *
 * computed in float64 and rounded to float32 once. The folded graph differs from the
 * unfolded one only by those roundings (~1e-7 relative per weight).
 *
 * A batch norm is folded when its input is a convolution's output read by nothing else (not by
 * another node, not as a graph output). Any other batch norm (after an Add or a Concat, or
 * after a convolution whose output is also read elsewhere) becomes a depthwise 1x1
 * convolution with weights s and bias beta - s * mean, so the folded graph has no batchnorm
 * node at all and every later stage sees only convolutions.
 */
import { type BatchNormNode, type ConvNode, type Graph, type GraphNode, consumerCounts, inferShapes } from './graph.ts';

/** s[o] = gamma[o] / sqrt(variance[o] + epsilon), in float64. */
function bnScale(bn: BatchNormNode): Float64Array {
  return Float64Array.from(bn.gamma, (g, o) => g / Math.sqrt(bn.variance[o]! + bn.epsilon));
}

/** The convolution `conv` followed by `bn`, as one convolution writing bn's output. */
export function foldIntoConv(conv: ConvNode, bn: BatchNormNode): ConvNode {
  const s = bnScale(bn);
  const perOut = conv.weights.length / conv.outC;
  const weights = Float32Array.from(conv.weights, (w, i) => w * s[Math.floor(i / perOut)]!);
  const bias = Float32Array.from(conv.bias, (b, o) => s[o]! * (b - bn.mean[o]!) + bn.beta[o]!);
  return { ...conv, name: `${conv.name}+${bn.name}`, output: bn.output, weights, bias };
}

/** A batch norm on its own as a depthwise 1x1 convolution. */
export function batchNormAsConv(bn: BatchNormNode, channels: number): ConvNode {
  const s = bnScale(bn);
  return {
    op: 'conv', name: bn.name, inputs: bn.inputs, output: bn.output,
    kH: 1, kW: 1, strideH: 1, strideW: 1, pads: { top: 0, left: 0, bottom: 0, right: 0 },
    groups: channels, inC: channels, outC: channels,
    weights: Float32Array.from(s),
    bias: Float32Array.from(bn.beta, (b, o) => b - s[o]! * bn.mean[o]!),
    fc: false,
  };
}

export interface FoldReport {
  /** Batch norms merged into the convolution before them. */
  folded: number;
  /** Batch norms turned into depthwise 1x1 convolutions. */
  standalone: number;
}

/** A new graph without batchnorm nodes (the input graph is not changed). */
export function foldBatchNorm(graph: Graph): { graph: Graph; report: FoldReport } {
  const shapes = inferShapes(graph);
  const readers = consumerCounts(graph);
  const producer = new Map<string, number>();
  const nodes: Array<GraphNode | null> = [];
  const report: FoldReport = { folded: 0, standalone: 0 };
  for (const node of graph.nodes) {
    if (node.op !== 'batchnorm') {
      producer.set(node.output, nodes.length);
      nodes.push(node);
      continue;
    }
    const input = node.inputs[0]!;
    const at = producer.get(input);
    const prev = at === undefined ? null : nodes[at];
    if (prev && prev.op === 'conv' && readers.get(input) === 1) {
      nodes[at!] = null;
      producer.set(node.output, nodes.length);
      nodes.push(foldIntoConv(prev, node));
      report.folded++;
    } else {
      producer.set(node.output, nodes.length);
      nodes.push(batchNormAsConv(node, shapes.get(input)!.c));
      report.standalone++;
    }
  }
  const folded: Graph = { ...graph, nodes: nodes.filter((n): n is GraphNode => n !== null) };
  inferShapes(folded);
  return { graph: folded, report };
}

/**
 * Bit widths per layer for a low-precision model: weights per convolution, activations per
 * calibrated tensor (calibrate.ts), from two defaults and the field's usual exception
 * (Esser et al., "Learned Step Size Quantization", ICLR 2020, section 3; Zhou et al., DoReFa-Net,
 * 2016): the first convolution and the classifier keep 8-bit weights and 8-bit inputs, because
 * they hold few of the MACs and most of the sensitivity.
 *
 * A convolution's input is a calibrated tensor or inherits one through quantizer-preserving
 * nodes (max/avg pools, flatten, an unfused ReLU/Clip): `quantizerSource` walks back to it, so
 * "the classifier's input" is the add output its flatten reads.
 */
import { foldBatchNorm } from '../model/fold.ts';
import type { Graph } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { calibratedTensors } from './int-graph-build.ts';

export interface BitWidthPolicy {
  /** Weight bits of every convolution (2..8). */
  weightBits: number;
  /** Activation bits of every calibrated tensor (2..8). */
  activationBits: number;
  /**
   * Which ends keep 8-bit weights and 8-bit inputs: 'first' (the convolution reading the graph
   * input) and/or 'last' (the classifier: convolutions whose output no node reads).
   * @default ['first', 'last']
   */
  keep8?: readonly Keep8[];
}

export const KEEP8 = ['first', 'last'] as const;
export type Keep8 = (typeof KEEP8)[number];

/** Parses 'first,last' / 'first' / 'last' / 'none'; InputError naming `what` otherwise. */
export function parseKeep8(text: string, what = '--keep-8bit'): Keep8[] {
  if (text === 'none') return [];
  const parts = text.split(',').map((x) => x.trim());
  for (const x of parts) if (!(KEEP8 as readonly string[]).includes(x)) throw new InputError(`${what} takes first, last, first,last or none, got '${text}'`);
  return [...new Set(parts)] as Keep8[];
}

export interface BitWidths {
  /** By folded convolution name (the integer graph's node names). */
  weightBits: Record<string, number>;
  /** By calibrated tensor name. */
  activationBits: Record<string, number>;
}

/** The calibrated tensor whose quantizer `tensor` carries (itself when calibrated). */
export function quantizerSource(graph: Graph, tensor: string, calibrated: ReadonlySet<string>): string {
  let t = tensor;
  for (let hops = 0; !calibrated.has(t) && hops <= graph.nodes.length; hops++) {
    const producer = graph.nodes.find((n) => n.output === t);
    if (!producer || producer.inputs.length !== 1) break;
    t = producer.inputs[0]!;
  }
  return t;
}

/** Per-layer widths of `graph` (batch norms are folded as the integer graph folds them). */
export function bitWidths(graph: Graph, policy: BitWidthPolicy): BitWidths {
  const g = foldBatchNorm(graph).graph;
  const calibrated = new Set(calibratedTensors(graph));
  const convs = g.nodes.filter((n) => n.op === 'conv');
  const outputs = new Set(g.outputs.map((o) => o.name));
  const ends = new Set<string>();
  const keep8 = policy.keep8 ?? KEEP8;
  if (keep8.includes('first')) {
    const first = convs.find((n) => quantizerSource(g, n.inputs[0]!, calibrated) === g.input.name);
    if (first) ends.add(first.name);
  }
  if (keep8.includes('last')) {
    for (const n of convs) if (outputs.has(n.output) || g.nodes.every((m) => !m.inputs.includes(n.output))) ends.add(n.name);
  }
  const weightBits: Record<string, number> = {};
  const activationBits: Record<string, number> = {};
  for (const t of calibrated) activationBits[t] = policy.activationBits;
  // The graph input is the first convolution's input: 8-bit when that end is kept.
  activationBits[g.input.name] = keep8.includes('first') ? 8 : policy.activationBits;
  for (const n of convs) {
    weightBits[n.name] = ends.has(n.name) ? 8 : policy.weightBits;
    if (ends.has(n.name)) activationBits[quantizerSource(g, n.inputs[0]!, calibrated)] = 8;
  }
  // The graph outputs (logits) stay 8-bit: they are read by the host, not by a DSP.
  for (const o of g.outputs) activationBits[quantizerSource(g, o.name, calibrated)] = 8;
  return { weightBits, activationBits };
}

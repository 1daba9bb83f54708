/**
 * The integer graph's data: its nodes with their quantization constants, its tensors and the
 * options it is built with (int-graph.ts describes each node's integer arithmetic).
 */
import type { ConvProblem, RequantMode } from '../conv/layer.ts';
import type { Pads, TensorShape } from '../model/graph.ts';
import type { QuantizedMultiplier } from '../reference/requant.ts';
import type { QuantParams } from './calibrate.ts';
import type { QuantizedWeights } from './weights.ts';

interface IntNodeBase {
  name: string;
  inputs: string[];
  output: string;
}

export interface IntConv extends IntNodeBase {
  op: 'conv';
  /**
   * The layer with an all-zero input of the right size; each run supplies its own input.
   * With groups > 1 the weights are OHWI with I = inC / groups, so this is not itself a dense
   * problem: the kernels run `perGroup`.
   */
  problem: ConvProblem;
  groups: number;
  /** One dense problem per group (groups = 1: `problem` itself), on channels g*inC/groups... */
  perGroup: ConvProblem[];
  weightBits: number;
  /** Per output channel, w ≈ code * weightScale[o]. */
  weightScale: Float64Array;
  fc: boolean;
  /** The activation fused into the clamp, if any. */
  fused?: 'relu' | 'clip';
}

export interface IntPool extends IntNodeBase {
  op: 'maxpool' | 'avgpool';
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  pads: Pads;
  countIncludePad: boolean;
  /** The input's zero point: a padded pixel's code in a count-include-pad average. */
  zeroPoint: number;
}

export interface IntGlobalAvgPool extends IntNodeBase {
  op: 'globalavgpool';
}

export interface IntAdd extends IntNodeBase {
  op: 'add';
  zeroPointA: number;
  zeroPointB: number;
  multiplierA: QuantizedMultiplier;
  multiplierB: QuantizedMultiplier;
  multiplierOut: QuantizedMultiplier;
  outputZeroPoint: number;
  outputMin: number;
  outputMax: number;
  fused?: 'relu' | 'clip';
}

export interface IntClamp extends IntNodeBase {
  op: 'clamp';
  min: number;
  max: number;
}

export interface IntFlatten extends IntNodeBase {
  op: 'flatten';
  order: 'hwc' | 'chw';
}

export interface IntConcat extends IntNodeBase {
  op: 'concat';
  /** Per input: undefined to copy the codes, else its requantization to the output quantizer. */
  requant: Array<{ zeroPoint: number; multiplier: QuantizedMultiplier } | undefined>;
  outputZeroPoint: number;
  /** The output quantizer's code range. */
  outputMin: number;
  outputMax: number;
}

export interface IntZeros extends IntNodeBase {
  op: 'zeros';
  /** The code of real 0: the reading concat's zero point. */
  code: number;
}

export type IntNode = IntConv | IntPool | IntGlobalAvgPool | IntAdd | IntClamp | IntFlatten | IntConcat | IntZeros;

export interface IntTensor {
  name: string;
  shape: TensorShape;
  params: QuantParams;
}

export interface IntGraph {
  name: string;
  input: IntTensor;
  outputs: IntTensor[];
  nodes: IntNode[];
  /** Shape and quantizer of every tensor the integer graph computes. */
  tensors: Map<string, IntTensor>;
  requantMode: Exclude<RequantMode, 'raw'>;
}

/** The add's left shift (TFLite: 20 for int8). */
export const ADD_LEFT_SHIFT = 20;

export interface IntGraphOptions {
  /** Weight bit width for every convolution, or per node name (others: 8). @default 8 */
  weightBits?: number | Record<string, number>;
  /** @default 'gemmlowp' */
  requantMode?: Exclude<RequantMode, 'raw'>;
  /**
   * Weights of a quantized model (by conv node name): used as given, not quantized from the
   * float weights; their `bits` win over `weightBits`.
   */
  fixedWeights?: ReadonlyMap<string, QuantizedWeights>;
  /** int32 bias codes of a quantized model (by conv node name), in units of inputScale * weightScale[o]. */
  fixedBias?: ReadonlyMap<string, Int32Array>;
}

/**
 * A float graph (harness/model/graph.ts) plus a calibration (calibrate.ts) as an integer graph,
 * and its inference on three convolution backends.
 *
 * Every tensor is int8 codes, NHWC, with an asymmetric quantizer real = scale * (q - zeroPoint).
 * The nodes and their integer arithmetic:
 *
 *  conv       (fully connected layers included) a ConvProblem (harness/conv/layer.ts): weights
 *             per output channel at `weightBits` (weights.ts),
 *             int32 bias = round(bias / (inScale * wScale[o])), multiplier
 *             inScale * wScale[o] / outScale per output channel, requantization `requantMode`
 *             (default 'gemmlowp'), and a clamp [outputMin, outputMax] fused from a ReLU, ReLU6
 *             or Clip that is the convolution's only reader: [max(-128, zp + round(lo / s)),
 *             min(127, zp + round(hi / s))] with ReLU as lo = 0, hi = +inf. The output
 *             quantizer is the calibrated one of the activation's output when fused.
 *             A grouped (e.g. depthwise) convolution runs as `groups` dense problems, one per
 *             group, on the same kernel: the split-convolution engine has no depthwise mode, so
 *             each group's K x K taps are inner products over its inC / groups channels.
 *  maxpool    max of the codes in the window (padded pixels ignored), output quantizer = input
 *             quantizer: exact, because quantization is monotonic.
 *  avgpool,   output quantizer = input quantizer; sum S of the window's codes (a padded pixel
 *  globalavg  counts as the code zeroPoint, i.e. real 0, when countIncludePad) over n pixels,
 *             q = round half away from zero(S / n), computed as trunc((S ± floor(n/2)) / n),
 *             TFLite's integer AveragePool (tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h).
 *  add        TFLite's general int8 Add (tensorflow/lite/kernels/add.cc, PrepareGeneralSubOp, and
 *             reference_integer_ops/add.h), left shift 20:
 *               m = 2 * max(sA, sB);  realA = sA / m;  realB = sB / m;  realOut = m / (2^20 * sOut)
 *               a = (qA - zpA) * 2^20;  b = (qB - zpB) * 2^20
 *               sum = MulQ(a, realA) + MulQ(b, realB)
 *               q = clamp(MulQ(sum, realOut) + zpOut, lo, hi)
 *             where MulQ(x, real) is TFLite MultiplyByQuantizedMultiplier with QuantizeMultiplier(real)
 *             (harness/reference/requant.ts multiplyGemmlowp; for real < 1 it is the
 *             ...SmallerThanOneExp form TFLite uses). A following ReLU/Clip fuses as for conv.
 *  relu, clip (not fused) a clamp of the codes, output quantizer = input quantizer.
 *  flatten    'hwc': a no-op on NHWC codes; 'chw': the same permutation of the codes as in float.
 *  concat     channel concatenation. With one input that is not `zeros` (BlazeFace's channel
 *             padding) the output keeps that input's quantizer and the codes are copied, as
 *             TFLite requires equal quantizers for int8 Concatenation. With several, the output
 *             is calibrated and each input whose quantizer differs is requantized like a
 *             one-operand add: q = clamp(MulQ((q_in - zp_in) * 2^20, s_in / (2^20 * s_out)) + zp_out).
 *  zeros      (only as a concat input: ONNX ConstantOfShape) every code = the concat's zero
 *             point, i.e. real 0 exactly.
 *
 * Not supported (InputError naming the node): softmax, zeros read by anything but a concat,
 * batchnorm that foldBatchNorm could not fold.
 *
 * Backends for the convolutions (everything else is the TypeScript above in all three):
 *  - 'reference': harness/reference/conv.ts referenceConv, the exact integer oracle;
 *  - 'wasm':      the SIMD split-convolution kernel WASM_VARIANT from the 'simd' module;
 *  - 'dsp':       the packed-DSP kernel DSP_VARIANT with DSP_CONFIG (int8x8, chain 16, cascade
 *                 decode), which equals the packed engine model and may differ from exact where a
 *                 lane overflows.
 * 'reference' and 'wasm' must agree bit for bit (test/quant.test.ts proves it).
 */
import { type ConvProblem, type RequantMode, macs as convMacs, outputSize, validateProblem } from '../conv/layer.ts';
import type { PackedConvConfig } from '../dsp/packed-conv.ts';
import { foldBatchNorm } from '../model/fold.ts';
import { poolWindows } from '../model/float-infer.ts';
import { type ConvNode, type Graph, type GraphNode, type Pads, type TensorShape, consumerCounts, inferShapes, nhwcToNchw, placeChannels, shapeSize } from '../model/graph.ts';
import { referenceConv } from '../reference/conv.ts';
import { type QuantizedMultiplier, multiplyGemmlowp, quantizeMultiplier, roundHalfAwayFromZero } from '../reference/requant.ts';
import { DSPCONV_VARIANTS, type DspConvVariant } from '../registry/dspconv.ts';
import { type SplitConvVariant, findVariant } from '../registry/splitconv.ts';
import { InputError } from '../util/errors.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { type Calibration, type QuantParams, QMAX, QMIN } from './calibrate.ts';
import { quantizeBias, quantizeConvWeights } from './weights.ts';

export const BACKENDS = ['reference', 'wasm', 'dsp'] as const;
export type Backend = (typeof BACKENDS)[number];

export const WASM_VARIANT = 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8';
export const DSP_VARIANT = 'qs8_dsppack_conv_2x8c2__wasmsimd_dot16x8';
export const DSP_CONFIG: PackedConvConfig = { scheme: 'int8x8', chain: 16, decode: 'cascade' };

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
}

/** The activation that reads `tensor` and nothing else does, when it can be fused into a clamp. */
function fusableActivation(graph: Graph, tensor: string, readers: Map<string, number>): Extract<GraphNode, { op: 'relu' | 'clip' }> | undefined {
  if (readers.get(tensor) !== 1 || graph.outputs.some((o) => o.name === tensor)) return undefined;
  const next = graph.nodes.find((n) => n.inputs.includes(tensor));
  return next && (next.op === 'relu' || next.op === 'clip') ? next : undefined;
}

/** Tensors whose quantizer comes from calibration (the others inherit their input's). */
export function calibratedTensors(graph: Graph): string[] {
  const g = foldBatchNorm(graph).graph;
  const readers = consumerCounts(g);
  const names = [g.input.name];
  const zeros = zerosTensors(g);
  for (const n of g.nodes) {
    if (n.op === 'conv' || n.op === 'add') names.push(fusableActivation(g, n.output, readers)?.output ?? n.output);
    if (n.op === 'concat' && n.inputs.filter((t) => !zeros.has(t)).length > 1) names.push(n.output);
  }
  return names;
}

/** Outputs of `zeros` nodes. */
function zerosTensors(g: Graph): Set<string> {
  return new Set(g.nodes.filter((n) => n.op === 'zeros').map((n) => n.output));
}

function clampFor(act: Extract<GraphNode, { op: 'relu' | 'clip' }> | undefined, p: QuantParams): [number, number] {
  if (!act) return [QMIN, QMAX];
  const lo = act.op === 'relu' ? 0 : act.min;
  const hi = act.op === 'relu' ? Infinity : act.max;
  const qlo = Math.max(QMIN, Math.min(QMAX, p.zeroPoint + roundHalfAwayFromZero(lo / p.scale)));
  const qhi = Number.isFinite(hi) ? Math.max(QMIN, Math.min(QMAX, p.zeroPoint + roundHalfAwayFromZero(hi / p.scale))) : QMAX;
  return [qlo, Math.max(qlo, qhi)];
}

/** The integer graph of a float graph (batch norms are folded first) and its calibration. */
export function buildIntGraph(graph: Graph, calibration: Calibration, options: IntGraphOptions = {}): IntGraph {
  const g = foldBatchNorm(graph).graph;
  const shapes = inferShapes(g);
  const readers = consumerCounts(g);
  const requantMode = options.requantMode ?? 'gemmlowp';
  if (!(['gemmlowp', 'single', 'fp32'] as const).includes(requantMode)) {
    throw new InputError(`requantization mode must be gemmlowp, single or fp32, got '${String(requantMode)}'`);
  }
  const bitsFor = (name: string): number => {
    const b = options.weightBits;
    if (b === undefined) return 8;
    if (typeof b === 'number') return b;
    return b[name] ?? 8;
  };
  const tensors = new Map<string, IntTensor>();
  const calibrated = (name: string, node: string): QuantParams => {
    const p = calibration.params.get(name);
    if (!p) throw new InputError(`node '${node}': tensor '${name}' has no calibrated quantizer`);
    return p;
  };
  const param = (name: string): QuantParams => tensors.get(name)!.params;
  const def = (name: string, params: QuantParams): void => void tensors.set(name, { name, shape: shapes.get(name)!, params });
  def(g.input.name, calibrated(g.input.name, 'input'));

  const skip = new Set<GraphNode>();
  const nodes: IntNode[] = [];
  const zeros = zerosTensors(g);
  /** A conv's or add's output with a following ReLU/Clip fused: the activation, the tensor written and its calibrated quantizer. */
  const fusedOutput = (node: GraphNode) => {
    const act = fusableActivation(g, node.output, readers);
    if (act) skip.add(act);
    const output = act?.output ?? node.output;
    const out = calibrated(output, node.name);
    def(output, out);
    return { act, output, out };
  };
  for (const node of g.nodes) {
    if (skip.has(node)) continue;
    switch (node.op) {
      case 'zeros': {
        // Emitted by the concat that reads it, once that concat's quantizer is known.
        const bad = g.nodes.find((n) => n.inputs.includes(node.output) && n.op !== 'concat');
        if (bad || g.outputs.some((o) => o.name === node.output)) {
          throw new InputError(`node '${node.name}' (zeros): the integer graph supports zeros only as channel padding read by a concat, but ${bad ? `'${bad.name}' (${bad.op})` : 'the graph output'} reads it`);
        }
        break;
      }
      case 'concat': {
        const live = node.inputs.filter((t) => !zeros.has(t));
        if (live.length === 0) throw new InputError(`node '${node.name}' (concat): every input is zeros; there is nothing to quantize`);
        const out = live.length === 1 ? param(live[0]!) : calibrated(node.output, node.name);
        def(node.output, out);
        for (const t of node.inputs.filter((x) => zeros.has(x))) {
          const prior = tensors.get(t);
          if (prior && prior.params.zeroPoint !== out.zeroPoint) {
            throw new InputError(`node '${node.name}' (concat): zeros '${t}' is also read by a concat with another zero point`);
          }
          if (prior) continue;
          def(t, out);
          nodes.push({ op: 'zeros', name: `${node.name}/${t}`, inputs: [], output: t, code: out.zeroPoint });
        }
        const requant = node.inputs.map((t) => {
          if (zeros.has(t)) return undefined;
          const p = param(t);
          if (p.scale === out.scale && p.zeroPoint === out.zeroPoint) return undefined;
          return { zeroPoint: p.zeroPoint, multiplier: quantizeMultiplier(p.scale / (2 ** ADD_LEFT_SHIFT * out.scale), 'gemmlowp') };
        });
        nodes.push({ op: 'concat', name: node.name, inputs: node.inputs, output: node.output, requant, outputZeroPoint: out.zeroPoint });
        break;
      }
      case 'conv': {
        const { act, output, out } = fusedOutput(node);
        nodes.push(intConv(node, shapes.get(node.inputs[0]!)!, param(node.inputs[0]!), out, act, bitsFor(node.name), requantMode, output));
        break;
      }
      case 'add': {
        const { act, output, out } = fusedOutput(node);
        const [a, b] = [param(node.inputs[0]!), param(node.inputs[1]!)];
        const twiceMax = 2 * Math.max(a.scale, b.scale);
        const [lo, hi] = clampFor(act, out);
        nodes.push({
          op: 'add', name: node.name, inputs: node.inputs, output,
          zeroPointA: a.zeroPoint, zeroPointB: b.zeroPoint,
          multiplierA: quantizeMultiplier(a.scale / twiceMax, 'gemmlowp'),
          multiplierB: quantizeMultiplier(b.scale / twiceMax, 'gemmlowp'),
          multiplierOut: quantizeMultiplier(twiceMax / (2 ** ADD_LEFT_SHIFT * out.scale), 'gemmlowp'),
          outputZeroPoint: out.zeroPoint, outputMin: lo, outputMax: hi,
          ...(act ? { fused: act.op } : {}),
        });
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const p = param(node.inputs[0]!);
        def(node.output, p);
        const { kH, kW, strideH, strideW, pads, countIncludePad } = node;
        nodes.push({ op: node.op, name: node.name, inputs: node.inputs, output: node.output, kH, kW, strideH, strideW, pads, countIncludePad, zeroPoint: p.zeroPoint });
        break;
      }
      case 'globalavgpool':
        def(node.output, param(node.inputs[0]!));
        nodes.push({ op: 'globalavgpool', name: node.name, inputs: node.inputs, output: node.output });
        break;
      case 'relu':
      case 'clip': {
        const p = param(node.inputs[0]!);
        def(node.output, p);
        const [min, max] = clampFor(node, p);
        nodes.push({ op: 'clamp', name: node.name, inputs: node.inputs, output: node.output, min, max });
        break;
      }
      case 'flatten':
        def(node.output, param(node.inputs[0]!));
        nodes.push({ op: 'flatten', name: node.name, inputs: node.inputs, output: node.output, order: node.order });
        break;
      default:
        throw new InputError(`node '${node.name}' (${node.op}): the integer graph does not support this op`);
    }
  }
  return {
    name: g.name,
    input: tensors.get(g.input.name)!,
    outputs: g.outputs.map((o) => {
      const t = tensors.get(o.name);
      if (!t) throw new InputError(`graph output '${o.name}' is not computed by the integer graph`);
      return t;
    }),
    nodes,
    tensors,
    requantMode,
  };
}

function intConv(
  node: ConvNode, inShape: TensorShape, inP: QuantParams, outP: QuantParams,
  act: Extract<GraphNode, { op: 'relu' | 'clip' }> | undefined, bits: number, mode: Exclude<RequantMode, 'raw'>, output: string,
): IntConv {
  const w = quantizeConvWeights(node, bits);
  const bias = quantizeBias(node.bias, inP.scale, w.scale, node.name);
  const [outputMin, outputMax] = clampFor(act, outP);
  const problem: ConvProblem = {
    shape: {
      inH: inShape.h, inW: inShape.w, inC: node.inC, outC: node.outC, kH: node.kH, kW: node.kW,
      strideH: node.strideH, strideW: node.strideW,
      padTop: node.pads.top, padBottom: node.pads.bottom, padLeft: node.pads.left, padRight: node.pads.right,
    },
    inputZeroPoint: inP.zeroPoint,
    input: new Int8Array(shapeSize(inShape)),
    weights: w.codes,
    bias,
    requant: { mode, scale: Float64Array.from(w.scale, (s) => (inP.scale * s) / outP.scale), outputZeroPoint: outP.zeroPoint, outputMin, outputMax },
  };
  const perGroup = node.groups === 1 ? [problem] : Array.from({ length: node.groups }, (_, k) => groupProblem(problem, node.groups, k));
  try {
    perGroup.forEach((p) => validateProblem(p));
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`node '${node.name}' (conv): ${e.message}`);
    throw e;
  }
  return {
    op: 'conv', name: node.name, inputs: node.inputs, output, problem, groups: node.groups, perGroup, weightBits: bits, weightScale: w.scale, fc: node.fc,
    ...(act ? { fused: act.op } : {}),
  };
}

/** Group k of a grouped layer as a dense problem: its inC/groups input and outC/groups output channels. */
function groupProblem(p: ConvProblem, groups: number, k: number): ConvProblem {
  const inC = p.shape.inC / groups;
  const outC = p.shape.outC / groups;
  const perOut = p.shape.kH * p.shape.kW * inC;
  const r = p.requant;
  return {
    shape: { ...p.shape, inC, outC },
    inputZeroPoint: p.inputZeroPoint,
    input: new Int8Array(p.shape.inH * p.shape.inW * inC),
    weights: p.weights.slice(k * outC * perOut, (k + 1) * outC * perOut),
    bias: p.bias.slice(k * outC, (k + 1) * outC),
    requant: r.mode === 'raw' ? r : { ...r, scale: Float64Array.from({ length: outC }, (_, o) => r.scale[k * outC + o]!) },
  };
}

/** Channels [c0, c0 + n) of an NHWC tensor with c channels per pixel. */
function sliceChannels(x: Int8Array, pixels: number, c: number, c0: number, n: number): Int8Array {
  if (n === c) return x;
  const y = new Int8Array(pixels * n);
  for (let p = 0; p < pixels; p++) for (let j = 0; j < n; j++) y[p * n + j] = x[p * c + c0 + j]!; // plain loops, as placeChannels
  return y;
}

/** Multiply-accumulates of the integer graph's convolutions. */
export function intGraphMacs(g: IntGraph): number {
  return g.nodes.reduce((n, node) => n + (node.op === 'conv' ? node.perGroup.reduce((m, p) => m + convMacs(p.shape), 0) : 0), 0);
}

// --- inference -------------------------------------------------------------------------------

/** Runs group `group` of a convolution (its perGroup problem) on that group's input channels. */
type GroupRun = (node: IntConv, group: number, input: Int8Array) => Int8Array;

/** Kernel runners per integer graph and backend, built on first use (weights packed once). */
const sessions = new WeakMap<IntGraph, Map<Backend, GroupRun>>();

function wasmVariant(): SplitConvVariant {
  const v = findVariant(WASM_VARIANT);
  if (!v) throw new Error(`${WASM_VARIANT} is not registered`);
  return v;
}

function dspVariant(): DspConvVariant {
  const v = DSPCONV_VARIANTS.find((x) => x.name === DSP_VARIANT);
  if (!v) throw new Error(`${DSP_VARIANT} is not registered`);
  return v;
}

/**
 * One WASM instance per layer. A grouped layer's groups share it: each group re-loads its
 * weights (setWeights), which costs a pack of kH*kW*inC/groups bytes per output channel.
 */
function kernelRunner(variant: SplitConvVariant | DspConvVariant, dsp?: PackedConvConfig): GroupRun {
  const kernel = modulesFor(variant).find((k) => k.name === 'simd');
  if (!kernel) throw new InputError(`${variant.name}: the 'simd' WASM module is not usable on this engine (run 'npm run build')`);
  const runners = new Map<IntConv, { runner: KernelRunner; group: number }>();
  return (node, group, input) => {
    const problem = node.perGroup[group]!;
    let r = runners.get(node);
    if (!r) {
      r = { runner: new KernelRunner(variant, kernel, { ...problem, input }, dsp), group };
      runners.set(node, r);
    } else {
      if (r.group !== group) r.runner.setWeights(problem);
      r.group = group;
      r.runner.setInput(input);
    }
    r.runner.run();
    return r.runner.output() as Int8Array;
  };
}

function groupRunner(g: IntGraph, backend: Backend): GroupRun {
  let perGraph = sessions.get(g);
  if (!perGraph) sessions.set(g, (perGraph = new Map()));
  let run = perGraph.get(backend);
  if (run) return run;
  switch (backend) {
    case 'reference':
      run = (node, group, input) => referenceConv({ ...node.perGroup[group]!, input }) as Int8Array;
      break;
    case 'wasm':
      run = kernelRunner(wasmVariant());
      break;
    case 'dsp':
      run = kernelRunner(dspVariant(), DSP_CONFIG);
      break;
    default:
      throw new InputError(`backend must be one of ${BACKENDS.join(', ')}, got '${String(backend)}'`);
  }
  perGraph.set(backend, run);
  return run;
}

/** A convolution on NHWC codes: the dense problem, or each group on its channel slice. */
function runConv(node: IntConv, input: Int8Array, run: GroupRun): Int8Array {
  if (node.groups === 1) return run(node, 0, input);
  const s = node.problem.shape;
  const { outH, outW } = outputSize(s);
  const inC = s.inC / node.groups;
  const outC = s.outC / node.groups;
  const y = new Int8Array(outH * outW * s.outC);
  for (let k = 0; k < node.groups; k++) {
    const part = run(node, k, sliceChannels(input, s.inH * s.inW, s.inC, k * inC, inC));
    placeChannels(y, part, outH * outW, s.outC, k * outC, outC);
  }
  return y;
}

function pool(node: IntPool, x: Int8Array, xs: TensorShape, ys: TensorShape): Int8Array {
  const area = node.kH * node.kW;
  const finish =
    node.op === 'maxpool'
      ? (acc: number) => acc
      : (acc: number, inside: number) => {
          // count_include_pad: a padded pixel holds the input's zero point (real value 0).
          if (!node.countIncludePad) return roundedDivide(acc, inside);
          return roundedDivide(acc + (area - inside) * node.zeroPoint, area);
        };
  return poolWindows(node, x, xs, ys, new Int8Array(shapeSize(ys)), finish);
}

/** round half away from zero(sum / n) for integers, n > 0: trunc((sum ± floor(n/2)) / n). */
export function roundedDivide(sum: number, n: number): number {
  const half = Math.floor(n / 2);
  return Math.trunc((sum >= 0 ? sum + half : sum - half) / n);
}

/**
 * MulQ((q - zeroPoint) * 2^ADD_LEFT_SHIFT, m) for every int8 code q (index q + 128). The exact
 * BigInt arithmetic of requant.ts is slow per element, and an int8 operand has only 256 values;
 * each table is computed once (adds and concats of one graph share quantizers).
 */
const codeTables = new Map<string, Int32Array>();
function codeTable(zeroPoint: number, m: QuantizedMultiplier): Int32Array {
  const key = `${zeroPoint} ${m.multiplier} ${m.shift}`;
  let t = codeTables.get(key);
  if (!t) codeTables.set(key, (t = Int32Array.from({ length: 256 }, (_, i) => multiplyGemmlowp((i - 128 - zeroPoint) * 2 ** ADD_LEFT_SHIFT, m))));
  return t;
}

/** Per add node: both operand tables, and the requantized output of each sum seen so far. */
const addCache = new WeakMap<IntAdd, { a: Int32Array; b: Int32Array; out: Map<number, number> }>();
function addTables(node: IntAdd): { a: Int32Array; b: Int32Array; out: Map<number, number> } {
  let t = addCache.get(node);
  if (!t) addCache.set(node, (t = { a: codeTable(node.zeroPointA, node.multiplierA), b: codeTable(node.zeroPointB, node.multiplierB), out: new Map() }));
  return t;
}

/** One non-convolution node on int8 codes. */
function runOther(node: Exclude<IntNode, IntConv>, inputs: Int8Array[], inShapes: TensorShape[], outShape: TensorShape): Int8Array {
  const x = inputs[0]!;
  const xs = inShapes[0]!;
  switch (node.op) {
    case 'maxpool':
    case 'avgpool':
      return pool(node, x, xs, outShape);
    case 'globalavgpool': {
      const sums = new Float64Array(xs.c);
      for (let i = 0; i < x.length; i++) sums[i % xs.c]! += x[i]!;
      return Int8Array.from(sums, (s) => roundedDivide(s, xs.h * xs.w));
    }
    case 'add': {
      const b = inputs[1]!;
      const t = addTables(node);
      const y = new Int8Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const sum = t.a[x[i]! + 128]! + t.b[b[i]! + 128]!;
        let out = t.out.get(sum);
        if (out === undefined) {
          out = Math.min(node.outputMax, Math.max(node.outputMin, multiplyGemmlowp(sum, node.multiplierOut) + node.outputZeroPoint));
          t.out.set(sum, out);
        }
        y[i] = out;
      }
      return y;
    }
    case 'clamp':
      return Int8Array.from(x, (v) => Math.min(node.max, Math.max(node.min, v)));
    case 'zeros':
      return new Int8Array(shapeSize(outShape)).fill(node.code);
    case 'concat': {
      const y = new Int8Array(shapeSize(outShape));
      const pixels = outShape.h * outShape.w;
      let c0 = 0;
      inputs.forEach((t, k) => {
        const c = inShapes[k]!.c;
        const rq = node.requant[k];
        let codes = t;
        if (rq) {
          const table = codeTable(rq.zeroPoint, rq.multiplier).map((v) => Math.min(QMAX, Math.max(QMIN, v + node.outputZeroPoint)));
          codes = Int8Array.from(t, (q) => table[q + 128]!);
        }
        placeChannels(y, codes, pixels, outShape.c, c0, c);
        c0 += c;
      });
      return y;
    }
    case 'flatten':
      // The same permutation of the codes as in float (exact: int8 values in f32).
      return node.order === 'hwc' ? x.slice() : Int8Array.from(nhwcToNchw(x, xs));
  }
}

/** Runs the integer graph; returns every tensor's codes by name (the input included). */
export function runIntGraphTensors(g: IntGraph, input: Int8Array, backend: Backend = 'reference'): Map<string, Int8Array> {
  const want = shapeSize(g.input.shape);
  if (!(input instanceof Int8Array) || input.length !== want) {
    throw new InputError(`input '${g.input.name}' must be an Int8Array of ${want} codes, got ${input?.length ?? 'none'}`);
  }
  const run = groupRunner(g, backend);
  const t = new Map<string, Int8Array>([[g.input.name, input]]);
  for (const node of g.nodes) {
    const inputs = node.inputs.map((n) => t.get(n)!);
    if (node.op === 'conv') t.set(node.output, runConv(node, inputs[0]!, run));
    else t.set(node.output, runOther(node, inputs, node.inputs.map((n) => g.tensors.get(n)!.shape), g.tensors.get(node.output)!.shape));
  }
  return t;
}

/** Runs the integer graph; returns the codes of its first output. */
export function runIntGraph(g: IntGraph, input: Int8Array, backend: Backend = 'reference'): Int8Array {
  return runIntGraphTensors(g, input, backend).get(g.outputs[0]!.name)!;
}

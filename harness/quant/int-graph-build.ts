/**
 * Building the integer graph from a float graph and its calibration: batch norms folded, a
 * ReLU/Clip that is a convolution's or add's only reader fused into its clamp, every tensor's
 * quantizer calibrated or inherited, and the int32 bias, requantization multipliers and
 * per-group problems of each convolution computed once.
 */
import { CODE_MODES, type ConvProblem, DEFAULT_CODE_MODE, type RequantMode, macs as convMacs, validateProblem } from '../conv/layer.ts';
import { foldBatchNorm } from '../model/fold.ts';
import { type ConvNode, type Graph, type GraphNode, type TensorShape, consumerCounts, inferShapes, shapeSize } from '../model/graph.ts';
import { quantizeMultiplier, roundHalfAwayFromZero } from '../reference/requant.ts';
import { InputError } from '../util/errors.ts';
import { type Calibration, type QuantParams, codeMax, codeMin } from './calibrate.ts';
import { ADD_LEFT_SHIFT, type IntConv, type IntGraph, type IntGraphOptions, type IntNode, type IntTensor } from './int-graph-nodes.ts';
import { type QuantizedWeights, maxCode, quantizeBias, quantizeConvWeights } from './weights.ts';

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

/** The clamp of an output with quantizer `p`: its b-bit code range, narrowed by a fused ReLU/Clip. */
function clampFor(act: Extract<GraphNode, { op: 'relu' | 'clip' }> | undefined, p: QuantParams): [number, number] {
  const qmin = codeMin(p);
  const qmax = codeMax(p);
  if (!act) return [qmin, qmax];
  const lo = act.op === 'relu' ? 0 : act.min;
  const hi = act.op === 'relu' ? Infinity : act.max;
  const qlo = Math.max(qmin, Math.min(qmax, p.zeroPoint + roundHalfAwayFromZero(lo / p.scale)));
  const qhi = Number.isFinite(hi) ? Math.max(qmin, Math.min(qmax, p.zeroPoint + roundHalfAwayFromZero(hi / p.scale))) : qmax;
  return [qlo, Math.max(qlo, qhi)];
}

/** The integer graph of a float graph (batch norms are folded first) and its calibration. */
export function buildIntGraph(graph: Graph, calibration: Calibration, options: IntGraphOptions = {}): IntGraph {
  const g = foldBatchNorm(graph).graph;
  const shapes = inferShapes(g);
  const readers = consumerCounts(g);
  const requantMode = options.requantMode ?? DEFAULT_CODE_MODE;
  if (!(CODE_MODES as readonly string[]).includes(requantMode)) {
    throw new InputError(`requantization mode must be ${CODE_MODES.join(', ')}, got '${String(requantMode)}'`);
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
    if (!Number.isInteger(p.bits) || p.bits < 2 || p.bits > 8 || !(p.scale > 0) || p.zeroPoint < codeMin(p) || p.zeroPoint > codeMax(p) || !Number.isInteger(p.zeroPoint)) {
      throw new InputError(`node '${node}': tensor '${name}' has an invalid quantizer (bits ${p.bits}, scale ${p.scale}, zero point ${p.zeroPoint}): need 2..8 bits, scale > 0 and an integer zero point inside the code range`);
    }
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
        nodes.push({ op: 'concat', name: node.name, inputs: node.inputs, output: node.output, requant, outputZeroPoint: out.zeroPoint, outputMin: codeMin(out), outputMax: codeMax(out) });
        break;
      }
      case 'conv': {
        const { act, output, out } = fusedOutput(node);
        const fixed = fixedFor(node, options);
        nodes.push(intConv(node, shapes.get(node.inputs[0]!)!, param(node.inputs[0]!), out, act, fixed.weights ?? bitsFor(node.name), requantMode, output, fixed.bias));
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

/** The imported weights and bias of a convolution (IntGraphOptions.fixedWeights/fixedBias), checked against its shape. */
function fixedFor(node: ConvNode, options: IntGraphOptions): { weights?: QuantizedWeights; bias?: Int32Array } {
  const weights = options.fixedWeights?.get(node.name);
  const bias = options.fixedBias?.get(node.name);
  if (weights) {
    const qmax = maxCode(weights.bits, node.name);
    if (weights.codes.length !== node.weights.length || weights.scale.length !== node.outC) {
      throw new InputError(`node '${node.name}' (conv): fixed weights have ${weights.codes.length} codes and ${weights.scale.length} scales, the layer needs ${node.weights.length} and ${node.outC}`);
    }
    // At 8 bits the kernels also take -128 (an imported model's int8 weights may use it; the packing plan then bounds for it).
    const lo = weights.bits === 8 ? -128 : -qmax;
    const bad = weights.codes.findIndex((c) => c < lo || c > qmax);
    if (bad >= 0) throw new InputError(`node '${node.name}' (conv): fixed weight code ${weights.codes[bad]} at ${bad} is outside the ${weights.bits}-bit range [${lo}, ${qmax}]`);
    if (!weights.scale.every((x) => x > 0 && Number.isFinite(x))) throw new InputError(`node '${node.name}' (conv): fixed weight scales must be positive numbers`);
  }
  if (bias && bias.length !== node.outC) throw new InputError(`node '${node.name}' (conv): fixed bias has ${bias.length} values for ${node.outC} output channels`);
  return { ...(weights ? { weights } : {}), ...(bias ? { bias } : {}) };
}

function intConv(
  node: ConvNode, inShape: TensorShape, inP: QuantParams, outP: QuantParams,
  act: Extract<GraphNode, { op: 'relu' | 'clip' }> | undefined, bits: number | QuantizedWeights, mode: Exclude<RequantMode, 'raw'>, output: string,
  fixedBias?: Int32Array,
): IntConv {
  const w = typeof bits === 'number' ? quantizeConvWeights(node, bits) : bits;
  const bias = fixedBias ?? quantizeBias(node.bias, inP.scale, w.scale, node.name);
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
    op: 'conv', name: node.name, inputs: node.inputs, output, problem, groups: node.groups, perGroup, weightBits: w.bits, weightScale: w.scale, fc: node.fc,
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

/** Multiply-accumulates of the integer graph's convolutions. */
export function intGraphMacs(g: IntGraph): number {
  return g.nodes.reduce((n, node) => n + (node.op === 'conv' ? node.perGroup.reduce((m, p) => m + convMacs(p.shape), 0) : 0), 0);
}

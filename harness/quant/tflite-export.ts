/**
 * An integer graph (harness/quant/int-graph.ts) as a `.tflite` model, the way a TFLite converter
 * would write it: every tensor with its own float32 scale and zero point, convolutions as int8
 * per-channel CONV_2D (filter scale = the weight scale per output channel), fully connected
 * layers as FULLY_CONNECTED, max pools as MAX_POOL_2D, residual adds as ADD, an 'hwc' flatten as
 * RESHAPE. Clamps become fused activations (NONE: [-128, 127]; RELU: [zp, 127]).
 *
 * What is exact and what is not: the runtime recomputes each multiplier from the float32 scales
 * in the file (see exactFilterScale), and XNNPACK's ADD has its own fixed-point arithmetic (not
 * TFLite's reference Add, which our graph implements), so the model computes what LiteRT
 * computes, not necessarily our graph's codes: compare tensor by tensor (`outputs`) before
 * trusting any timing.
 *
 * Depthwise convolutions (groups = inC = outC) are DEPTHWISE_CONV_2D (filter [1, kH, kW, C],
 * per-channel scales along dimension 3); a concat of one tensor and zero channels after it
 * (BlazeFace's channel padding) is a PAD of the channel axis, whose int8 pad value is the output
 * zero point, i.e. the zeros' code.
 *
 * Supported: the node kinds above, other groups = 1, 'hwc' flattens; anything else is an
 * InputError naming the node.
 */
import { outputSize } from '../conv/layer.ts';
import type { IntConv, IntGraph, IntNode } from './int-graph.ts';
import { InputError } from '../util/errors.ts';
import { tflitePadding } from '../tflite/build-conv.ts';
import { Activation, type ActivationCode, BuiltinOperator, Padding, type TflOperator, type TflTensor, TensorType, encodeTflite, leBytes } from '../tflite/schema.ts';

function activationOf(node: IntNode, lo: number, hi: number, zp: number): ActivationCode {
  if (lo === -128 && hi === 127) return Activation.NONE;
  if (lo === zp && hi === 127) return Activation.RELU;
  throw new InputError(`node '${node.name}': TFLite expresses the clamp [${lo}, ${hi}] (zero point ${zp}) by no fused activation used here`);
}

/** The model bytes: one int8 input (the graph's) and int8 outputs (options.outputs). */
export interface TfliteExportOptions {
  /** The graph's outputs to expose (tensor names), e.g. every node's, to compare them one by one. @default the first output */
  outputs?: readonly string[];
  /**
   * Nudge each filter scale by a few float32 ulps so the runtime's multiplier equals our fp32
   * mode's exactly (exactFilterScale); false writes the weight scales as they are. @default true
   */
  exactMultipliers?: boolean;
}

export function buildTfliteModel(g: IntGraph, options: TfliteExportOptions = {}): Uint8Array {
  const outputs = options.outputs ?? [g.outputs[0]!.name];
  const tensors: TflTensor[] = [];
  const index = new Map<string, number>();
  const add = (t: TflTensor): number => tensors.push(t) - 1;
  const activation = (name: string): number => {
    let i = index.get(name);
    if (i === undefined) {
      const t = g.tensors.get(name);
      if (!t) throw new InputError(`tensor '${name}' is not in the graph`);
      const s = t.shape;
      i = add({ name, shape: s.h === 1 && s.w === 1 && name !== g.input.name ? [1, s.c] : [1, s.h, s.w, s.c], type: TensorType.INT8, quantization: { scale: [Math.fround(t.params.scale)], zeroPoint: [t.params.zeroPoint] } });
      index.set(name, i);
    }
    return i;
  };
  const operators: TflOperator[] = [];
  activation(g.input.name);
  for (const node of g.nodes) {
    const out = g.tensors.get(node.output)!;
    if (node.op === 'conv') {
      operators.push(...convOperators(g, node, tensors, add, activation, options.exactMultipliers ?? true));
    } else if (node.op === 'maxpool') {
      if (node.pads.top || node.pads.bottom || node.pads.left || node.pads.right) throw new InputError(`node '${node.name}': padded max pools are not written`);
      operators.push({
        op: BuiltinOperator.MAX_POOL_2D, version: 2, inputs: [activation(node.inputs[0]!)], outputs: [activation(node.output)],
        options: { kind: 'pool2d', padding: Padding.VALID, strideW: node.strideW, strideH: node.strideH, filterW: node.kW, filterH: node.kH, activation: Activation.NONE },
      });
    } else if (node.op === 'add') {
      operators.push({
        op: BuiltinOperator.ADD, version: 2, inputs: [activation(node.inputs[0]!), activation(node.inputs[1]!)], outputs: [activation(node.output)],
        options: { kind: 'add', activation: activationOf(node, node.outputMin, node.outputMax, node.outputZeroPoint) },
      });
    } else if (node.op === 'zeros') {
      // Written as the PAD of the concat that reads it.
    } else if (node.op === 'concat' && node.inputs.length === 2 && node.requant[0] === undefined && g.nodes.some((n) => n.op === 'zeros' && n.output === node.inputs[1])) {
      const extra = g.tensors.get(node.inputs[1]!)!.shape.c;
      const paddings = add({ name: `${node.name}/paddings`, shape: [4, 2], type: TensorType.INT32, data: leBytes([0, 0, 0, 0, 0, 0, 0, extra], 'i32') });
      operators.push({ op: BuiltinOperator.PAD, version: 2, inputs: [activation(node.inputs[0]!), paddings], outputs: [activation(node.output)], options: { kind: 'pad' } });
    } else if (node.op === 'flatten' && node.order === 'hwc') {
      const shape = add({ name: `${node.name}/shape`, shape: [2], type: TensorType.INT32, data: leBytes([1, out.shape.c], 'i32') });
      operators.push({ op: BuiltinOperator.RESHAPE, version: 1, inputs: [activation(node.inputs[0]!), shape], outputs: [activation(node.output)], options: { kind: 'reshape', newShape: [1, out.shape.c] } });
    } else {
      throw new InputError(`node '${node.name}' (${node.op}${node.op === 'flatten' ? ` ${node.order}` : ''}) is not written to .tflite here`);
    }
  }
  return encodeTflite({ tensors, operators, inputs: [index.get(g.input.name)!], outputs: outputs.map((n) => activation(n)), description: `fpga-kernel-bench ${g.name}` });
}

/** The float32 one `steps` units in the last place above (below, when negative) a positive float32. */
function ulpStep(x: number, steps: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x);
  v.setUint32(0, v.getUint32(0) + steps);
  return v.getFloat32(0);
}

/**
 * A filter scale near `w` from which XNNPACK's multiplier comes out as exactly `want` (our fp32
 * mode's float32 multiplier). XNNPACK computes `input_scale * kernel_scale[oc] / output_scale`
 * in float32, left to right (its convolution-nhwc.c and fully-connected-nc.c, qc8w operators):
 * fl(fl(in * f) / out). Among those, one that also gives `want` from the same product in double
 * (TFLite's own kernels' order), where there is one. The converter's plain choice (f = w) misses
 * `want` by an ulp on some channels, which changes outputs near a rounding tie. Undefined if no
 * float32 within 256 ulps of w will do.
 */
export function exactFilterScale(inScale: number, outScale: number, want: number, w: number): number | undefined {
  const f = Math.fround;
  let fallback: number | undefined;
  for (let k = 0; k <= 256; k++) {
    for (const c of k === 0 ? [w] : [ulpStep(w, k), ulpStep(w, -k)]) {
      if (f(f(inScale * c) / outScale) !== want) continue;
      if (f((inScale * c) / outScale) === want) return c;
      fallback ??= c;
    }
  }
  return fallback;
}

/** The filter scales written for a convolution (exactFilterScale per channel, or the weight scales). */
function filterScales(g: IntGraph, node: IntConv, exact: boolean): number[] {
  const inScale = Math.fround(g.tensors.get(node.inputs[0]!)!.params.scale);
  const outScale = Math.fround(g.tensors.get(node.output)!.params.scale);
  return Array.from(node.weightScale, (w, o) => {
    const want = Math.fround(node.problem.requant.scale[o]!);
    return (exact && exactFilterScale(inScale, outScale, want, Math.fround(w))) || Math.fround(w);
  });
}

/**
 * The graph as the exported file defines it under XNNPACK: each convolution's multiplier
 * replaced by the one XNNPACK derives from the file's float32 scales, fl(fl(in * f) / out).
 * It differs from `g` only on the channels exactFilterScale could not make exact (`retargeted`
 * counts them); our kernels then compute exactly what LiteRT should.
 */
export function asExported(g: IntGraph, options: Pick<TfliteExportOptions, 'exactMultipliers'> = {}): { graph: IntGraph; retargeted: number; channels: number } {
  const f = Math.fround;
  let retargeted = 0;
  let channels = 0;
  const nodes = g.nodes.map((n) => {
    if (n.op !== 'conv') return n;
    if (n.groups !== 1 && !isDepthwise(n)) throw new InputError(`node '${n.name}': grouped convolutions other than depthwise are not written`);
    const inScale = f(g.tensors.get(n.inputs[0]!)!.params.scale);
    const outScale = f(g.tensors.get(n.output)!.params.scale);
    const scale = filterScales(g, n, options.exactMultipliers ?? true).map((c) => f(f(inScale * c) / outScale));
    scale.forEach((m, o) => {
      channels++;
      if (m !== f(n.problem.requant.scale[o]!)) retargeted++;
    });
    const problem = { ...n.problem, requant: { ...n.problem.requant, scale } };
    const perGroup = n.groups === 1 ? [problem] : n.perGroup.map((p, k) => ({ ...p, requant: { ...p.requant, scale: [scale[k]!] } }));
    return { ...n, problem, perGroup };
  });
  return { graph: { ...g, nodes }, retargeted, channels };
}

const isDepthwise = (n: IntConv): boolean => n.groups > 1 && n.groups === n.problem.shape.inC && n.groups === n.problem.shape.outC;

function convOperators(
  g: IntGraph,
  node: IntConv,
  tensors: TflTensor[],
  add: (t: TflTensor) => number,
  activation: (name: string) => number,
  exact: boolean,
): TflOperator[] {
  const depthwise = isDepthwise(node);
  if (node.groups !== 1 && !depthwise) throw new InputError(`node '${node.name}': grouped convolutions other than depthwise are not written`);
  const p = node.problem;
  const s = p.shape;
  const inScale = Math.fround(g.tensors.get(node.inputs[0]!)!.params.scale);
  const filterScale = filterScales(g, node, exact);
  const zeros = new Array(s.outC).fill(0);
  // Depthwise: OHWI with I = 1 is [C][kH][kW]; TFLite wants [1][kH][kW][C].
  const taps = s.kH * s.kW;
  const w = add({
    name: `${node.name}/weights`,
    shape: node.fc ? [s.outC, s.inC] : depthwise ? [1, s.kH, s.kW, s.outC] : [s.outC, s.kH, s.kW, s.inC],
    type: TensorType.INT8,
    data: leBytes(depthwise ? Int8Array.from({ length: p.weights.length }, (_, i) => p.weights[(i % s.outC) * taps + Math.floor(i / s.outC)]!) : p.weights, 'i8'),
    quantization: { scale: filterScale, zeroPoint: zeros, dimension: depthwise ? 3 : 0 },
  });
  const b = add({
    name: `${node.name}/bias`,
    shape: [s.outC],
    type: TensorType.INT32,
    data: leBytes(p.bias, 'i32'),
    quantization: { scale: filterScale.map((f) => Math.fround(f * inScale)), zeroPoint: zeros, dimension: 0 },
  });
  const act = activationOf(node, p.requant.outputMin, p.requant.outputMax, p.requant.outputZeroPoint);
  const x = activation(node.inputs[0]!);
  const y = activation(node.output);
  if (node.fc) {
    if (s.inH !== 1 || s.inW !== 1) throw new InputError(`node '${node.name}': a fully connected layer needs a flattened input`);
    return [{ op: BuiltinOperator.FULLY_CONNECTED, version: 5, inputs: [x, w, b], outputs: [y], options: { kind: 'fullyConnected', activation: act } }];
  }
  const padding = tflitePadding(s);
  const ops: TflOperator[] = [];
  let convIn = x;
  if (padding === 'PAD') {
    const paddings = add({ name: `${node.name}/paddings`, shape: [4, 2], type: TensorType.INT32, data: leBytes([0, 0, s.padTop, s.padBottom, s.padLeft, s.padRight, 0, 0], 'i32') });
    convIn = add({ ...tensors[x]!, name: `${node.name}/padded`, shape: [1, s.inH + s.padTop + s.padBottom, s.inW + s.padLeft + s.padRight, s.inC] });
    ops.push({ op: BuiltinOperator.PAD, version: 2, inputs: [x, paddings], outputs: [convIn], options: { kind: 'pad' } });
  }
  const { outH, outW } = outputSize(s);
  if (tensors[y]!.shape.join() !== [1, outH, outW, s.outC].join()) throw new Error(`node '${node.name}': output shape mismatch`);
  const options = { padding: padding === 'SAME' ? Padding.SAME : Padding.VALID, strideW: s.strideW, strideH: s.strideH, activation: act };
  ops.push(
    depthwise
      ? { op: BuiltinOperator.DEPTHWISE_CONV_2D, version: 3, inputs: [convIn, w, b], outputs: [y], options: { kind: 'depthwiseConv2d', ...options } }
      : { op: BuiltinOperator.CONV_2D, version: 3, inputs: [convIn, w, b], outputs: [y], options: { kind: 'conv2d', ...options } },
  );
  return ops;
}

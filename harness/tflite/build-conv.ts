/**
 * A ConvProblem as a TFLite model: one int8 per-channel CONV_2D (NHWC input, OHWI weights with
 * per-output-channel scales, quantized_dimension 0, int32 bias), preceded by a PAD where our
 * padding is not what TFLite's SAME or VALID computes.
 *
 * The multiplier: TFLite (and XNNPACK behind it) derives each channel's multiplier from the
 * float32 scales stored in the file, as input_scale * filter_scale[c] / output_scale. With
 * input_scale = output_scale = s (1, or the scale that encodes a ReLU6 bound), the product of
 * two float32 in double is exact and the division by s gives back filter_scale[c] exactly, so
 * the multiplier is fround(scale[c]): `tfliteProblem` is the problem with its scales rounded to
 * float32, which is what the model computes; our reference on that problem is the oracle.
 *
 * The clamp: TFLite has no free [min, max] on a convolution, only the fused activation; with
 * output scale s and zero point zp, NONE gives [-128, 127], RELU [zp, 127], RELU6
 * [zp, zp + round(6 / s)]. Other bounds are refused.
 */
import { type ConvProblem, type ConvShape, outputSize, validateProblem } from '../conv/layer.ts';
import { InputError } from '../util/errors.ts';
import { Activation, type ActivationCode, BuiltinOperator, Padding, type TflGraph, type TflOperator, type TflTensor, TensorType, encodeTflite, leBytes } from './schema.ts';

/** The problem the TFLite model computes: `p` with its per-channel scales rounded to float32. */
export function tfliteProblem(p: ConvProblem): ConvProblem {
  return { ...p, requant: { ...p.requant, scale: Array.from(p.requant.scale, (s) => Math.fround(s)) } };
}

/** TFLite's SAME padding of one dimension: the output is ceil(in / stride), the extra row goes at the end. */
function samePads(inSize: number, k: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** How a shape's padding is expressed: TFLite's SAME, VALID, or an explicit PAD then VALID. */
export function tflitePadding(s: ConvShape): 'SAME' | 'VALID' | 'PAD' {
  if (s.padTop === 0 && s.padBottom === 0 && s.padLeft === 0 && s.padRight === 0) return 'VALID';
  const [t, b] = samePads(s.inH, s.kH, s.strideH);
  const [l, r] = samePads(s.inW, s.kW, s.strideW);
  if (t === s.padTop && b === s.padBottom && l === s.padLeft && r === s.padRight) return 'SAME';
  return 'PAD';
}

/** The fused activation and output scale that give the problem's clamp bounds. */
function activationFor(p: ConvProblem): { activation: ActivationCode; outputScale: number } {
  const { outputMin: lo, outputMax: hi, outputZeroPoint: zp } = p.requant;
  if (lo === -128 && hi === 127) return { activation: Activation.NONE, outputScale: 1 };
  if (lo === zp && hi === 127) return { activation: Activation.RELU, outputScale: 1 };
  if (lo === zp && hi > zp) {
    // RELU6's upper bound is zp + round(6 / s): s = 6 / (hi - zp) in float32 gives back hi - zp.
    const s = Math.fround(6 / (hi - zp));
    if (Math.round(6 / s) === hi - zp) return { activation: Activation.RELU6, outputScale: s };
  }
  throw new InputError(`TFLite's CONV_2D clamps only as NONE [-128, 127], RELU [zp, 127] or RELU6 [zp, zp + n]; got [${lo}, ${hi}] with zero point ${zp}`);
}

export interface TfliteConvOptions {
  /** Tensor names of the model's input and output (the signature's names). @default 'x', 'y' */
  inputName?: string;
  outputName?: string;
}

/**
 * The model bytes, int8 in and int8 out ([1, H, W, C]). Requantization mode is not a property
 * of the file: the runtime decides it (TFLite's reference kernels: gemmlowp; XNNPACK: fp32).
 */
export function buildTfliteConv(problem: ConvProblem, options: TfliteConvOptions = {}): Uint8Array {
  validateProblem(problem);
  const s = problem.shape;
  const { outH, outW } = outputSize(s);
  const { activation, outputScale } = activationFor(problem);
  const filterScale = Array.from(problem.requant.scale, (v) => Math.fround(v));
  if (filterScale.some((v) => v === 0)) throw new InputError('TFLite needs a non-zero filter scale on every channel');
  const act = (zp: number) => ({ scale: [outputScale], zeroPoint: [zp] });
  const padding = tflitePadding(s);

  const tensors: TflTensor[] = [
    { name: options.inputName ?? 'x', shape: [1, s.inH, s.inW, s.inC], type: TensorType.INT8, quantization: act(problem.inputZeroPoint) },
    {
      name: 'w',
      shape: [s.outC, s.kH, s.kW, s.inC],
      type: TensorType.INT8,
      data: leBytes(problem.weights, 'i8'),
      quantization: { scale: filterScale, zeroPoint: new Array(s.outC).fill(0), dimension: 0 },
    },
    {
      name: 'b',
      shape: [s.outC],
      type: TensorType.INT32,
      data: leBytes(problem.bias, 'i32'),
      // bias scale = input scale * filter scale, as TFLite's converter writes it.
      quantization: { scale: filterScale.map((f) => Math.fround(f * outputScale)), zeroPoint: new Array(s.outC).fill(0), dimension: 0 },
    },
    { name: options.outputName ?? 'y', shape: [1, outH, outW, s.outC], type: TensorType.INT8, quantization: act(problem.requant.outputZeroPoint) },
  ];
  const operators: TflOperator[] = [];
  let convInput = 0;
  if (padding === 'PAD') {
    // PAD fills with the zero point of its (quantized) output: the padded taps contribute nothing.
    const paddings = [0, 0, s.padTop, s.padBottom, s.padLeft, s.padRight, 0, 0];
    tensors.push({ name: 'paddings', shape: [4, 2], type: TensorType.INT32, data: leBytes(paddings, 'i32') });
    tensors.push({
      name: 'x_padded',
      shape: [1, s.inH + s.padTop + s.padBottom, s.inW + s.padLeft + s.padRight, s.inC],
      type: TensorType.INT8,
      quantization: act(problem.inputZeroPoint),
    });
    operators.push({ op: BuiltinOperator.PAD, version: 2, inputs: [0, 4], outputs: [5], options: { kind: 'pad' } });
    convInput = 5;
  }
  operators.push({
    op: BuiltinOperator.CONV_2D,
    version: 3,
    inputs: [convInput, 1, 2],
    outputs: [3],
    options: { kind: 'conv2d', padding: padding === 'SAME' ? Padding.SAME : Padding.VALID, strideW: s.strideW, strideH: s.strideH, activation },
  });
  const graph: TflGraph = { tensors, operators, inputs: [0], outputs: [3], description: 'fpga-kernel-bench int8 per-channel CONV_2D' };
  return encodeTflite(graph);
}

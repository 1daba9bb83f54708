/**
 * Quantized ONNX -> what harness/quant/int-graph.ts builds an integer graph from, keeping the
 * model's own scales, zero points and integer weights:
 *
 *     const q = importQuantizedOnnx('model.onnx');
 *     runIntGraph(q.intGraph, quantizeInput(q, x));
 *
 * `intGraph` is buildIntGraph(graph, calibration, { fixedWeights, fixedBias, requantMode }),
 * built once by the import (which checks it takes exactly the model's quantizers).
 *
 * `graph` is the float graph with the dequantized weights (codes x scale), `calibration` has a
 * quantizer (with its bit width) for every tensor, `fixedWeights` / `fixedBias` the integer
 * weights and int32 biases by conv node name. How (rewrite.ts, resolve.ts):
 *
 * Formats
 *  - QDQ (opset 13+): QuantizeLinear/DequantizeLinear around Conv, Gemm, MatMul (constant B),
 *    Add, Concat, MaxPool, AveragePool, GlobalAveragePool, Relu, Clip, Flatten, Reshape,
 *    Transpose; weights int8/uint8 (per tensor or per output channel) through DequantizeLinear,
 *    or float weights through a QuantizeLinear/DequantizeLinear pair (PyTorch's fake-quant
 *    export: evaluated here with ONNX's rounding); bias int32 through DequantizeLinear (scale
 *    x_scale * w_scale; an integer multiple of it is multiplied out) or float.
 *  - QOperator: QLinearConv, QLinearMatMul (constant 2-D b), QLinearAdd and QLinearConcat
 *    (com.microsoft), MaxPool / Clip / Concat / Reshape / Flatten / Transpose / Identity on int8
 *    or uint8 codes, QuantizeLinear/DequantizeLinear at the edges, an int8/uint8 graph input.
 *    harness/quant/onnx-export.ts writes this (its metadata `<tensor>.scale` and
 *    `<tensor>.zero_point` are read too: exact f64 scales).
 *  - QONNX (domains qonnx.custom_op.general, finn.custom_op.general, onnx.brevitas): Quant /
 *    IntQuant on weights (any bit width the codes fit in 8 symmetric bits, any rounding mode,
 *    evaluated here), on biases, and on activations (per-tensor scale, integer zeropt, 2..8
 *    bits, signed or unsigned, narrow, rounding ROUND = HALF_EVEN); BipolarQuant on weights
 *    ({-1, +1}: 2-bit symmetric codes); Trunc on constants.
 * Bit widths: activations from the code type (8), narrowed by a Clip before the quantizer or a
 * QONNX bitwidth, or metadata `fkb.activation_bits.<tensor>`; weights from
 * `fkb.weight_bits.<node>`, else the smallest symmetric width holding the codes.
 *
 * Arithmetic. `requantMode` is 'fp32', onnxruntime's: for QDQ and QOperator the weight scales
 * are set so each convolution's multiplier is onnxruntime's f32 one bit for bit (resolve.ts),
 * so a QLinearConv runs exactly as in onnxruntime; QONNX's ROUND is half to even, as 'fp32'
 * rounds. Adds use TFLite's fixed-point arithmetic (int-graph.ts), onnxruntime's QLinearAdd
 * float arithmetic: a code can differ by one at rounding ties; average pools likewise.
 * An input is quantized with the source's own quantizer (ONNX QuantizeLinear: half to even,
 * saturating) by `quantizeInput`.
 *
 * Refused (InputError naming the node and why): weights whose codes minus zero point leave
 * [-127, 127] (uint8 weights with a zero point other than about 128, the code -128, a
 * non-integer zero point), per-channel activation quantizers, activation bits above 8,
 * non-integer activation zero points, QONNX activation rounding other than ROUND, bipolar or
 * Trunc'ed activations, ConvInteger/MatMulInteger in a graph (int32 tensors:
 * importQuantizedLayer takes them alone), dynamic quantization, BatchNormalization, a tensor
 * both quantized and read as float, a tensor requantized where the integer graph keeps its
 * quantizer (after a pool, a fused activation, a concat that copies codes), a tensor the
 * integer graph must quantize but the model does not, bias scales that are not an integer
 * multiple of x_scale * w_scale.
 */
import onnxProto from 'onnx-proto';
import type { Graph } from '../model/graph.ts';
import { normalizeGraph, onnx } from '../model/onnx-decode.ts';
import { importOnnxModel } from '../model/onnx-import.ts';
import { type Calibration, type QuantParams, codeMax, codeMin } from '../quant/calibrate.ts';
import type { IntGraph } from '../quant/int-graph.ts';
import type { QuantizedWeights } from '../quant/weights.ts';
import { InputError } from '../util/errors.ts';
import { GiB, readInputFile } from '../util/input-files.ts';
import { roundHalfToEven } from '../reference/requant.ts';
import { quantizeLinearValue } from './qdq-math.ts';
import { resolveQuantizers } from './resolve.ts';
import { type QuantFormat, detectFormat, rewriteQuantized } from './rewrite.ts';

export type { QuantFormat } from './rewrite.ts';

/** A graph input or output: its quantizer and how its codes relate to the source model's. */
export interface QuantizedIO {
  /** The graph tensor. */
  name: string;
  /** The ONNX name. */
  sourceName: string;
  /** The source's codes: 'int8', 'uint8', a QONNX 'uint4', ...; 'float32' when the source dequantizes it. */
  sourceType: string;
  /** The source quantizer's code range. */
  sourceRange: [number, number];
  /** The source quantizer's scale (f32) and zero point. */
  sourceScale: number;
  sourceZeroPoint: number;
  /** Integer-graph code = source code + codeOffset. */
  codeOffset: number;
  params: QuantParams;
}

export interface QuantizedOnnxImport {
  graph: Graph;
  calibration: Calibration;
  fixedWeights: Map<string, QuantizedWeights>;
  fixedBias: Map<string, Int32Array>;
  format: QuantFormat;
  /** The requantization that reproduces the model's arithmetic. */
  requantMode: 'fp32';
  /** The integer graph of all the above, in `requantMode`. */
  intGraph: IntGraph;
  input: QuantizedIO;
  outputs: QuantizedIO[];
  /** What is not bit-exact with onnxruntime, or was decided on the model's behalf. */
  notes: string[];
  /** The graph tensor holding an ONNX value (a Q/DQ pair's values are one tensor); undefined for constants. */
  tensorOf(onnxName: string): string | undefined;
}

function decode(bytes: Uint8Array, name: string): onnxProto.onnx.ModelProto {
  try {
    const m = onnx.ModelProto.decode(bytes);
    if (!m.graph || (m.graph.node ?? []).length === 0) throw new Error('no graph nodes');
    return m;
  } catch (e) {
    throw new InputError(`${name}: not a valid ONNX file (${(e as Error).message}); is it truncated?`);
  }
}

/** True when the bytes decode as an ONNX model in one of the quantized formats; false otherwise (also for bytes that are not ONNX). */
export function isQuantizedOnnx(bytes: Uint8Array): boolean {
  try {
    const m = onnx.ModelProto.decode(bytes);
    if (!m.graph) return false;
    const g = normalizeGraph(m.graph);
    return detectFormat(g, new Set(g.initializer.map((t) => t.name))) !== null;
  } catch {
    return false;
  }
}

/** Imports a quantized model (a path: a regular file of at most 1 GiB, or its bytes); `name` labels errors. */
export function importQuantizedOnnx(source: string | Uint8Array, name = typeof source === 'string' ? source : 'model'): QuantizedOnnxImport {
  const bytes = typeof source === 'string' ? readInputFile(source, { what: 'ONNX model', maxBytes: GiB }) : source;
  const model = decode(bytes, name);
  try {
    const rw = rewriteQuantized(model);
    const imported = importOnnxModel(rw.model, name);
    const r = resolveQuantizers(rw, imported);
    const { graph } = imported;
    const io = (tensor: string, sourceName: string): QuantizedIO => {
      const q = r.tensors.get(tensor)!;
      return {
        name: tensor, sourceName, sourceType: q.type.name, sourceRange: [q.type.lo, q.type.hi], sourceScale: q.sourceScale,
        sourceZeroPoint: q.params.zeroPoint - q.offset, codeOffset: q.offset, params: q.params,
      };
    };
    const elemName = (elem: number, type: string): string => (elem === onnx.TensorProto.DataType.FLOAT ? 'float32' : type);
    const input = io(graph.input.name, rw.input.name);
    const outputs = graph.outputs.map((o, i) => {
      const q = io(o.name, rw.outputs[i]!.name);
      return { ...q, sourceType: elemName(rw.outputs[i]!.elem, q.sourceType) };
    });
    return {
      graph, calibration: r.calibration, fixedWeights: r.fixedWeights, fixedBias: r.fixedBias, format: rw.format, requantMode: 'fp32', intGraph: r.intGraph,
      input: { ...input, sourceType: elemName(rw.input.elem, input.sourceType) }, outputs, notes: [...new Set(rw.notes)],
      tensorOf: (onnxName) => imported.tensorOf(rw.canonical(onnxName)),
    };
  } catch (e) {
    if (e instanceof InputError && !e.message.startsWith(`${name}: `)) throw new InputError(`${name}: ${e.message}`);
    throw e;
  }
}

/**
 * Float input values (any layout: the quantizer is per tensor) as integer-graph codes, with the
 * source model's own input quantizer: ONNX QuantizeLinear (f32 division, round half to even,
 * saturate) for int8/uint8, QONNX's Quant (ROUND) otherwise; then moved by the code offset.
 */
export function quantizeInput(q: Pick<QuantizedOnnxImport, 'input'>, x: ArrayLike<number>): Int8Array {
  const i = q.input;
  const [lo, hi] = i.sourceRange;
  const onnxType = lo === -128 && hi === 127 ? 'int8' : lo === 0 && hi === 255 ? 'uint8' : null;
  return Int8Array.from({ length: x.length }, (_, k) => {
    const v = x[k]!;
    const code = onnxType ? quantizeLinearValue(v, i.sourceScale, i.sourceZeroPoint, onnxType) : roundQonnx(v, i);
    // The integer graph's input range (a Clip before the input's QuantizeLinear narrows it).
    return Math.min(codeMax(i.params), Math.max(codeMin(i.params), code + i.codeOffset));
  });
}

/** QONNX Quant (ROUND) of one input value: rne(clamp(f32(f32(x / s) + zp), lo, hi)). */
function roundQonnx(v: number, i: QuantizedIO): number {
  const y = Math.fround(Math.fround(Math.fround(v) / Math.fround(i.sourceScale)) + i.sourceZeroPoint);
  return roundHalfToEven(Math.min(i.sourceRange[1], Math.max(i.sourceRange[0], y)));
}

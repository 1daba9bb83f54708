/**
 * A minimal writer of TFLite model files (`.tflite`, FlatBuffers, file identifier "TFL3"): only
 * the tables a small integer graph needs (Model, SubGraph, Tensor, QuantizationParameters,
 * Buffer, OperatorCode, Operator, SignatureDef and the builtin options used here).
 *
 * Field slots follow the published TFLite schema, version 3 ("Version 3c" in its revision
 * history; tensorflow/compiler/mlir/lite/schema/schema.fbs, read at tensorflow commit
 * 0373b8f3cb4d5033ac26e388f1e10a5126654200). A table's slot is the field's position in its
 * declaration; a union occupies two slots (the `_type` byte, then the table offset).
 * Written with the npm `flatbuffers` Builder; no generated bindings (Debian's flatc is 2.0.8,
 * older than the schema's features, so nothing is generated).
 */
import { Builder } from 'flatbuffers';

/** schema.fbs `enum TensorType : byte` (the values used here). */
export const TensorType = { FLOAT32: 0, INT32: 2, UINT8: 3, INT8: 9 } as const;
export type TensorTypeCode = (typeof TensorType)[keyof typeof TensorType];

/** schema.fbs `enum BuiltinOperator : int32` (the values used here). */
export const BuiltinOperator = {
  ADD: 0,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17,
  RESHAPE: 22,
  PAD: 34,
} as const;
export type BuiltinOperatorCode = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];

/** schema.fbs `union BuiltinOptions`: 1 + the member's position (0 is NONE). */
const BuiltinOptionsType = { Conv2DOptions: 1, DepthwiseConv2DOptions: 2, Pool2DOptions: 5, FullyConnectedOptions: 8, AddOptions: 11, ReshapeOptions: 17, PadOptions: 22 } as const;

/** schema.fbs `enum Padding : byte`. */
export const Padding = { SAME: 0, VALID: 1 } as const;
/** schema.fbs `enum ActivationFunctionType : byte` (the values used here). */
export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3 } as const;
export type ActivationCode = (typeof Activation)[keyof typeof Activation];

export interface TflQuantization {
  /** One scale for the whole tensor, or one per slice along `dimension`. */
  scale: number[];
  zeroPoint: number[];
  /** quantized_dimension: the axis the per-channel scales run along. @default 0 */
  dimension?: number;
}

export interface TflTensor {
  name: string;
  shape: number[];
  type: TensorTypeCode;
  /** Constant data (little-endian bytes); absent for activations. */
  data?: Uint8Array;
  quantization?: TflQuantization;
}

export type TflOptions =
  | { kind: 'conv2d'; padding: number; strideW: number; strideH: number; activation: ActivationCode }
  | { kind: 'depthwiseConv2d'; padding: number; strideW: number; strideH: number; activation: ActivationCode }
  | { kind: 'pool2d'; padding: number; strideW: number; strideH: number; filterW: number; filterH: number; activation: ActivationCode }
  | { kind: 'fullyConnected'; activation: ActivationCode }
  | { kind: 'add'; activation: ActivationCode }
  | { kind: 'reshape'; newShape: number[] }
  | { kind: 'pad' };

export interface TflOperator {
  op: BuiltinOperatorCode;
  /** Operator version (what the op resolver registers for these operand types). */
  version: number;
  inputs: number[];
  outputs: number[];
  options?: TflOptions;
}

export interface TflGraph {
  tensors: TflTensor[];
  operators: TflOperator[];
  inputs: number[];
  outputs: number[];
  description: string;
}

function intVector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function floatVector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]!);
  return b.endVector();
}

function longVector(b: Builder, values: readonly number[]): number {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]!));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

/** Buffer.data is `[ubyte] (force_align: 16)`. */
function byteVector(b: Builder, data: Uint8Array): number {
  b.startVector(1, data.length, 16);
  for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]!);
  return b.endVector();
}

/** table QuantizationParameters { min, max, scale, zero_point, details (union: 2 slots), quantized_dimension } */
function writeQuantization(b: Builder, q: TflQuantization): number {
  const scale = floatVector(b, q.scale);
  const zp = longVector(b, q.zeroPoint);
  b.startObject(7);
  b.addFieldOffset(2, scale, 0);
  b.addFieldOffset(3, zp, 0);
  b.addFieldInt32(6, q.dimension ?? 0, 0);
  return b.endObject();
}

/** table Tensor { shape, type, buffer, name, quantization, ... has_rank (slot 8) } */
function writeTensor(b: Builder, t: TflTensor, buffer: number): number {
  const shape = intVector(b, t.shape);
  const name = b.createString(t.name);
  const quant = t.quantization ? writeQuantization(b, t.quantization) : 0;
  b.startObject(9);
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, t.type, 0);
  b.addFieldInt32(2, buffer, 0);
  b.addFieldOffset(3, name, 0);
  if (quant) b.addFieldOffset(4, quant, 0);
  b.addFieldInt8(8, 1, 0);
  return b.endObject();
}

/** The builtin options table of an operator and its union type code. */
function writeOptions(b: Builder, o: TflOptions): { type: number; offset: number } {
  switch (o.kind) {
    case 'conv2d':
      // table Conv2DOptions { padding, stride_w, stride_h, fused_activation_function, dilation_w_factor = 1, dilation_h_factor = 1 }
      b.startObject(6);
      b.addFieldInt8(0, o.padding, 0);
      b.addFieldInt32(1, o.strideW, 0);
      b.addFieldInt32(2, o.strideH, 0);
      b.addFieldInt8(3, o.activation, 0);
      b.addFieldInt32(4, 1, 1);
      b.addFieldInt32(5, 1, 1);
      return { type: BuiltinOptionsType.Conv2DOptions, offset: b.endObject() };
    case 'depthwiseConv2d':
      // table DepthwiseConv2DOptions { padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w_factor = 1, dilation_h_factor = 1 }
      b.startObject(7);
      b.addFieldInt8(0, o.padding, 0);
      b.addFieldInt32(1, o.strideW, 0);
      b.addFieldInt32(2, o.strideH, 0);
      b.addFieldInt32(3, 1, 0);
      b.addFieldInt8(4, o.activation, 0);
      b.addFieldInt32(5, 1, 1);
      b.addFieldInt32(6, 1, 1);
      return { type: BuiltinOptionsType.DepthwiseConv2DOptions, offset: b.endObject() };
    case 'pool2d':
      // table Pool2DOptions { padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function }
      b.startObject(6);
      b.addFieldInt8(0, o.padding, 0);
      b.addFieldInt32(1, o.strideW, 0);
      b.addFieldInt32(2, o.strideH, 0);
      b.addFieldInt32(3, o.filterW, 0);
      b.addFieldInt32(4, o.filterH, 0);
      b.addFieldInt8(5, o.activation, 0);
      return { type: BuiltinOptionsType.Pool2DOptions, offset: b.endObject() };
    case 'fullyConnected':
      // table FullyConnectedOptions { fused_activation_function, weights_format, keep_num_dims, ... }
      b.startObject(1);
      b.addFieldInt8(0, o.activation, 0);
      return { type: BuiltinOptionsType.FullyConnectedOptions, offset: b.endObject() };
    case 'add':
      // table AddOptions { fused_activation_function, pot_scale_int16 = true }
      b.startObject(1);
      b.addFieldInt8(0, o.activation, 0);
      return { type: BuiltinOptionsType.AddOptions, offset: b.endObject() };
    case 'reshape': {
      // table ReshapeOptions { new_shape:[int] }
      const shape = intVector(b, o.newShape);
      b.startObject(1);
      b.addFieldOffset(0, shape, 0);
      return { type: BuiltinOptionsType.ReshapeOptions, offset: b.endObject() };
    }
    case 'pad':
      b.startObject(0);
      return { type: BuiltinOptionsType.PadOptions, offset: b.endObject() };
  }
}

/** table Operator { opcode_index, inputs, outputs, builtin_options_type, builtin_options, ... } */
function writeOperator(b: Builder, op: TflOperator, opcodeIndex: number): number {
  const inputs = intVector(b, op.inputs);
  const outputs = intVector(b, op.outputs);
  const options = op.options ? writeOptions(b, op.options) : undefined;
  b.startObject(5);
  b.addFieldInt32(0, opcodeIndex, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  if (options) {
    b.addFieldInt8(3, options.type, 0);
    b.addFieldOffset(4, options.offset, 0);
  }
  return b.endObject();
}

/** table TensorMap { name, tensor_index } */
function writeTensorMap(b: Builder, name: string, index: number): number {
  const n = b.createString(name);
  b.startObject(2);
  b.addFieldOffset(0, n, 0);
  b.addFieldInt32(1, index, 0);
  return b.endObject();
}

/** The signature key LiteRT reports for the graph written by `encodeTflite`. */
export const SIGNATURE_KEY = 'serving_default';

/**
 * One subgraph, one signature (`serving_default`, inputs and outputs named after their tensors),
 * buffer 0 the empty sentinel, one buffer per constant tensor.
 */
export function encodeTflite(g: TflGraph): Uint8Array {
  const b = new Builder(1024 + g.tensors.reduce((n, t) => n + (t.data?.length ?? 0) + 64, 0));

  // Operator codes, deduplicated by (op, version), in order of first use.
  const codes: { op: number; version: number }[] = [];
  const codeIndex = g.operators.map((o) => {
    let i = codes.findIndex((c) => c.op === o.op && c.version === o.version);
    if (i < 0) i = codes.push({ op: o.op, version: o.version }) - 1;
    return i;
  });

  // Buffers: 0 is the sentinel; constant tensors get their own.
  const bufferData: Uint8Array[] = [new Uint8Array(0)];
  const tensorBuffer = g.tensors.map((t) => (t.data ? bufferData.push(t.data) - 1 : 0));

  const buffers = bufferData.map((data) => {
    const d = data.length ? byteVector(b, data) : 0;
    b.startObject(1);
    if (d) b.addFieldOffset(0, d, 0);
    return b.endObject();
  });
  const tensors = g.tensors.map((t, i) => writeTensor(b, t, tensorBuffer[i]!));
  const operators = g.operators.map((o, i) => writeOperator(b, o, codeIndex[i]!));
  const opcodes = codes.map((c) => {
    // table OperatorCode { deprecated_builtin_code:byte, custom_code, version = 1, builtin_code }
    b.startObject(4);
    b.addFieldInt8(0, Math.min(c.op, 127), 0);
    b.addFieldInt32(2, c.version, 1);
    b.addFieldInt32(3, c.op, 0);
    return b.endObject();
  });

  // table SubGraph { tensors, inputs, outputs, operators, name }
  const sgTensors = offsetVector(b, tensors);
  const sgInputs = intVector(b, g.inputs);
  const sgOutputs = intVector(b, g.outputs);
  const sgOperators = offsetVector(b, operators);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, sgTensors, 0);
  b.addFieldOffset(1, sgInputs, 0);
  b.addFieldOffset(2, sgOutputs, 0);
  b.addFieldOffset(3, sgOperators, 0);
  b.addFieldOffset(4, sgName, 0);
  const subgraph = b.endObject();

  // table SignatureDef { inputs, outputs, signature_key, deprecated_tag, subgraph_index }
  const sigIn = offsetVector(b, g.inputs.map((i) => writeTensorMap(b, g.tensors[i]!.name, i)));
  const sigOut = offsetVector(b, g.outputs.map((i) => writeTensorMap(b, g.tensors[i]!.name, i)));
  const sigKey = b.createString(SIGNATURE_KEY);
  b.startObject(5);
  b.addFieldOffset(0, sigIn, 0);
  b.addFieldOffset(1, sigOut, 0);
  b.addFieldOffset(2, sigKey, 0);
  b.addFieldInt32(4, 0, 0);
  const signature = b.endObject();

  // table Model { version, operator_codes, subgraphs, description, buffers, metadata_buffer, metadata, signature_defs }
  const mCodes = offsetVector(b, opcodes);
  const mSubgraphs = offsetVector(b, [subgraph]);
  const mDescription = b.createString(g.description);
  const mBuffers = offsetVector(b, buffers);
  const mSignatures = offsetVector(b, [signature]);
  b.startObject(8);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, mCodes, 0);
  b.addFieldOffset(2, mSubgraphs, 0);
  b.addFieldOffset(3, mDescription, 0);
  b.addFieldOffset(4, mBuffers, 0);
  b.addFieldOffset(7, mSignatures, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array();
}

/** Little-endian bytes of int8 / int32 / float32 values. */
export function leBytes(values: ArrayLike<number>, type: 'i8' | 'i32' | 'f32'): Uint8Array {
  const size = type === 'i8' ? 1 : 4;
  const view = new DataView(new ArrayBuffer(values.length * size));
  for (let i = 0; i < values.length; i++) {
    if (type === 'i8') view.setInt8(i, values[i]!);
    else if (type === 'i32') view.setInt32(i * 4, values[i]!, true);
    else view.setFloat32(i * 4, values[i]!, true);
  }
  return new Uint8Array(view.buffer);
}

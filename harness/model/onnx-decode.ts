/**
 * Decoding ONNX protobuf messages (onnx-proto) into plain data: the graph's nodes and value
 * infos with defaults filled in, and constant tensors as exact numbers.
 */
import onnxProto from 'onnx-proto';
import { InputError } from '../util/errors.ts';

export const { onnx } = onnxProto;
export type ITensor = onnxProto.onnx.ITensorProto;
export type IAttribute = onnxProto.onnx.IAttributeProto;
export const DT = onnx.TensorProto.DataType;

/** protobufjs types every field as optional; these are the decoded messages with defaults filled in. */
export interface INode {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: IAttribute[];
}
export interface IValueInfo {
  name: string;
  type: onnxProto.onnx.ITypeProto | null;
}
export interface IGraph {
  name: string;
  node: INode[];
  initializer: Array<ITensor & { name: string }>;
  input: IValueInfo[];
  output: IValueInfo[];
}

export function normalizeGraph(g: onnxProto.onnx.IGraphProto): IGraph {
  const info = (v: onnxProto.onnx.IValueInfoProto): IValueInfo => ({ name: v.name ?? '', type: v.type ?? null });
  return {
    name: g.name ?? '',
    node: (g.node ?? []).map((n) => ({
      name: n.name ?? '', opType: n.opType ?? '', domain: n.domain ?? '',
      input: [...(n.input ?? [])], output: [...(n.output ?? [])], attribute: [...(n.attribute ?? [])],
    })),
    initializer: (g.initializer ?? []).map((t) => Object.assign(t, { name: t.name ?? '' })),
    input: (g.input ?? []).map(info),
    output: (g.output ?? []).map(info),
  };
}

/** A constant: an initializer, or a shape/value a ConstantOfShape, Reshape or Clip reads. */
export interface Constant {
  dims: number[];
  /** Float tensors as f32, integer tensors as exact numbers (int64 within 2^53). */
  data: Float32Array | number[];
}

/** int64 fields decode as Long objects when long.js is installed: exact numbers or an error. */
export function toInt(v: number | { toNumber(): number } | null | undefined, what: string): number {
  const n = typeof v === 'number' ? v : v == null ? 0 : v.toNumber();
  if (!Number.isSafeInteger(n)) throw new InputError(`${what}: ${String(v)} is not an exact integer`);
  return n;
}

export function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Decodes an initializer or attribute tensor: FLOAT, INT64, INT32, INT8, UINT8, from raw_data or the typed field. */
export function readConstant(t: ITensor, what: string): Constant {
  const dims = (t.dims ?? []).map((d) => toInt(d, `${what} dims`));
  const count = product(dims);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new InputError(`${what}: external tensor data is not supported`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const checkCount = (n: number): void => {
    if (n !== count) throw new InputError(`${what}: dims [${dims.join(',')}] need ${count} values, the tensor has ${n}`);
  };
  switch (t.dataType) {
    case DT.FLOAT: {
      if (view) {
        checkCount(view.byteLength / 4);
        return { dims, data: Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true)) };
      }
      checkCount(t.floatData?.length ?? 0);
      return { dims, data: Float32Array.from(t.floatData ?? []) };
    }
    case DT.INT64: {
      if (view) {
        checkCount(view.byteLength / 8);
        return { dims, data: Array.from({ length: count }, (_, i) => toInt(Number(view.getBigInt64(i * 8, true)), what)) };
      }
      checkCount(t.int64Data?.length ?? 0);
      return { dims, data: (t.int64Data ?? []).map((v) => toInt(v, what)) };
    }
    case DT.INT32: {
      if (view) {
        checkCount(view.byteLength / 4);
        return { dims, data: Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true)) };
      }
      checkCount(t.int32Data?.length ?? 0);
      return { dims, data: [...(t.int32Data ?? [])] };
    }
    case DT.INT8:
    case DT.UINT8: {
      // Quantized models (harness/qonnx/): codes. ONNX stores them one per int32_data entry.
      const signed = t.dataType === DT.INT8;
      if (view) {
        checkCount(view.byteLength);
        return { dims, data: Array.from({ length: count }, (_, i) => (signed ? view.getInt8(i) : view.getUint8(i))) };
      }
      checkCount(t.int32Data?.length ?? 0);
      const lo = signed ? -128 : 0;
      const data = [...(t.int32Data ?? [])];
      const bad = data.findIndex((v) => v < lo || v > lo + 255);
      if (bad >= 0) throw new InputError(`${what}: value ${data[bad]} at ${bad} is outside the ${signed ? 'int8' : 'uint8'} range`);
      return { dims, data };
    }
    default: {
      const type = onnx.TensorProto.DataType[t.dataType ?? 0] ?? String(t.dataType);
      throw new InputError(`${what}: element type ${type} is not supported (float32, int64, int32, int8, uint8 only)`);
    }
  }
}

export function valueInfoDims(v: IValueInfo): Array<number | null> | null {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dimValue != null && d.dimParam == null ? toInt(d.dimValue, `'${v.name}' dims`) : null));
}

export function sameInts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

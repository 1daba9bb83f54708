/**
 * The state of one ONNX import (onnx-import.ts): every ONNX value by name with its layout
 * (see the header there), the graph nodes emitted so far and their shapes, and the helpers
 * the op converters (onnx-ops.ts) read attributes and inputs and emit nodes with.
 */
import type onnxProto from 'onnx-proto';
import { type GraphIO, type GraphNode, type Pads, type SourceLayout, type TensorShape, nodeOutputShape } from './graph.ts';
import { type Constant, DT, type IAttribute, type INode, type IValueInfo, product, sameInts, toInt, valueInfoDims } from './onnx-decode.ts';
import { InputError } from '../util/errors.ts';

export type Value =
  | { kind: 'const'; constant: Constant }
  /** A ConstantOfShape output: becomes a zeros node when a Concat reads it. */
  | { kind: 'zeros'; dims: number[] }
  | {
      kind: 'tensor';
      /** The graph tensor holding the data. */
      name: string;
      shape: TensorShape;
      layout: SourceLayout;
      /** ONNX dims with batch 1. */
      dims: number[];
      /**
       * Set on a vector whose ONNX order is c, y, x over this shape while it is stored y, x, c:
       * only Gemm reads it, permuting its weight columns.
       */
      chwOf?: TensorShape;
    };
export type TensorValue = Extract<Value, { kind: 'tensor' }>;

/** The state of one import: values by ONNX name, the nodes emitted so far and their shapes. */
export class ImportState {
  readonly values = new Map<string, Value>();
  readonly nodes: GraphNode[] = [];
  readonly shapes = new Map<string, TensorShape>();
  /** ONNX value name -> the op types of the nodes that read it ('' for a graph output). */
  readonly readers = new Map<string, string[]>();
  readonly opset: number;
  private usedNames = new Set<string>();

  constructor(model: onnxProto.onnx.ModelProto) {
    const op = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
    this.opset = op ? toInt(op.version, 'opset version') : 13;
  }

  defineInput(inputs: IValueInfo[], nodes: INode[]): GraphIO {
    const real = inputs.filter((i) => !this.values.has(i.name));
    if (real.length !== 1) throw new InputError(`the graph must have exactly one input, found ${real.length} (${real.map((i) => i.name).join(', ')})`);
    const v = real[0]!;
    if (v.type?.tensorType?.elemType !== DT.FLOAT) throw new InputError(`graph input '${v.name}' must be float32`);
    const dims = valueInfoDims(v);
    if (!dims || dims.length < 2) throw new InputError(`graph input '${v.name}' needs a known shape [N,C,H,W] or [N,K]`);
    const rest = dims.slice(1);
    if (dims[0] !== null && dims[0] !== 1) throw new InputError(`graph input '${v.name}': batch size ${dims[0]} (only 1 is supported)`);
    if (rest.some((d) => d === null || d < 1)) throw new InputError(`graph input '${v.name}': dims [${dims.join(',')}] must be known (only the batch may be symbolic)`);
    const known = [1, ...(rest as number[])];
    let shape: TensorShape;
    let layout: SourceLayout;
    if (known.length === 4) {
      const readers = nodes.filter((n) => n.input.includes(v.name));
      const nhwc = readers.length > 0 && readers.every((n) => n.opType === 'Transpose' && sameInts(this.ints(n, 'perm', []), [0, 3, 1, 2]));
      layout = nhwc ? 'nhwc' : 'nchw';
      shape = nhwc ? { h: known[1]!, w: known[2]!, c: known[3]! } : { h: known[2]!, w: known[3]!, c: known[1]! };
    } else {
      layout = 'flat';
      shape = { h: 1, w: 1, c: product(known) };
    }
    this.values.set(v.name, { kind: 'tensor', name: v.name, shape, layout, dims: known });
    this.shapes.set(v.name, shape);
    this.usedNames.add(v.name);
    return { name: v.name, sourceName: v.name, shape, sourceLayout: layout, sourceDims: known };
  }

  defineOutput(o: IValueInfo): GraphIO {
    const v = this.values.get(o.name);
    if (!v || v.kind !== 'tensor') throw new InputError(`graph output '${o.name}' is not a computed tensor`);
    const declared = valueInfoDims(o);
    if (declared && declared.length === v.dims.length) {
      declared.forEach((d, i) => {
        if (i > 0 && d !== null && d !== v.dims[i]) {
          throw new InputError(`graph output '${o.name}': declared [${declared.join(',')}], computed [${v.dims.join(',')}]`);
        }
      });
    }
    if (v.chwOf) throw new Error(`graph output '${o.name}' has Gemm-permuted order (importer bug)`);
    return { name: v.name, sourceName: o.name, shape: v.shape, sourceLayout: v.layout, sourceDims: v.dims };
  }

  // --- attributes and inputs

  attr(n: INode, name: string): IAttribute | undefined {
    return n.attribute?.find((a) => a.name === name);
  }

  ints(n: INode, name: string, dflt: number[]): number[] {
    const a = this.attr(n, name);
    return a ? (a.ints ?? []).map((v) => toInt(v, `attribute ${name}`)) : dflt;
  }

  int(n: INode, name: string, dflt: number): number {
    const a = this.attr(n, name);
    return a ? toInt(a.i, `attribute ${name}`) : dflt;
  }

  float(n: INode, name: string, dflt: number): number {
    const a = this.attr(n, name);
    return a ? (a.f ?? 0) : dflt;
  }

  str(n: INode, name: string, dflt: string): string {
    const a = this.attr(n, name);
    return a?.s ? new TextDecoder().decode(a.s) : dflt;
  }

  tensorInput(n: INode, label: string, index: number): TensorValue {
    const name = n.input[index];
    const v = name ? this.values.get(name) : undefined;
    if (!v) throw new InputError(`${label}: input ${index} '${name ?? ''}' is not defined by an earlier node or initializer`);
    if (v.kind !== 'tensor') throw new InputError(`${label}: input ${index} '${name}' must be a computed tensor, not a constant`);
    return v;
  }

  constInput(n: INode, label: string, index: number, optional: true): Constant | undefined;
  constInput(n: INode, label: string, index: number, optional?: false): Constant;
  constInput(n: INode, label: string, index: number, optional = false): Constant | undefined {
    const name = n.input[index];
    if (!name) {
      if (optional) return undefined;
      throw new InputError(`${label}: input ${index} is missing`);
    }
    const v = this.values.get(name);
    if (!v) throw new InputError(`${label}: input ${index} '${name}' is not defined`);
    if (v.kind !== 'const') throw new InputError(`${label}: input ${index} '${name}' must be a constant (an initializer)`);
    return v.constant;
  }

  floats(c: Constant, label: string, what: string, count: number): Float32Array {
    if (!(c.data instanceof Float32Array)) throw new InputError(`${label}: ${what} must be float32`);
    if (c.data.length !== count) throw new InputError(`${label}: ${what} has ${c.data.length} values, expected ${count}`);
    return c.data;
  }

  requireSpatialNchw(v: TensorValue, label: string): void {
    if (v.layout !== 'nchw') throw new InputError(`${label}: needs an NCHW [1,C,H,W] input, got [${v.dims.join(',')}] (${v.layout})`);
  }

  /** Graph tensor names are the ONNX ones; a made-up name never collides with them. */
  freshName(base: string): string {
    let name = base;
    for (let k = 1; this.usedNames.has(name) || this.values.has(name); k++) name = `${base}#${k}`;
    this.usedNames.add(name);
    return name;
  }

  /** Appends a graph node and checks its shape (InputError naming the node). */
  emit(node: GraphNode): TensorShape {
    const shape = nodeOutputShape(node, node.inputs.map((i) => this.shapes.get(i)!));
    this.nodes.push(node);
    this.shapes.set(node.output, shape);
    return shape;
  }

  setTensor(onnxName: string, name: string, shape: TensorShape, layout: SourceLayout, extra: Partial<TensorValue> = {}): void {
    const dims = layout === 'nchw' ? [1, shape.c, shape.h, shape.w] : layout === 'nhwc' ? [1, shape.h, shape.w, shape.c] : [1, shape.c];
    this.values.set(onnxName, { kind: 'tensor', name, shape, layout, dims, ...extra });
  }

  pads(n: INode, label: string, x: TensorShape, k: [number, number], strides: [number, number]): Pads {
    const autoPad = this.str(n, 'auto_pad', 'NOTSET');
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const total = (size: number, kk: number, s: number): number => Math.max((Math.ceil(size / s) - 1) * s + kk - size, 0);
      const th = total(x.h, k[0], strides[0]);
      const tw = total(x.w, k[1], strides[1]);
      const lower = autoPad === 'SAME_LOWER';
      const before = (t: number): number => (lower ? Math.ceil(t / 2) : Math.floor(t / 2));
      return { top: before(th), left: before(tw), bottom: th - before(th), right: tw - before(tw) };
    }
    if (autoPad === 'VALID') return { top: 0, left: 0, bottom: 0, right: 0 };
    if (autoPad !== 'NOTSET') throw new InputError(`${label}: auto_pad '${autoPad}' is not supported`);
    const p = this.ints(n, 'pads', [0, 0, 0, 0]);
    if (p.length !== 4 || p.some((v) => v < 0)) throw new InputError(`${label}: pads [${p.join(',')}] must be 4 non-negative values`);
    // ONNX order: all begins (top, left), then all ends (bottom, right).
    return { top: p[0]!, left: p[1]!, bottom: p[2]!, right: p[3]! };
  }

  window(n: INode, label: string, kernel: number[] | null): { k: [number, number]; strides: [number, number] } {
    const k = this.ints(n, 'kernel_shape', kernel ?? []);
    if (k.length !== 2) throw new InputError(`${label}: kernel_shape [${k.join(',')}] must be 2-D`);
    if (kernel && !sameInts(k, kernel)) throw new InputError(`${label}: kernel_shape [${k.join(',')}] differs from the weights' ${kernel.join('x')}`);
    const s = this.ints(n, 'strides', [1, 1]);
    if (s.length !== 2 || s.some((v) => v < 1)) throw new InputError(`${label}: strides [${s.join(',')}] must be 2 positive values`);
    const d = this.ints(n, 'dilations', [1, 1]);
    if (d.some((v) => v !== 1)) throw new InputError(`${label}: dilations [${d.join(',')}] are not supported (only 1)`);
    return { k: [k[0]!, k[1]!], strides: [s[0]!, s[1]!] };
  }
}

/**
 * Step 1 of a quantized import (onnx-quant.ts): the quantized ONNX graph rewritten as a float
 * graph the float importer (harness/model/onnx-import.ts) reads, plus what it said about
 * quantization:
 *
 *  - every QuantizeLinear / DequantizeLinear / QONNX Quant on an activation disappears: its
 *    output becomes the same value as its input (the integer graph holds a tensor's codes, not
 *    a float and its quantized copy), and the quantizer it states is recorded on that value
 *    (a `Decl`);
 *  - quantization operators on constants are evaluated (qdq-math.ts), so integer weights stay
 *    integers: a weight or bias constant carries its effective integer values q - zero point
 *    and its scales (`QuantizedConst`);
 *  - QLinearConv, QLinearMatMul, QLinearAdd, QLinearConcat become Conv, Gemm, Add, Concat on
 *    the values, their scales and zero points recorded;
 *  - a Conv, Gemm or MatMul reading integer weights is emitted with the integer values as its
 *    float weights (exact: |value| <= 127), so the float importer lays them out (OHWI, Gemm
 *    column permutations) and resolve.ts reads the codes back from the graph.
 *
 * Value names: a dropped node's output and its input are one value (union-find); the
 * representative is the graph input's or a graph output's name when the class holds one.
 */
import type onnxProto from 'onnx-proto';
import { DT, type IAttribute, type IGraph, type INode, type ITensor, type IValueInfo, normalizeGraph, onnx, product, readConstant, toInt } from '../model/onnx-decode.ts';
import { InputError } from '../util/errors.ts';
import {
  type OnnxCodeType, axisIndexer, bipolarCode, codeTypeRange, dequantizeLinear, qonnxIntRange, qonnxQuantCode, qonnxRoundingMode, qonnxTrunc, quantizeLinear,
  quantizeLinearValue,
} from './qdq-math.ts';

export type QuantFormat = 'qdq' | 'qoperator' | 'qonnx';
export const QONNX_DOMAINS = ['qonnx.custom_op.general', 'finn.custom_op.general', 'onnx.brevitas'] as const;
export const MS_DOMAIN = 'com.microsoft';

const QOPERATOR_OPS = new Set(['QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger', 'QLinearAdd', 'QLinearConcat']);
const QONNX_OPS = new Set(['Quant', 'IntQuant', 'BipolarQuant', 'Trunc']);

/** The codes of a quantized value in the source model: its integer type's range. */
export interface SourceType {
  /** 'int8', 'uint8', or a QONNX 'int4', 'uint3 narrow', ... */
  name: string;
  lo: number;
  hi: number;
}

/**
 * What one node (or the metadata) states about a value's quantizer.
 *  - 'meta':   our exporter's metadata `<value>.scale` / `<value>.zero_point` (f64, exact);
 *  - 'strong': QuantizeLinear, DequantizeLinear, QONNX Quant, QLinearAdd, QLinearConcat, whose
 *              arithmetic depends on the scale;
 *  - 'weak':   QLinearConv, QLinearMatMul: the scale only enters the layer's multiplier, which
 *              resolve.ts keeps whatever scale the value gets; the zero point must agree;
 *  - 'range':  a Clip (on codes, or before a QuantizeLinear) that narrows the codes to [lo, hi].
 */
export interface Decl {
  kind: 'meta' | 'strong' | 'weak' | 'range';
  by: string;
  scale?: number;
  zeroPoint?: number;
  type?: SourceType;
  /** The codes the source can hold, in its type's domain. */
  lo: number;
  hi: number;
}

/** Integer values of a constant and their scales: real value = values[i] * scales[channel of i]. */
export interface QuantizedConst {
  /** q - zero point, per element (exact integers; zero points must be integers). */
  values: number[];
  /** One scale per entry of `axis`, or one for the whole tensor (axis null). */
  scales: number[];
  axis: number | null;
  /** The node that made it (a DequantizeLinear, Quant, ...). */
  by: string;
  /** A QONNX Quant's declared bit width. */
  bits?: number;
}

export interface QConst {
  dims: number[];
  data: Float32Array | number[];
  elem: number;
  q?: QuantizedConst;
}

/** A convolution (Conv, Gemm, MatMul, QLinearConv, QLinearMatMul) with integer weights, by its graph node name. */
export interface ConvInfo {
  node: string;
  label: string;
  /** The ONNX node's own name (metadata fkb.weight_bits.<name>). */
  onnxName: string;
  outC: number;
  /** Real weight scale per output channel (alpha folded in). */
  weightScale: number[];
  declaredBits?: number;
  /** onnxruntime's multiplier f32(f32(xs * ws[o]) / ys): from the node's own scales (QLinear*), or the resolved tensors' (undefined). */
  ort?: { xs?: number; ys?: number };
  /** int32 bias codes; `scales` null when they are in units of xs * ws[o] by definition (QLinearConv). */
  bias?: { codes: number[]; scales: number[] | null; by: string };
  input: string;
  output: string;
}

/** A Clip on integer codes (QOperator): its graph clip node gets real bounds once the value's quantizer is known. */
export interface CodeClip {
  node: string;
  label: string;
  input: string;
  lo: number;
  hi: number;
}

/** A Concat on integer codes: its inputs must share the output's quantizer; constant inputs are zeros. */
export interface CodeConcat {
  node: string;
  label: string;
  output: string;
  inputs: string[];
  /** Constant inputs (now ConstantOfShape zeros): their code, which must be the output's zero point. */
  zeros: Array<{ name: string; code: number }>;
}

export interface Rewritten {
  model: onnxProto.onnx.ModelProto;
  format: QuantFormat;
  /** Quantizer statements by ONNX value name (canonicalize with `canonical`). */
  decls: Map<string, Decl[]>;
  convs: ConvInfo[];
  codeClips: CodeClip[];
  codeConcats: CodeConcat[];
  canonical(name: string): string;
  /** fkb.activation_bits.<value> (any name of the value) and fkb.weight_bits.<node>. */
  activationBits: Map<string, { bits: number; key: string }>;
  weightBits: Map<string, number>;
  /** Original graph input and output names with their ONNX element types. */
  input: { name: string; elem: number };
  outputs: Array<{ name: string; elem: number }>;
  notes: string[];
}

const f32 = Math.fround;

function codeTypeOf(elem: number | undefined, what: string): OnnxCodeType {
  if (elem === DT.INT8) return 'int8';
  if (elem === DT.UINT8) return 'uint8';
  const name = onnx.TensorProto.DataType[elem ?? 0] ?? String(elem);
  throw new InputError(`${what}: element type ${name} is not supported (int8 or uint8 codes only)`);
}

function sourceType(t: OnnxCodeType): SourceType {
  const [lo, hi] = codeTypeRange(t);
  return { name: t, lo, hi };
}

function attr(n: INode, name: string): IAttribute | undefined {
  return n.attribute.find((a) => a.name === name);
}

function intAttr(n: INode, name: string, dflt: number): number {
  const a = attr(n, name);
  return a ? toInt(a.i, `attribute ${name}`) : dflt;
}

function floatAttr(n: INode, name: string, dflt: number): number {
  const a = attr(n, name);
  return a ? (a.f ?? 0) : dflt;
}

function strAttr(n: INode, name: string, dflt: string): string {
  const a = attr(n, name);
  return a?.s && a.s.length ? new TextDecoder().decode(a.s) : dflt;
}

/** The format of a decoded graph: QONNX if any node is in a QONNX domain, QOperator if any QLinear or integer op (or an integer input), else QDQ. */
export function detectFormat(g: IGraph, initializers: Set<string>): QuantFormat | null {
  if (g.node.some((n) => (QONNX_DOMAINS as readonly string[]).includes(n.domain) && QONNX_OPS.has(n.opType))) return 'qonnx';
  if (g.node.some((n) => QOPERATOR_OPS.has(n.opType))) return 'qoperator';
  const intInput = g.input.some((i) => !initializers.has(i.name) && [DT.INT8, DT.UINT8].includes(i.type?.tensorType?.elemType ?? -1));
  if (g.node.some((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && (!n.domain || n.domain === 'ai.onnx'))) return intInput ? 'qoperator' : 'qdq';
  return intInput ? 'qoperator' : null;
}

/** The axis a QONNX scale or zero point varies along (null: one value), by numpy broadcasting against `dims`. */
function broadcastAxis(pdims: number[], dims: number[], what: string): number | null {
  if (product(pdims) === 1) return null;
  if (pdims.length > dims.length) throw new InputError(`${what}: shape [${pdims.join(',')}] does not broadcast to [${dims.join(',')}]`);
  const off = dims.length - pdims.length;
  let axis: number | null = null;
  pdims.forEach((d, i) => {
    if (d === 1) return;
    if (d !== dims[off + i]) throw new InputError(`${what}: shape [${pdims.join(',')}] does not broadcast to [${dims.join(',')}]`);
    if (axis !== null) throw new InputError(`${what}: shape [${pdims.join(',')}] varies along more than one axis (per-tensor or one axis only)`);
    axis = off + i;
  });
  return axis;
}

class Rewriter {
  readonly consts = new Map<string, QConst>();
  readonly codeTypes = new Map<string, SourceType>();
  readonly decls = new Map<string, Decl[]>();
  readonly out: INode[] = [];
  readonly convs: ConvInfo[] = [];
  readonly codeClips: CodeClip[] = [];
  readonly codeConcats: CodeConcat[] = [];
  readonly notes: string[] = [];
  /** A float value a quantizer reads -> that quantizer's label. */
  readonly quantized = new Map<string, string>();
  /** Emitted node by output name. */
  readonly producer = new Map<string, INode>();
  private readonly parent = new Map<string, string>();
  private readonly rank = new Map<string, number>();
  private readonly usedConsts = new Set<string>();
  private readonly extraInits: ITensor[] = [];
  private fresh = 0;

  constructor(readonly g: IGraph, readonly opset: number, readonly inputName: string, outputNames: string[]) {
    this.rank.set(inputName, 2);
    for (const o of outputNames) if (o !== inputName) this.rank.set(o, 1);
  }

  // --- value classes

  find(a: string): string {
    let r = a;
    while (this.parent.has(r)) r = this.parent.get(r)!;
    return r;
  }

  /** Makes `a` and `b` one value; the representative is a graph input/output name if either class has one, else `a`'s. */
  union(a: string, b: string, label: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const ka = this.rank.get(ra) ?? 0;
    const kb = this.rank.get(rb) ?? 0;
    if (ka === 1 && kb === 1) throw new InputError(`${label}: graph outputs '${ra}' and '${rb}' would be the same tensor`);
    if (kb > ka) this.parent.set(ra, rb);
    else this.parent.set(rb, ra);
  }

  addDecl(value: string, d: Decl): void {
    this.decls.set(value, [...(this.decls.get(value) ?? []), d]);
  }

  // --- constants

  constOf(n: INode, label: string, index: number, what: string, optional: true): QConst | undefined;
  constOf(n: INode, label: string, index: number, what: string, optional?: false): QConst;
  constOf(n: INode, label: string, index: number, what: string, optional = false): QConst | undefined {
    const name = n.input[index];
    if (!name) {
      if (optional) return undefined;
      throw new InputError(`${label}: input ${index} (${what}) is missing`);
    }
    const c = this.consts.get(name);
    if (!c) throw new InputError(`${label}: ${what} '${name}' must be a constant (an initializer), it is computed`);
    return c;
  }

  floats(c: QConst, label: string, what: string): number[] {
    if (!(c.data instanceof Float32Array)) throw new InputError(`${label}: ${what} must be float32`);
    const bad = c.data.findIndex((v) => !(v > 0 && Number.isFinite(v)));
    if (what.includes('scale') && bad >= 0) throw new InputError(`${label}: ${what} ${c.data[bad]} at ${bad} must be a positive finite number`);
    return Array.from(c.data);
  }

  scalar(c: QConst, label: string, what: string): number {
    if (c.data.length !== 1) throw new InputError(`${label}: ${what} must be one value (per tensor), it has ${c.data.length}: per-channel activation quantizers are not supported (the integer graph has one scale and zero point per tensor)`);
    return c.data[0]!;
  }

  /** An integer-valued constant (zero point, codes). */
  ints(c: QConst, label: string, what: string): number[] {
    if (c.data instanceof Float32Array) {
      const bad = c.data.findIndex((v) => !Number.isInteger(v));
      if (bad >= 0) throw new InputError(`${label}: ${what} ${c.data[bad]} at ${bad} is not an integer`);
    }
    return Array.from(c.data);
  }

  /** A fresh name for an initializer the rewrite makes. */
  newConst(hint: string, c: QConst): string {
    let name: string;
    do name = `${hint}#q${this.fresh++}`;
    while (this.consts.has(name));
    this.consts.set(name, c);
    return name;
  }

  // --- emission

  /** Marks a constant an already emitted node now reads (a Clip whose bounds were replaced). */
  emitConstUse(name: string): void {
    this.usedConsts.add(name);
  }

  emit(n: INode): void {
    for (const i of n.input) if (i && this.consts.has(i)) this.usedConsts.add(i);
    this.out.push(n);
    for (const o of n.output) if (o) this.producer.set(o, n);
  }

  kindOf(name: string): 'const' | 'codes' | 'float' {
    if (this.consts.has(name)) return 'const';
    return this.codeTypes.has(name) ? 'codes' : 'float';
  }

  computed(n: INode, label: string, index: number, what: string, want: 'codes' | 'float'): string {
    const name = n.input[index];
    if (!name) throw new InputError(`${label}: input ${index} (${what}) is missing`);
    const k = this.kindOf(name);
    if (k === 'const') throw new InputError(`${label}: ${what} '${name}' must be a computed tensor, not a constant`);
    if (k !== want) {
      throw new InputError(want === 'codes'
        ? `${label}: ${what} '${name}' must be integer codes (the output of a QuantizeLinear or a QLinear op), it is float`
        : `${label}: ${what} '${name}' must be a float tensor, it holds integer codes (${this.codeTypes.get(name)!.name}); dequantize it first`);
    }
    return name;
  }

  finish(model: onnxProto.onnx.ModelProto, input: IValueInfo, outputs: IValueInfo[]): onnxProto.onnx.ModelProto {
    const c = (v: string): string => (v ? this.find(v) : v);
    const node = this.out.map((n) => ({ ...n, input: n.input.map(c), output: n.output.map(c) }));
    const initializer: ITensor[] = [...this.extraInits];
    for (const name of this.usedConsts) initializer.push(constTensor(name, this.consts.get(name)!));
    const dims = (v: IValueInfo) => v.type?.tensorType?.shape ?? null;
    const floatInfo = (name: string, v: IValueInfo): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: DT.FLOAT, shape: dims(v) } } });
    return onnx.ModelProto.create({
      irVersion: model.irVersion,
      opsetImport: model.opsetImport,
      graph: {
        name: this.g.name,
        node,
        initializer,
        input: [floatInfo(c(input.name), input)],
        output: outputs.map((o) => floatInfo(c(o.name), o)),
      },
    });
  }
}

/** A rewritten constant as an initializer: float32, or its integer type. */
function constTensor(name: string, c: QConst): ITensor & { name: string } {
  if (c.data instanceof Float32Array) return { name, dataType: DT.FLOAT, dims: c.dims, floatData: Array.from(c.data) };
  if (c.elem === DT.INT64) return { name, dataType: DT.INT64, dims: c.dims, int64Data: c.data.slice() };
  return { name, dataType: c.elem === DT.INT8 || c.elem === DT.UINT8 ? c.elem : DT.INT32, dims: c.dims, int32Data: c.data.slice() };
}

/** The element type of an initializer or Constant tensor, read with its values. */
function readTyped(t: ITensor, what: string): QConst {
  const c = readConstant(t, what);
  return { dims: c.dims, data: c.data, elem: t.dataType ?? DT.FLOAT };
}

/**
 * Rewrites a decoded quantized model (see the file comment). InputError naming the node for
 * anything the integer graph cannot reproduce.
 */
export function rewriteQuantized(model: onnxProto.onnx.ModelProto): Rewritten {
  if (!model.graph) throw new InputError('the model has no graph');
  const g = normalizeGraph(model.graph);
  const inits = new Set(g.initializer.map((t) => t.name));
  const format = detectFormat(g, inits);
  if (!format) throw new InputError('not a quantized model: no QuantizeLinear/DequantizeLinear, QLinear*, ConvInteger/MatMulInteger or QONNX Quant node, and a float input (import it with importOnnx)');
  const op = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = op ? toInt(op.version, 'opset version') : 13;

  const realInputs = g.input.filter((i) => !inits.has(i.name));
  if (realInputs.length !== 1) throw new InputError(`the graph must have exactly one input, found ${realInputs.length} (${realInputs.map((i) => i.name).join(', ')})`);
  const input = realInputs[0]!;
  const r = new Rewriter(g, opset, input.name, g.output.map((o) => o.name));
  for (const t of g.initializer) r.consts.set(t.name, readTyped(t, `initializer '${t.name}'`));
  const inElem = input.type?.tensorType?.elemType ?? DT.FLOAT;
  if (inElem === DT.INT8 || inElem === DT.UINT8) r.codeTypes.set(input.name, sourceType(codeTypeOf(inElem, `graph input '${input.name}'`)));
  else if (inElem !== DT.FLOAT) throw new InputError(`graph input '${input.name}' must be float32, int8 or uint8`);

  // Original readers of every value, to refuse a quantized value that is also read as float.
  const readers = new Map<string, string[]>();
  const names = new Set<string>();
  const nodeNames = g.node.map((n, i) => {
    let name = n.name || `${n.opType} #${i} -> ${n.output[0] ?? ''}`;
    if (names.has(name)) name = `${name} #${i}`;
    names.add(name);
    return name;
  });
  g.node.forEach((n, i) => {
    for (const v of n.input) if (v) readers.set(v, [...(readers.get(v) ?? []), `node '${nodeNames[i]}' (${n.opType})`]);
  });
  for (const o of g.output) readers.set(o.name, [...(readers.get(o.name) ?? []), 'the graph output']);

  g.node.forEach((n, i) => rewriteNode(r, { ...n, name: nodeNames[i]! }, `node '${nodeNames[i]}' (${n.opType})`));

  for (const [value, by] of r.quantized) {
    const other = (readers.get(value) ?? []).filter((l) => l !== by && !/\((QuantizeLinear|Quant|IntQuant)\)$/.test(l));
    if (other.length > 0) {
      throw new InputError(`${by}: '${value}' is quantized here but also read as float by ${other.join(', ')}: the integer graph holds only its codes (quantize every path)`);
    }
  }

  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const activationBits = new Map<string, { bits: number; key: string }>();
  const weightBits = new Map<string, number>();
  for (const [key, value] of meta) {
    const m = /^fkb\.(activation|weight)_bits\.(.+)$/.exec(key);
    if (m) {
      const bits = Number(value);
      if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new InputError(`metadata '${key}': bit width '${value}' must be an integer in [2, 8]`);
      if (m[1] === 'activation') activationBits.set(m[2]!, { bits, key });
      else weightBits.set(m[2]!, bits);
    }
    const s = /^(.+)\.scale$/.exec(key);
    if (s && !key.startsWith('fkb.')) {
      const v = s[1]!;
      const zp = meta.get(`${v}.zero_point`);
      const scale = Number(value);
      const zero = Number(zp);
      if (zp === undefined) continue;
      if (!(scale > 0 && Number.isFinite(scale)) || !Number.isInteger(zero)) throw new InputError(`metadata '${key}' = '${value}', '${v}.zero_point' = '${zp}': need a positive scale and an integer zero point`);
      const known = v === input.name || r.producer.has(v) || r.decls.has(v);
      if (!known) continue;
      const type = r.codeTypes.get(v) ?? sourceType('int8');
      r.addDecl(v, { kind: 'meta', by: `metadata '${key}'`, scale, zeroPoint: zero, type, lo: type.lo, hi: type.hi });
    }
  }

  const outputs = g.output.map((o) => ({ name: o.name, elem: o.type?.tensorType?.elemType ?? DT.FLOAT }));
  const rewritten = r.finish(model, input, g.output);
  return {
    model: rewritten, format, decls: r.decls, convs: r.convs, codeClips: r.codeClips, codeConcats: r.codeConcats,
    canonical: (name) => r.find(name), activationBits, weightBits,
    input: { name: input.name, elem: inElem }, outputs, notes: r.notes,
  };
}

// --- the nodes --------------------------------------------------------------------------------

function rewriteNode(r: Rewriter, n: INode, label: string): void {
  const qonnx = (QONNX_DOMAINS as readonly string[]).includes(n.domain);
  const ms = n.domain === MS_DOMAIN;
  if (n.domain && n.domain !== 'ai.onnx' && !qonnx && !ms) throw new InputError(`${label}: unsupported op '${n.domain}.${n.opType}'`);
  const allConst = n.input.every((i) => !i || r.consts.has(i));
  const out = n.output[0] ?? '';
  if (n.opType === 'Constant' && !n.domain) {
    const t = attr(n, 'value')?.t;
    if (!t) throw new InputError(`${label}: only a tensor 'value' is supported`);
    return void r.consts.set(out, readTyped(t, label));
  }
  if (qonnx) {
    switch (n.opType) {
      case 'Quant':
      case 'IntQuant':
        return allConst && n.input[0] ? foldQonnxQuant(r, n, label) : qonnxActivationQuant(r, n, label);
      case 'BipolarQuant':
        if (allConst) return foldBipolar(r, n, label);
        throw new InputError(`${label}: BipolarQuant on an activation: its output sign(x) * scale in {-1, +1} is a threshold at 0, not a rounding quantizer real = scale * (q - zero point) with an integer zero point (on the codes {0, 1} it would need zero point 1/2), so the integer graph cannot produce it (binary weights are supported)`);
      case 'Trunc':
        if (allConst) return foldTrunc(r, n, label);
        throw new InputError(`${label}: Trunc on an activation (a right shift of the codes by a power of two rounded ${strAttr(n, 'rounding_mode', 'FLOOR')}) has no counterpart in the integer graph: its average pools divide by the window size and round half away from zero, and nothing else shifts codes`);
      default:
        throw new InputError(`${label}: unsupported QONNX op '${n.opType}' (supported: Quant/IntQuant, BipolarQuant on constants, Trunc on constants)`);
    }
  }
  if (ms) {
    switch (n.opType) {
      case 'QLinearAdd':
        return qlinearAdd(r, n, label);
      case 'QLinearConcat':
        return qlinearConcat(r, n, label);
      default:
        throw new InputError(`${label}: unsupported op '${MS_DOMAIN}.${n.opType}' (supported: QLinearAdd, QLinearConcat)`);
    }
  }
  switch (n.opType) {
    case 'QuantizeLinear':
      return allConst ? foldQuantizeLinear(r, n, label) : quantizeActivation(r, n, label);
    case 'DequantizeLinear':
      return allConst ? foldDequantizeLinear(r, n, label) : dequantizeActivation(r, n, label);
    case 'Identity':
      if (allConst) return void r.consts.set(out, r.consts.get(n.input[0]!)!);
      if (r.codeTypes.has(n.input[0]!)) r.codeTypes.set(out, r.codeTypes.get(n.input[0]!)!);
      return r.union(n.input[0]!, out, label);
    case 'Conv':
      return conv(r, n, label);
    case 'Gemm':
    case 'MatMul':
      return gemm(r, n, label);
    case 'QLinearConv':
      return qlinearConv(r, n, label);
    case 'QLinearMatMul':
      return qlinearMatMul(r, n, label);
    case 'ConvInteger':
    case 'MatMulInteger':
      throw new InputError(`${label}: ${n.opType} writes int32 accumulators, and the integer graph's tensors are int8 codes with a quantizer: its output has no scale until a later float Mul, which onnxruntime's dynamic quantization computes per input at run time. Use importQuantizedLayer for this op alone (requantization 'raw')`);
    case 'DynamicQuantizeLinear':
      throw new InputError(`${label}: dynamic quantization computes the scale and zero point from each input at run time; the integer graph needs fixed quantizers (quantize the model statically)`);
    case 'BatchNormalization':
      throw new InputError(`${label}: BatchNormalization in a quantized model: folding it into the convolution would change the model's integer weights; fold it before quantizing`);
    case 'Cast':
      throw new InputError(`${label}: Cast is not supported in a quantized model`);
    case 'Clip':
    case 'Relu':
      if (r.kindOf(n.input[0] ?? '') === 'codes') return codeClip(r, n, label);
      return passThrough(r, n, label);
    case 'Concat':
      if (n.input.some((i) => r.kindOf(i) === 'codes')) return codeConcat(r, n, label);
      return passThrough(r, n, label);
    case 'Add':
      if (!n.input.some((i) => r.kindOf(i) === 'codes')) {
        r.notes.push(`${label}: the integer add is TFLite's fixed-point one (int-graph.ts); onnxruntime's QLinearAdd computes in float, so a code can differ by one at a rounding tie`);
      }
    // falls through
    case 'AveragePool':
    case 'GlobalAveragePool':
    case 'Softmax':
      if (n.input.some((i) => r.kindOf(i) === 'codes')) {
        throw new InputError(`${label}: ${n.opType} on integer codes '${n.input.find((i) => r.kindOf(i) === 'codes')}' (use QLinearAdd or dequantize first)`);
      }
      if (n.opType === 'AveragePool' || n.opType === 'GlobalAveragePool') {
        r.notes.push(`${label}: the integer average rounds the sum of codes / n half away from zero (TFLite); onnxruntime's QLinear average pools round in float, so a code can differ by one at a rounding tie`);
      }
      return passThrough(r, n, label);
    default:
      return passThrough(r, n, label);
  }
}

/** Any other node: emitted as it is; integer codes flow through layout ops and MaxPool. */
function passThrough(r: Rewriter, n: INode, label: string): void {
  const codes = n.input.map((i) => r.codeTypes.get(i)).find((t) => t);
  if (codes && ['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze'].includes(n.opType)) r.codeTypes.set(n.output[0]!, codes);
  else if (codes) throw new InputError(`${label}: ${n.opType} on integer codes is not supported`);
  r.emit(n);
}

// --- QuantizeLinear / DequantizeLinear

interface LinearParams {
  scale: number[];
  zeroPoint: number[];
  type: OnnxCodeType;
  axis: number | null;
}

function linearParams(r: Rewriter, n: INode, label: string, dims: number[] | null, codesElem?: number): LinearParams {
  const s = r.constOf(n, label, 1, 'scale');
  const z = r.constOf(n, label, 2, 'zero point', true);
  const scale = r.floats(s, label, 'scale');
  if (!dims && scale.length !== 1) r.scalar(s, label, 'scale');
  const type = z ? codeTypeOf(z.elem, `${label} zero point`) : codesElem !== undefined ? codeTypeOf(codesElem, label) : 'uint8';
  const zeroPoint = z ? r.ints(z, label, 'zero point') : [];
  if (z && z.data.length !== scale.length) throw new InputError(`${label}: ${scale.length} scales but ${z.data.length} zero points`);
  const raw = intAttr(n, 'axis', 1);
  const axis = scale.length > 1 && dims ? (raw < 0 ? raw + dims.length : raw) : null;
  return { scale, zeroPoint, type, axis };
}

function foldQuantizeLinear(r: Rewriter, n: INode, label: string): void {
  const x = r.constOf(n, label, 0, 'x');
  const p = linearParams(r, n, label, x.dims);
  const codes = quantizeLinear(r.floats(x, label, 'x'), x.dims, p.scale, p.zeroPoint, p.type, p.axis);
  r.consts.set(n.output[0]!, { dims: x.dims, data: codes, elem: p.type === 'int8' ? DT.INT8 : DT.UINT8 });
}

function foldDequantizeLinear(r: Rewriter, n: INode, label: string): void {
  const x = r.constOf(n, label, 0, 'x');
  if (x.data instanceof Float32Array) throw new InputError(`${label}: x must be integer codes, it is float32`);
  const s = r.constOf(n, label, 1, 'scale');
  const z = r.constOf(n, label, 2, 'zero point', true);
  const scale = r.floats(s, label, 'scale');
  const zeroPoint = z ? r.ints(z, label, 'zero point') : [];
  if (z && z.elem !== x.elem) throw new InputError(`${label}: zero point type ${onnx.TensorProto.DataType[z.elem]} differs from x's ${onnx.TensorProto.DataType[x.elem]}`);
  const rawAxis = intAttr(n, 'axis', 1);
  const axis = scale.length > 1 ? (rawAxis < 0 ? rawAxis + x.dims.length : rawAxis) : null;
  const at = axisIndexer(x.dims, axis, scale.length, label);
  const values = Array.from(x.data, (v, i) => v - (zeroPoint.length ? zeroPoint[at(i)]! : 0));
  r.consts.set(n.output[0]!, {
    dims: x.dims, data: dequantizeLinear(x.data, x.dims, scale, zeroPoint, axis), elem: DT.FLOAT,
    q: { values, scales: scale, axis, by: label },
  });
}

/**
 * The code range a quantizer (scale s, zero point zp, type range [lo, hi]) gives a value that a
 * Relu or Clip computes: a Clip's bounds quantized as the QuantizeLinear does. The Clip's float
 * bounds are replaced by the reals of those codes, so the integer graph's clamp (computed from
 * them, harness/quant/int-graph-build.ts) is those codes exactly, whatever rounding it uses.
 */
function clipRange(r: Rewriter, x: string, s: number, zp: number, lo: number, hi: number, q: (v: number) => number): [number, number] {
  const p = r.producer.get(x);
  if (!p || p.output[0] !== x) return [lo, hi];
  if (p.opType === 'Relu') return [Math.max(lo, zp), hi];
  if (p.opType !== 'Clip') return [lo, hi];
  const bound = (index: number, a: string): number | undefined => {
    if (r.opset < 11) {
      const at = attr(p, a);
      return at ? (at.f ?? 0) : undefined;
    }
    const name = p.input[index];
    if (!name) return undefined;
    const c = r.consts.get(name);
    if (!c || !(c.data instanceof Float32Array) || c.data.length !== 1) throw new InputError(`Clip '${p.name}': the ${a} bound must be a float32 constant scalar`);
    return c.data[0]!;
  };
  const min = bound(1, 'min');
  const max = bound(2, 'max');
  let cl = min === undefined ? lo : Math.max(lo, Math.min(hi, q(min)));
  const ch = max === undefined ? hi : Math.max(lo, Math.min(hi, q(max)));
  const before = r.producer.get(p.input[0]!);
  if (before?.opType === 'Relu' && before.output[0] === p.input[0]) cl = Math.max(cl, zp);
  // The bounds as the reals of their codes (inputs from opset 11, attributes before).
  if (r.opset < 11) {
    const FLOAT = onnx.AttributeProto.AttributeType.FLOAT;
    p.attribute = [...p.attribute.filter((a) => a.name !== 'min' && a.name !== 'max'), { name: 'min', type: FLOAT, f: f32(s * (cl - zp)) }, { name: 'max', type: FLOAT, f: f32(s * (Math.max(cl, ch) - zp)) }];
  } else {
    const real = (code: number): string => r.newConst(`${p.name}_bound`, { dims: [], data: Float32Array.of(f32(s * (code - zp))), elem: DT.FLOAT });
    p.input = [p.input[0]!, real(cl), real(Math.max(cl, ch))];
    for (const i of p.input.slice(1)) r.emitConstUse(i);
  }
  return [cl, Math.max(cl, ch)];
}

function quantizeActivation(r: Rewriter, n: INode, label: string): void {
  const x = r.computed(n, label, 0, 'x', 'float');
  const p = linearParams(r, n, label, null);
  const s = r.scalar({ dims: [], data: Float32Array.from(p.scale), elem: DT.FLOAT }, label, 'scale');
  const zp = p.zeroPoint[0] ?? 0;
  const type = sourceType(p.type);
  const [lo, hi] = clipRange(r, x, s, zp, type.lo, type.hi, (v) => quantizeLinearValue(v, s, zp, p.type));
  r.addDecl(x, { kind: 'strong', by: label, scale: s, zeroPoint: zp, type, lo: type.lo, hi: type.hi });
  if (lo > type.lo || hi < type.hi) r.addDecl(x, { kind: 'range', by: `the Clip/Relu before ${label}`, lo, hi });
  // input -> Clip -> QuantizeLinear (tools/train/qdq_export.py): the input takes this quantizer
  // and the Clip becomes a clamp of its codes, Q(clip(x)) = clamp(Q(x)) as the bounds are codes.
  const p0 = r.producer.get(x);
  if (p0 && (p0.opType === 'Clip' || p0.opType === 'Relu') && p0.output[0] === x && p0.input[0] === r.inputName && !r.codeTypes.has(r.inputName)) {
    r.addDecl(r.inputName, { kind: 'strong', by: label, scale: s, zeroPoint: zp, type, lo, hi });
  }
  r.quantized.set(x, label);
  r.codeTypes.set(n.output[0]!, type);
  r.union(x, n.output[0]!, label);
}

function dequantizeActivation(r: Rewriter, n: INode, label: string): void {
  const x = r.computed(n, label, 0, 'x', 'codes');
  const p = linearParams(r, n, label, null, r.codeTypes.get(x)!.name === 'uint8' ? DT.UINT8 : DT.INT8);
  const s = r.scalar({ dims: [], data: Float32Array.from(p.scale), elem: DT.FLOAT }, label, 'scale');
  const type = sourceType(p.type);
  if (type.name !== r.codeTypes.get(x)!.name) throw new InputError(`${label}: zero point type ${type.name} differs from x's ${r.codeTypes.get(x)!.name}`);
  r.addDecl(x, { kind: 'strong', by: label, scale: s, zeroPoint: p.zeroPoint[0] ?? 0, type, lo: type.lo, hi: type.hi });
  r.union(x, n.output[0]!, label);
}

// --- convolutions and matrix products

/** Checks integer weight values: exact integers within the kernels' symmetric range [-127, 127]. */
function checkWeightValues(values: number[], label: string, zpNote: string): void {
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < -127 || v > 127);
  if (bad < 0) return;
  const v = values[bad]!;
  if (!Number.isInteger(v)) throw new InputError(`${label}: weight ${bad} is ${v} after subtracting the zero point${zpNote}: a non-integer zero point cannot be removed exactly`);
  throw new InputError(`${label}: weight ${bad} is ${v} after subtracting the zero point${zpNote}, outside [-127, 127]: the kernels take symmetric int8 weights with zero point 0 (2..8 bits); ${v === -128 ? 'the code -128 is never used by a symmetric quantizer' : 'a zero point this far from the codes cannot be removed exactly'}`);
}

/** Per-output-channel scales of quantized weights whose output channel is `outAxis` of `dims`. */
function channelScales(q: QuantizedConst, outAxis: number, outC: number, label: string): number[] {
  if (q.axis === null) return Array.from({ length: outC }, () => q.scales[0]!);
  if (q.axis !== outAxis) throw new InputError(`${label}: weights are quantized per axis ${q.axis}, the output channels are axis ${outAxis} (per-tensor or per-output-channel weights only)`);
  return q.scales.slice();
}

function biasOf(r: Rewriter, n: INode, label: string, index: number, outC: number, factor: number): { q?: ConvInfo['bias']; float?: string } {
  const b = r.constOf(n, label, index, 'bias', true);
  if (!b) return {};
  if (product(b.dims) !== outC && product(b.dims) !== 1) throw new InputError(`${label}: bias has ${product(b.dims)} values for ${outC} output channels`);
  const q = b.q;
  if (q) {
    const total = product(b.dims);
    if (q.axis !== null && q.scales.length !== outC) throw new InputError(`${label}: bias has ${q.scales.length} scales for ${outC} output channels`);
    const codes = Array.from({ length: outC }, (_, o) => q.values[total === outC ? o : 0]!);
    const scales = Array.from({ length: outC }, (_, o) => q.scales[q.axis === null ? 0 : o]! * factor);
    return { q: { codes, scales, by: q.by } };
  }
  if (!(b.data instanceof Float32Array)) throw new InputError(`${label}: bias must be float32 or int32 through a DequantizeLinear`);
  r.notes.push(`${label}: float bias, quantized to int32 in units of input scale x weight scale (round half away from zero)`);
  return { float: n.input[index]! };
}

function weightConst(r: Rewriter, n: INode, label: string, index: number): { w: QConst; q: QuantizedConst } {
  const w = r.constOf(n, label, index, 'weights');
  if (!w.q) {
    throw new InputError(`${label}: weights '${n.input[index]}' are ${w.data instanceof Float32Array ? 'float' : 'raw integers'}, not integer codes through a DequantizeLinear (or QONNX Quant): a quantized model must give its weights' codes and scales`);
  }
  return { w, q: w.q };
}

const CONV_ATTRS = ['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad'];

function conv(r: Rewriter, n: INode, label: string): void {
  const x = r.computed(n, label, 0, 'x', 'float');
  const { w, q } = weightConst(r, n, label, 1);
  if (w.dims.length !== 4) throw new InputError(`${label}: weights must be 4-D [M, C/group, kH, kW], got [${w.dims.join(',')}]`);
  const outC = w.dims[0]!;
  checkWeightValues(q.values, label, '');
  const weightScale = channelScales(q, 0, outC, label);
  const bias = biasOf(r, n, label, 2, outC, 1);
  const wName = r.newConst(`${n.input[1]}_codes`, { dims: w.dims, data: Float32Array.from(q.values), elem: DT.FLOAT });
  r.emit({ ...n, input: [x, wName, ...(bias.float ? [bias.float] : [])], attribute: n.attribute.filter((a) => CONV_ATTRS.includes(a.name ?? '')) });
  r.convs.push({ node: n.name, onnxName: n.name, label, outC, weightScale, ...(q.bits ? { declaredBits: q.bits } : {}), ort: {}, ...(bias.q ? { bias: bias.q } : {}), input: x, output: n.output[0]! });
}

function gemm(r: Rewriter, n: INode, label: string): void {
  const x = r.computed(n, label, 0, 'A', 'float');
  if (n.input[1] && r.kindOf(n.input[1]) !== 'const') throw new InputError(`${label}: B '${n.input[1]}' is computed; only a product with constant weights is supported`);
  const { w, q } = weightConst(r, n, label, 1);
  if (w.dims.length !== 2) throw new InputError(`${label}: B must be 2-D, got [${w.dims.join(',')}]`);
  const isGemm = n.opType === 'Gemm';
  if (isGemm && intAttr(n, 'transA', 0) !== 0) throw new InputError(`${label}: transA 1 is not supported`);
  const transB = isGemm && intAttr(n, 'transB', 0) !== 0;
  const alpha = isGemm ? floatAttr(n, 'alpha', 1) : 1;
  const beta = isGemm ? floatAttr(n, 'beta', 1) : 1;
  const outC = transB ? w.dims[0]! : w.dims[1]!;
  checkWeightValues(q.values, label, '');
  const weightScale = channelScales(q, transB ? 0 : 1, outC, label).map((s) => s * alpha);
  const bias = isGemm ? biasOf(r, n, label, 2, outC, beta) : {};
  const wName = r.newConst(`${n.input[1]}_codes`, { dims: w.dims, data: Float32Array.from(q.values), elem: DT.FLOAT });
  const attribute: IAttribute[] = [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: transB ? 1 : 0 }];
  if (bias.float) attribute.push({ name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: beta });
  r.emit({ ...n, opType: 'Gemm', input: [x, wName, ...(bias.float ? [bias.float] : [])], attribute });
  r.convs.push({ node: n.name, onnxName: n.name, label, outC, weightScale, ...(q.bits ? { declaredBits: q.bits } : {}), ort: {}, ...(bias.q ? { bias: bias.q } : {}), input: x, output: n.output[0]! });
}

/** A QLinear op's (scale, zero point) pair at inputs `si`, `si + 1`: one value each. */
function linearPair(r: Rewriter, n: INode, label: string, si: number, what: string, elemHint?: number): { scale: number; zeroPoint: number; type: OnnxCodeType } {
  const s = r.constOf(n, label, si, `${what} scale`);
  const z = r.constOf(n, label, si + 1, `${what} zero point`, true);
  const scale = r.scalar({ ...s, data: Float32Array.from(r.floats(s, label, `${what} scale`)) }, label, `${what} scale`);
  const type = z ? codeTypeOf(z.elem, `${label} ${what} zero point`) : codeTypeOf(elemHint ?? DT.UINT8, `${label} ${what}`);
  const zeroPoint = z ? r.scalar({ ...z, data: r.ints(z, label, `${what} zero point`) }, label, `${what} zero point`) : 0;
  return { scale, zeroPoint, type };
}

/** QLinearConv / QLinearMatMul weights: codes minus their (per-tensor or per-channel) zero point. */
function qlinearWeights(r: Rewriter, n: INode, label: string, index: number, outAxis: number): { w: QConst; values: number[]; scales: number[] } {
  const w = r.constOf(n, label, index, 'weights');
  if (w.data instanceof Float32Array || (w.elem !== DT.INT8 && w.elem !== DT.UINT8)) throw new InputError(`${label}: weights must be int8 or uint8 codes`);
  const s = r.constOf(n, label, index + 1, 'weight scale');
  const z = r.constOf(n, label, index + 2, 'weight zero point', true);
  const scales = r.floats(s, label, 'weight scale');
  const zps = z ? r.ints(z, label, 'weight zero point') : [0];
  if (z && z.elem !== w.elem) throw new InputError(`${label}: weight zero point type differs from the weights'`);
  const outC = w.dims[outAxis]!;
  const atZ = axisIndexer(w.dims, outAxis, zps.length, `${label} weight zero point`);
  if (scales.length !== 1 && scales.length !== outC) throw new InputError(`${label}: ${scales.length} weight scales for ${outC} output channels`);
  const values = Array.from(w.data, (v, i) => v - zps[atZ(i)]!);
  const zpNote = zps.some((v) => v !== 0) ? ` (${onnx.TensorProto.DataType[w.elem]?.toLowerCase()} weights, zero point${zps.length > 1 ? 's' : ''} ${[...new Set(zps)].slice(0, 4).join(', ')})` : '';
  checkWeightValues(values, label, zpNote);
  return { w, values, scales: Array.from({ length: outC }, (_, o) => scales[scales.length === 1 ? 0 : o]!) };
}

function qlinearConv(r: Rewriter, n: INode, label: string): void {
  const x = r.computed(n, label, 0, 'x', 'codes');
  const xp = linearPair(r, n, label, 1, 'x');
  const { w, values, scales } = qlinearWeights(r, n, label, 3, 0);
  const yp = linearPair(r, n, label, 6, 'y');
  if (w.dims.length !== 4) throw new InputError(`${label}: weights must be 4-D, got [${w.dims.join(',')}]`);
  declareLinear(r, x, xp, 'weak', label);
  const y = n.output[0]!;
  declareLinear(r, y, yp, 'weak', label);
  r.codeTypes.set(y, sourceType(yp.type));
  const b = r.constOf(n, label, 8, 'bias', true);
  if (b && (b.data instanceof Float32Array || b.elem !== DT.INT32)) throw new InputError(`${label}: bias must be int32`);
  if (b && b.data.length !== w.dims[0]) throw new InputError(`${label}: bias has ${b.data.length} values for ${w.dims[0]} output channels`);
  const wName = r.newConst(`${n.input[3]}_codes`, { dims: w.dims, data: Float32Array.from(values), elem: DT.FLOAT });
  r.emit({ ...n, opType: 'Conv', input: [x, wName], attribute: n.attribute.filter((a) => CONV_ATTRS.includes(a.name ?? '')) });
  r.convs.push({
    node: n.name, onnxName: n.name, label, outC: w.dims[0]!, weightScale: scales, ort: { xs: xp.scale, ys: yp.scale },
    ...(b ? { bias: { codes: Array.from(b.data), scales: null, by: label } } : {}), input: x, output: y,
  });
}

function qlinearMatMul(r: Rewriter, n: INode, label: string): void {
  const a = r.computed(n, label, 0, 'a', 'codes');
  const ap = linearPair(r, n, label, 1, 'a');
  const { w, values, scales } = qlinearWeights(r, n, label, 3, 1);
  const yp = linearPair(r, n, label, 6, 'y');
  if (w.dims.length !== 2) throw new InputError(`${label}: b must be 2-D [K, N] weights, got [${w.dims.join(',')}] (batched products are not supported)`);
  declareLinear(r, a, ap, 'weak', label);
  const y = n.output[0]!;
  declareLinear(r, y, yp, 'weak', label);
  r.codeTypes.set(y, sourceType(yp.type));
  const wName = r.newConst(`${n.input[3]}_codes`, { dims: w.dims, data: Float32Array.from(values), elem: DT.FLOAT });
  r.emit({ ...n, opType: 'Gemm', input: [a, wName], attribute: [] });
  r.convs.push({ node: n.name, onnxName: n.name, label, outC: w.dims[1]!, weightScale: scales, ort: { xs: ap.scale, ys: yp.scale }, input: a, output: y });
}

function declareLinear(r: Rewriter, value: string, p: { scale: number; zeroPoint: number; type: OnnxCodeType }, kind: 'strong' | 'weak', label: string): void {
  const have = r.codeTypes.get(value);
  const type = sourceType(p.type);
  if (have && have.name !== type.name) throw new InputError(`${label}: '${value}' holds ${have.name} codes, the node declares ${type.name}`);
  r.addDecl(value, { kind, by: label, scale: p.scale, zeroPoint: p.zeroPoint, type, lo: type.lo, hi: type.hi });
}

function qlinearAdd(r: Rewriter, n: INode, label: string): void {
  r.notes.push(`${label}: the integer add is TFLite's fixed-point one (int-graph.ts); onnxruntime's QLinearAdd computes in float, so a code can differ by one at a rounding tie`);
  const a = r.computed(n, label, 0, 'A', 'codes');
  const b = r.computed(n, label, 3, 'B', 'codes');
  declareLinear(r, a, linearPair(r, n, label, 1, 'A'), 'strong', label);
  declareLinear(r, b, linearPair(r, n, label, 4, 'B'), 'strong', label);
  const cp = linearPair(r, n, label, 6, 'C');
  const c = n.output[0]!;
  declareLinear(r, c, cp, 'strong', label);
  r.codeTypes.set(c, sourceType(cp.type));
  r.emit({ ...n, domain: '', opType: 'Add', input: [a, b], attribute: [] });
}

function qlinearConcat(r: Rewriter, n: INode, label: string): void {
  const yp = linearPair(r, n, label, 0, 'Y');
  const inputs: string[] = [];
  for (let k = 2; k < n.input.length; k += 3) {
    const x = r.computed(n, label, k, `input ${(k - 2) / 3}`, 'codes');
    declareLinear(r, x, linearPair(r, n, label, k + 1, `input ${(k - 2) / 3}`), 'strong', label);
    inputs.push(x);
  }
  const y = n.output[0]!;
  declareLinear(r, y, yp, 'strong', label);
  r.codeTypes.set(y, sourceType(yp.type));
  r.emit({ ...n, domain: '', opType: 'Concat', input: inputs, attribute: n.attribute.filter((x) => x.name === 'axis') });
}

// --- ops on codes (QOperator)

function codeClip(r: Rewriter, n: INode, label: string): void {
  const x = n.input[0]!;
  const type = r.codeTypes.get(x)!;
  if (n.opType === 'Relu') throw new InputError(`${label}: Relu on integer codes clamps at code 0, not at real 0; use a Clip with the zero point as its minimum`);
  const bound = (index: number, dflt: number): number => {
    const c = r.constOf(n, label, index, index === 1 ? 'min' : 'max', true);
    if (!c) return dflt;
    if (c.data instanceof Float32Array || c.data.length !== 1) throw new InputError(`${label}: an integer Clip bound must be one integer`);
    return c.data[0]!;
  };
  const lo = Math.max(type.lo, bound(1, type.lo));
  const hi = Math.min(type.hi, bound(2, type.hi));
  if (lo > hi) throw new InputError(`${label}: min ${lo} > max ${hi}`);
  const y = n.output[0]!;
  r.codeTypes.set(y, type);
  r.addDecl(y, { kind: 'range', by: label, lo, hi });
  r.codeClips.push({ node: n.name, label, input: x, lo, hi });
  r.emit({ ...n, input: [x], attribute: [] });
}

function codeConcat(r: Rewriter, n: INode, label: string): void {
  const zeros: CodeConcat['zeros'] = [];
  let type: SourceType | undefined;
  const input = n.input.map((i, k) => {
    const c = r.consts.get(i);
    if (!c) {
      const t = r.codeTypes.get(i);
      if (!t) throw new InputError(`${label}: input ${k} '${i}' is float; a Concat of codes takes codes only`);
      if (type && t.name !== type.name) throw new InputError(`${label}: inputs mix ${type.name} and ${t.name} codes`);
      type = t;
      return i;
    }
    if (c.data instanceof Float32Array || !c.data.every((v) => v === c.data[0])) {
      throw new InputError(`${label}: constant input ${k} '${i}' must be integer codes all equal to one value (channel padding with the zero point)`);
    }
    const shape = r.newConst(`${i}_shape`, { dims: [c.dims.length], data: c.dims.slice(), elem: DT.INT64 });
    const name = `${i}#zeros`;
    r.emit({ name: `${n.name} (zeros ${k})`, opType: 'ConstantOfShape', domain: '', input: [shape], output: [name], attribute: [] });
    zeros.push({ name, code: c.data[0]! });
    return name;
  });
  const y = n.output[0]!;
  r.codeTypes.set(y, type!);
  r.codeConcats.push({ node: n.name, label, output: y, inputs: input.filter((i) => !zeros.some((z) => z.name === i)), zeros });
  r.emit({ ...n, input });
}

// --- QONNX

interface QonnxAttrs {
  signed: boolean;
  narrow: boolean;
  mode: ReturnType<typeof qonnxRoundingMode>;
}

function qonnxAttrs(n: INode, label: string): QonnxAttrs {
  return { signed: intAttr(n, 'signed', 1) !== 0, narrow: intAttr(n, 'narrow', 0) !== 0, mode: qonnxRoundingMode(strAttr(n, 'rounding_mode', 'ROUND'), label) };
}

function qonnxBits(r: Rewriter, n: INode, label: string, index: number): number {
  const b = r.constOf(n, label, index, 'bitwidth');
  if (b.data.length !== 1) throw new InputError(`${label}: bitwidth must be one value`);
  const bits = b.data[0]!;
  if (!Number.isInteger(bits) || bits < 1) throw new InputError(`${label}: bitwidth ${bits} must be a positive integer`);
  return bits;
}

/** A QONNX parameter (scale, zeropt) of a constant X: its values and the axis they vary along. */
function qonnxParam(r: Rewriter, n: INode, label: string, index: number, what: string, dims: number[]): { values: number[]; axis: number | null; at: (i: number) => number } {
  const c = r.constOf(n, label, index, what);
  const values = Array.from(c.data);
  const axis = broadcastAxis(c.dims, dims, `${label} ${what}`);
  return { values, axis, at: axisIndexer(dims, axis, values.length, `${label} ${what}`) };
}

function foldQonnxQuant(r: Rewriter, n: INode, label: string): void {
  const x = r.constOf(n, label, 0, 'X');
  if (!(x.data instanceof Float32Array)) throw new InputError(`${label}: X must be float32`);
  const a = qonnxAttrs(n, label);
  const bits = qonnxBits(r, n, label, 3);
  const s = qonnxParam(r, n, label, 1, 'scale', x.dims);
  const z = qonnxParam(r, n, label, 2, 'zeropt', x.dims);
  if (z.axis !== null && s.axis !== null && z.axis !== s.axis) throw new InputError(`${label}: scale and zeropt vary along different axes`);
  const p = { signed: a.signed, narrow: a.narrow, bits, mode: a.mode };
  const data = x.data;
  const codes = Array.from(data, (v, i) => qonnxQuantCode(v, s.values[s.at(i)]!, z.values[z.at(i)]!, p));
  const values = codes.map((q, i) => q - z.values[z.at(i)]!);
  const axis = s.axis ?? z.axis;
  const channels = axis === null ? 1 : x.dims[axis]!;
  const at = axisIndexer(x.dims, axis, channels, label);
  const scales = new Array<number>(channels);
  data.forEach((_, i) => void (scales[at(i)] = s.values[s.at(i)]!));
  r.consts.set(n.output[0]!, {
    dims: x.dims, elem: DT.FLOAT, data: Float32Array.from(values, (v, i) => f32(f32(v) * f32(s.values[s.at(i)]!))),
    q: { values, scales, axis, by: label, bits: bits === 1 ? 2 : bits },
  });
}

function foldBipolar(r: Rewriter, n: INode, label: string): void {
  const x = r.constOf(n, label, 0, 'X');
  if (!(x.data instanceof Float32Array)) throw new InputError(`${label}: X must be float32`);
  const s = qonnxParam(r, n, label, 1, 'scale', x.dims);
  const values = Array.from(x.data, bipolarCode);
  const channels = s.axis === null ? 1 : x.dims[s.axis]!;
  const scales = new Array<number>(channels);
  const at = axisIndexer(x.dims, s.axis, channels, label);
  x.data.forEach((_, i) => void (scales[at(i)] = s.values[s.at(i)]!));
  // {-1, +1} are symmetric 2-bit codes (the range [-1, 1], zero point 0): representable exactly.
  r.consts.set(n.output[0]!, {
    dims: x.dims, elem: DT.FLOAT, data: Float32Array.from(values, (v, i) => f32(v * f32(s.values[s.at(i)]!))),
    q: { values, scales, axis: s.axis, by: label, bits: 2 },
  });
}

function foldTrunc(r: Rewriter, n: INode, label: string): void {
  const x = r.constOf(n, label, 0, 'X');
  if (!(x.data instanceof Float32Array)) throw new InputError(`${label}: X must be float32`);
  const scalar = (k: number, what: string): number => {
    const c = r.constOf(n, label, k, what);
    if (c.data.length !== 1) throw new InputError(`${label}: ${what} must be one value`);
    return c.data[0]!;
  };
  const mode = qonnxRoundingMode(strAttr(n, 'rounding_mode', 'FLOOR'), label);
  const v2 = n.input.length >= 6;
  const [scale, zeropt, inBits] = [scalar(1, 'scale'), scalar(2, 'zeropt'), scalar(3, 'in_bitwidth')];
  const outScale = v2 ? scalar(4, 'out_scale') : undefined;
  const outBits = scalar(v2 ? 5 : 4, 'out_bitwidth');
  const a = qonnxAttrs(n, label);
  const data = Float32Array.from(x.data, (v) => qonnxTrunc(v, scale, zeropt, inBits, outBits, mode, outScale === undefined ? undefined : { outScale, signed: a.signed, narrow: a.narrow }).value);
  r.consts.set(n.output[0]!, { dims: x.dims, elem: DT.FLOAT, data });
}

function qonnxActivationQuant(r: Rewriter, n: INode, label: string): void {
  const x = r.computed(n, label, 0, 'X', 'float');
  const a = qonnxAttrs(n, label);
  const bits = qonnxBits(r, n, label, 3);
  const sc = r.constOf(n, label, 1, 'scale');
  const zc = r.constOf(n, label, 2, 'zeropt');
  const s = r.scalar({ ...sc, data: Float32Array.from(r.floats(sc, label, 'scale')) }, label, 'scale');
  const zp = r.scalar(zc, label, 'zeropt');
  if (!Number.isInteger(zp)) throw new InputError(`${label}: zeropt ${zp} is not an integer: the integer graph's zero points are integers`);
  if (bits === 1 && a.signed) throw new InputError(`${label}: a signed 1-bit Quant is bipolar (sign(x) in {-1, +1}); on an activation that is a threshold, not a quantizer with an integer zero point`);
  if (bits > 8) throw new InputError(`${label}: bitwidth ${bits} on an activation: the integer graph's tensors hold at most 8-bit codes`);
  if (a.mode !== 'ROUND' && a.mode !== 'HALF_EVEN') {
    throw new InputError(`${label}: rounding_mode ${a.mode} on an activation: the requantization rounds to nearest ('fp32': half to even = QONNX ROUND; 'gemmlowp'/'single': half away from zero / half up), never ${a.mode}`);
  }
  let [lo, hi] = qonnxIntRange(a.signed, a.narrow, bits);
  const type: SourceType = { name: `${a.signed ? 'int' : 'uint'}${bits}${a.narrow ? ' narrow' : ''}`, lo, hi };
  const quant = (v: number): number => qonnxQuantCode(v, s, zp, { signed: a.signed, narrow: a.narrow, bits, mode: a.mode });
  // A narrow range, or a zero point outside the range, is not a full b-bit code range: the
  // integer graph's clamp must be the Quant's own, through a Clip with those codes' reals.
  let target = x;
  if (a.narrow || zp < lo || zp > hi) {
    const p = r.producer.get(x);
    if (p && p.opType === 'Clip' && p.output[0] === x) {
      [lo, hi] = clipRange(r, x, s, zp, lo, hi, quant);
    } else if (p && p.opType === 'Relu' && p.output[0] === x) {
      p.opType = 'Clip';
      p.input = [p.input[0]!, r.newConst(`${p.name}_min`, { dims: [], data: Float32Array.of(0), elem: DT.FLOAT }), r.newConst(`${p.name}_max`, { dims: [], data: Float32Array.of(f32(s * (hi - zp))), elem: DT.FLOAT })];
      for (const i of p.input.slice(1)) r.emitConstUse(i);
      lo = Math.max(lo, zp);
      if (r.opset < 11) throw new InputError(`${label}: opset ${r.opset} < 11 takes Clip bounds as attributes; re-export at opset 11+`);
    } else {
      if (r.opset < 11) throw new InputError(`${label}: opset ${r.opset} < 11 takes Clip bounds as attributes; re-export at opset 11+`);
      target = `${x}#clamped`;
      const real = (code: number): string => r.newConst(`${n.name}_bound`, { dims: [], data: Float32Array.of(f32(s * (code - zp))), elem: DT.FLOAT });
      r.emit({ name: `${n.name} (range)`, opType: 'Clip', domain: '', input: [x, real(lo), real(hi)], output: [target], attribute: [] });
    }
  } else {
    [lo, hi] = clipRange(r, x, s, zp, lo, hi, quant);
  }
  r.addDecl(target, { kind: 'strong', by: label, scale: s, zeroPoint: zp, type, lo: type.lo, hi: type.hi });
  if (lo > type.lo || hi < type.hi) r.addDecl(target, { kind: 'range', by: label, lo, hi });
  r.quantized.set(x, label);
  r.union(target, n.output[0]!, label);
}

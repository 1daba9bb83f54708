/**
 * One quantized ONNX layer alone (a model whose single node is QLinearConv, QLinearMatMul,
 * ConvInteger or MatMulInteger, its parameters initializers) as the ConvProblem the kernels
 * solve (harness/conv/layer.ts), with onnxruntime's arithmetic:
 *
 *  QLinearConv    y = saturate(round half to even(f32(acc) * M[o]) + y_zp), acc = sum (x - x_zp)(w - w_zp[o]) + B,
 *                 M[o] = f32(f32(x_scale * w_scale[o]) / y_scale): requantization 'fp32'
 *  QLinearMatMul  the same on a [M, K] x [K, N] product: a 1 x M map of K channels, a 1x1 kernel
 *  ConvInteger, MatMulInteger   the int32 accumulators: requantization 'raw'
 *
 * uint8 codes move down by 128 (exact: codes and zero point together); weights minus their zero
 * point must lie in the kernels' range [-128, 127] (else an InputError naming the node: uint8
 * weights whose zero point is far from 128 are not int8 after removing it).
 */
import type onnxProto from 'onnx-proto';
import type { ConvProblem } from '../conv/layer.ts';
import { validateProblem } from '../conv/layer.ts';
import { DT, type INode, normalizeGraph, onnx, product, readConstant, toInt } from '../model/onnx-decode.ts';
import { InputError } from '../util/errors.ts';
import { GiB, readInputFile } from '../util/input-files.ts';

export const LAYER_OPS = ['QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger'] as const;

export interface QuantizedLayer {
  op: (typeof LAYER_OPS)[number];
  /** The node's name (or `<op> #0 -> <output>`). */
  node: string;
  /** The problem with an all-zero input; set `input` to run it. */
  problem: ConvProblem;
  input: { name: string; dims: number[]; type: 'int8' | 'uint8' };
  output: { name: string; dims: number[]; type: 'int8' | 'uint8' | 'int32' };
  /** The source's input codes (ONNX layout) as the problem's input (NHWC, int8 domain). */
  toProblemInput(codes: ArrayLike<number>): Int8Array;
  /** The problem's output as the source's output (ONNX layout and code domain). */
  fromProblemOutput(y: Int8Array | Int32Array): number[];
}

const f32 = Math.fround;

function codeType(elem: number | undefined, what: string): 'int8' | 'uint8' {
  if (elem === DT.INT8) return 'int8';
  if (elem === DT.UINT8) return 'uint8';
  throw new InputError(`${what}: element type ${onnx.TensorProto.DataType[elem ?? 0] ?? elem} (int8 or uint8 only)`);
}

/** Reads the single-layer model (see the file comment); InputError naming the node for anything the kernels cannot compute exactly. */
export function importQuantizedLayer(source: string | Uint8Array, name = typeof source === 'string' ? source : 'model'): QuantizedLayer {
  const bytes = typeof source === 'string' ? readInputFile(source, { what: 'ONNX model', maxBytes: GiB }) : source;
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new InputError(`${name}: not a valid ONNX file (${(e as Error).message})`);
  }
  if (!model.graph) throw new InputError(`${name}: the model has no graph`);
  const g = normalizeGraph(model.graph);
  if (g.node.length !== 1 || !(LAYER_OPS as readonly string[]).includes(g.node[0]!.opType)) {
    throw new InputError(`${name}: expected one node of ${LAYER_OPS.join(', ')}, got ${g.node.map((n) => n.opType).join(', ') || 'none'}`);
  }
  const n = g.node[0]!;
  const op = n.opType as QuantizedLayer['op'];
  const node = n.name || `${op} #0 -> ${n.output[0] ?? ''}`;
  const label = `${name}: node '${node}' (${op})`;
  const consts = new Map(g.initializer.map((t) => [t.name, { ...readConstant(t, `initializer '${t.name}'`), elem: t.dataType ?? DT.FLOAT }]));
  const input = g.input.find((i) => i.name === n.input[0]);
  if (!input || consts.has(input.name)) throw new InputError(`${label}: input 0 must be the graph input`);
  const xType = codeType(input.type?.tensorType?.elemType ?? undefined, `${label} input`);
  const xDims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => toInt(d.dimValue, `${label} input dims`));
  const c = (i: number, what: string, optional = false) => {
    const v = n.input[i] ? consts.get(n.input[i]!) : undefined;
    if (!v && !optional) throw new InputError(`${label}: ${what} (input ${i}) must be an initializer`);
    return v;
  };
  const one = (i: number, what: string, dflt: number): number => {
    const v = c(i, what, true);
    if (!v) return dflt;
    if (v.data.length !== 1) throw new InputError(`${label}: ${what} must be one value (per tensor), it has ${v.data.length}`);
    return v.data[0]!;
  };
  const off = (t: 'int8' | 'uint8'): number => (t === 'uint8' ? -128 : 0);
  const attrInts = (a: string, dflt: number[]): number[] => {
    const at = n.attribute.find((x) => x.name === a);
    return at ? (at.ints ?? []).map((v) => toInt(v, a)) : dflt;
  };

  const isConv = op === 'QLinearConv' || op === 'ConvInteger';
  const wIndex = op === 'QLinearConv' || op === 'QLinearMatMul' ? 3 : 1;
  const w = c(wIndex, 'weights')!;
  const wType = codeType(w.elem, `${label} weights`);
  const wzpIndex = op === 'QLinearConv' || op === 'QLinearMatMul' ? 5 : 3;
  const wzp = c(wzpIndex, 'weight zero point', true);
  const outAxis = isConv ? 0 : w.dims.length - 1;
  const outC = w.dims[outAxis]!;
  const zps = wzp ? [...wzp.data] : [0];
  if (zps.length !== 1 && zps.length !== outC) throw new InputError(`${label}: ${zps.length} weight zero points for ${outC} output channels`);
  // Effective weights w - w_zp first: the one thing an int8 kernel cannot take.
  const perOut = product(w.dims) / outC;
  const at = (i: number): number => (isConv ? Math.floor(i / perOut) : i % outC);
  const eff = Array.from(w.data, (v, i) => v - zps[zps.length === 1 ? 0 : at(i)]!);
  const bad = eff.findIndex((v) => v < -128 || v > 127);
  if (bad >= 0) {
    throw new InputError(`${label}: weight ${bad} is ${eff[bad]} after subtracting the zero point (${wType} weights, zero point${zps.length > 1 ? 's' : ''} ${[...new Set(zps)].slice(0, 4).join(', ')}), outside [-128, 127]: the kernels take int8 weights, and a zero point this far from the codes cannot be removed exactly`);
  }
  if (!isConv && w.dims.length !== 2) throw new InputError(`${label}: the weights must be a 2-D [K, N] matrix, got [${w.dims.join(',')}] (batched products are not supported)`);

  // Input zero point.
  const xzpConst = c(2, 'input zero point', true);
  if (xzpConst && xzpConst.data.length !== 1 && !xzpConst.data.every((v) => v === xzpConst.data[0])) {
    throw new InputError(`${label}: per-row input zero points are not supported (one input zero point)`);
  }
  const xzp = xzpConst ? xzpConst.data[0]! : 0;

  let shape: ConvProblem['shape'];
  let weights: Int8Array;
  let outDims: number[];
  if (isConv) {
    if (w.dims.length !== 4 || xDims.length !== 4 || xDims[0] !== 1) throw new InputError(`${label}: needs x [1, C, H, W] and 4-D weights, got [${xDims.join(',')}] and [${w.dims.join(',')}]`);
    const [, cIn, h, wd] = xDims as [number, number, number, number];
    const [, wc, kh, kw] = w.dims as [number, number, number, number];
    const group = n.attribute.find((a) => a.name === 'group');
    if (group && toInt(group.i, 'group') !== 1) throw new InputError(`${label}: group ${toInt(group.i, 'group')} (only dense layers alone)`);
    if (wc !== cIn) throw new InputError(`${label}: weights [${w.dims.join(',')}] for ${cIn} input channels`);
    if (attrInts('dilations', [1, 1]).some((d) => d !== 1)) throw new InputError(`${label}: dilations must be 1`);
    const autoPad = n.attribute.find((a) => a.name === 'auto_pad');
    if (autoPad?.s && new TextDecoder().decode(autoPad.s) !== 'NOTSET') throw new InputError(`${label}: auto_pad is not supported here (give pads)`);
    const pads = attrInts('pads', [0, 0, 0, 0]);
    const strides = attrInts('strides', [1, 1]);
    shape = { inH: h, inW: wd, inC: cIn, outC, kH: kh, kW: kw, strideH: strides[0]!, strideW: strides[1]!, padTop: pads[0]!, padLeft: pads[1]!, padBottom: pads[2]!, padRight: pads[3]! };
    weights = new Int8Array(eff.length);
    for (let o = 0; o < outC; o++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          for (let i = 0; i < cIn; i++) weights[((o * kh + y) * kw + x) * cIn + i] = eff[((o * cIn + i) * kh + y) * kw + x]!;
    const outH = Math.floor((h + pads[0]! + pads[2]! - kh) / strides[0]!) + 1;
    const outW = Math.floor((wd + pads[1]! + pads[3]! - kw) / strides[1]!) + 1;
    outDims = [1, outC, outH, outW];
  } else {
    const rows = xDims.length === 2 ? xDims[0]! : xDims.length === 3 && xDims[0] === 1 ? xDims[1]! : -1;
    const k = xDims.at(-1)!;
    if (rows < 1 || k !== w.dims[0]) throw new InputError(`${label}: needs a [M, K] (or [1, M, K]) input for [${w.dims.join(',')}] weights, got [${xDims.join(',')}]`);
    shape = { inH: 1, inW: rows, inC: k, outC, kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0 };
    weights = new Int8Array(eff.length);
    for (let o = 0; o < outC; o++) for (let i = 0; i < k; i++) weights[o * k + i] = eff[i * outC + o]!;
    outDims = [...xDims.slice(0, -1), outC];
  }

  let requant: ConvProblem['requant'];
  let outType: QuantizedLayer['output']['type'];
  let bias = new Int32Array(outC);
  if (op === 'QLinearConv' || op === 'QLinearMatMul') {
    const xs = one(1, 'x scale', NaN);
    const ws = c(4, 'weight scale')!;
    const ys = one(6, 'y scale', NaN);
    const yzpC = c(7, 'y zero point', true);
    outType = yzpC ? codeType(yzpC.elem, `${label} y zero point`) : 'uint8';
    const yzp = one(7, 'y zero point', 0);
    if (ws.data.length !== 1 && ws.data.length !== outC) throw new InputError(`${label}: ${ws.data.length} weight scales for ${outC} output channels`);
    const scale = Float64Array.from({ length: outC }, (_, o) => f32(f32(f32(xs) * f32(ws.data[ws.data.length === 1 ? 0 : o]!)) / f32(ys)));
    const o = off(outType);
    requant = { mode: 'fp32', scale, outputZeroPoint: yzp + o, outputMin: (outType === 'uint8' ? 0 : -128) + o, outputMax: (outType === 'uint8' ? 255 : 127) + o };
    const b = op === 'QLinearConv' ? c(8, 'bias', true) : undefined;
    if (b) {
      if (b.elem !== DT.INT32 || b.data.length !== outC) throw new InputError(`${label}: bias must be ${outC} int32 values`);
      bias = Int32Array.from(b.data);
    }
  } else {
    outType = 'int32';
    requant = { mode: 'raw', scale: new Float64Array(outC), outputZeroPoint: 0, outputMin: -128, outputMax: 127 };
  }
  const problem: ConvProblem = { shape, inputZeroPoint: xzp + off(xType), input: new Int8Array(shape.inH * shape.inW * shape.inC), weights, bias, requant };
  try {
    validateProblem(problem);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${label}: ${e.message}`);
    throw e;
  }
  const outName = n.output[0]!;
  return {
    op, node, problem,
    input: { name: input.name, dims: xDims, type: xType },
    output: { name: outName, dims: outDims, type: outType },
    toProblemInput: (codes) => {
      const o = off(xType);
      const s = problem.shape;
      if (codes.length !== s.inH * s.inW * s.inC) throw new InputError(`${label}: ${codes.length} input codes, expected ${s.inH * s.inW * s.inC}`);
      if (!isConv) return Int8Array.from(codes, (v) => v + o); // [M, K] rows are already pixel-major
      const y = new Int8Array(codes.length);
      for (let ch = 0; ch < s.inC; ch++) for (let p = 0; p < s.inH * s.inW; p++) y[p * s.inC + ch] = codes[ch * s.inH * s.inW + p]! + o;
      return y;
    },
    fromProblemOutput: (y) => {
      const o = outType === 'uint8' ? 128 : 0;
      if (!isConv) return Array.from(y, (v) => v + o);
      const pixels = y.length / outC;
      const out = new Array<number>(y.length);
      for (let ch = 0; ch < outC; ch++) for (let p = 0; p < pixels; p++) out[ch * pixels + p] = y[p * outC + ch]! + o;
      return out;
    },
  };
}

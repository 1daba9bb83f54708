/**
 * onnxruntime-web baseline: the same quantized convolution as one ONNX QLinearConv node, run on
 * ORT's single-threaded WebAssembly (SIMD) backend.
 *
 * Bit-exactness with the `fp32` reference: ORT's CPU QLinearConv computes the per-channel output
 * multiplier as `X_scale * W_scale[oc] / Y_scale` in f32 (ComputeOutputScale in
 * onnxruntime/core/providers/cpu/quantization/qlinearconv.cc) and MLAS's MlasRequantizeOutput
 * (the portable branch, which the wasm build compiles) does f32(acc + bias) * scale, clamps in
 * float to [lowest - zp, max - zp], rounds half to even (the 1.5*2^23 magic-add trick), adds zp.
 * With X_scale = Y_scale = 1 and W_scale[oc] = fround(scale[oc]) the multiplier is exactly
 * fround(scale[oc]): multiplying and dividing by 1 is exact. Weights are symmetric (zero point 0).
 *
 * Activation encoding: with int8 activations MLAS on wasm has no SIMD GEMM (MlasGemmQuantGetDispatch
 * picks the wasm SIMD kernel only for unsigned A) and falls back to its generic C++ kernel, ~9x slower.
 * `activations: 'uint8'` feeds ORT the same numbers shifted by 128 (x ^ 0x80, zero points + 128):
 * x - zp is unchanged and the uint8 clamp bounds [0 - (zp+128), 255 - (zp+128)] equal the int8 ones,
 * so the result is the same bits, on ORT's fast path. `'int8'` (default) is the literal model.
 *
 * Layout: ONNX QLinearConv is NCHW/OIHW. Weights are reordered once when the model is built;
 * activations are transposed (and re-encoded) in JS by `toNCHW`/`fromNCHW`, outside `runNCHW`,
 * the call to time. ORT itself still transposes NCHW <-> NHWC inside QLinearConv (its MLAS
 * kernels are channels-last), so that cost is part of ORT's time.
 */
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { type ConvProblem, outputSize, validateProblem } from '../conv/layer.ts';
import { InputError } from '../util/errors.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

/** QLinearConv exists since opset 10 and is unchanged since; ORT registers its int8/uint8 kernels from 10 on. */
const OPSET = 13;

export type OrtActivations = 'int8' | 'uint8';

/** ONNX raw_data is little-endian; DataView makes that explicit whatever the host order. */
function rawBytes(values: ArrayLike<number>, type: 'f32' | 'i32' | 'i8' | 'u8'): Uint8Array {
  const size = type === 'f32' || type === 'i32' ? 4 : 1;
  const view = new DataView(new ArrayBuffer(values.length * size));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else if (type === 'i32') view.setInt32(i * 4, v, true);
    else if (type === 'i8') view.setInt8(i, v);
    else view.setUint8(i, v);
  }
  return new Uint8Array(view.buffer);
}

function initializer(name: string, dataType: number, dims: number[], raw: Uint8Array): onnxProto.onnx.ITensorProto {
  return { name, dataType, dims, rawData: raw };
}

function valueInfo(name: string, elemType: number, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } } };
}

function intsAttr(name: string, ints: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

/** Throws an InputError unless ORT's QLinearConv computes exactly this problem. */
function requireOrtCompatible(p: ConvProblem): void {
  validateProblem(p);
  const r = p.requant;
  // ORT implements only the f32 requantization; the fixed-point modes round differently.
  if (r.mode !== 'fp32') throw new InputError(`onnxruntime QLinearConv implements only the 'fp32' requantization, got '${r.mode}'`);
  // QLinearConv has no fused activation: it saturates to the int8 range only.
  if (r.outputMin !== -128 || r.outputMax !== 127) {
    throw new InputError(`onnxruntime QLinearConv clamps only to [-128, 127], got [${r.outputMin}, ${r.outputMax}]`);
  }
}

/** int8 OHWI -> OIHW. */
function weightsOIHW(p: ConvProblem): Int8Array {
  const s = p.shape;
  const out = new Int8Array(p.weights.length);
  for (let o = 0; o < s.outC; o++)
    for (let h = 0; h < s.kH; h++)
      for (let w = 0; w < s.kW; w++)
        for (let c = 0; c < s.inC; c++)
          out[((o * s.inC + c) * s.kH + h) * s.kW + w] = p.weights[((o * s.kH + h) * s.kW + w) * s.inC + c]!;
  return out;
}

/**
 * A model with a single QLinearConv node: input `x` [1,C,H,W], output `y` [1,M,OH,OW], both int8
 * (or uint8 holding value + 128, see the file comment).
 */
export function buildQLinearConvModel(problem: ConvProblem, activations: OrtActivations = 'int8'): Uint8Array {
  requireOrtCompatible(problem);
  const s = problem.shape;
  const { outH, outW } = outputSize(s);
  const u8 = activations === 'uint8';
  const actType = u8 ? DT.UINT8 : DT.INT8;
  const zeroPoint = (zp: number): Uint8Array => (u8 ? rawBytes([zp + 128], 'u8') : rawBytes([zp], 'i8'));
  const wScale = Array.from({ length: s.outC }, (_, oc) => Math.fround(problem.requant.scale[oc]!));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'fpga-kernel-bench',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'qlinearconv',
      node: [
        {
          opType: 'QLinearConv',
          input: ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point', 'b'],
          output: ['y'],
          attribute: [
            intsAttr('kernel_shape', [s.kH, s.kW]),
            intsAttr('strides', [s.strideH, s.strideW]),
            // ONNX order: all begins, then all ends.
            intsAttr('pads', [s.padTop, s.padLeft, s.padBottom, s.padRight]),
          ],
        },
      ],
      // Every parameter is a constant initializer, so ORT pre-packs the weights at session creation.
      initializer: [
        initializer('x_scale', DT.FLOAT, [], rawBytes([1], 'f32')),
        initializer('x_zero_point', actType, [], zeroPoint(problem.inputZeroPoint)),
        initializer('w', DT.INT8, [s.outC, s.inC, s.kH, s.kW], rawBytes(weightsOIHW(problem), 'i8')),
        initializer('w_scale', DT.FLOAT, [s.outC], rawBytes(wScale, 'f32')),
        initializer('w_zero_point', DT.INT8, [s.outC], new Uint8Array(s.outC)),
        initializer('y_scale', DT.FLOAT, [], rawBytes([1], 'f32')),
        initializer('y_zero_point', actType, [], zeroPoint(problem.requant.outputZeroPoint)),
        initializer('b', DT.INT32, [s.outC], rawBytes(problem.bias, 'i32')),
      ],
      input: [valueInfo('x', actType, [1, s.inC, s.inH, s.inW])],
      output: [valueInfo('y', actType, [1, s.outC, outH, outW])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** [H][W][C] -> [C][H][W], XOR-ing every byte with `flip` (0 or -128 = 0x80). */
function hwcToChw(src: Int8Array, h: number, w: number, c: number, flip: number): Int8Array {
  const dst = new Int8Array(src.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) dst[(k * h + y) * w + x] = src[(y * w + x) * c + k]! ^ flip;
  return dst;
}

/** [C][H][W] -> [H][W][C], XOR-ing every byte with `flip`. */
function chwToHwc(src: Int8Array, h: number, w: number, c: number, flip: number): Int8Array {
  const dst = new Int8Array(src.length);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) dst[(y * w + x) * c + k] = src[(k * h + y) * w + x]! ^ flip;
  return dst;
}

export interface OrtConv {
  readonly activations: OrtActivations;
  /** NHWC int8 in, NHWC int8 out: toNCHW, runNCHW, fromNCHW. */
  run(inputNHWC: Int8Array): Promise<Int8Array>;
  /**
   * The raw ORT call, the one to time. Input and output are in ORT's wire format: NCHW, and with
   * `uint8` activations each byte holds value ^ 0x80. Use `toNCHW` / `fromNCHW` to convert.
   */
  runNCHW(inputNCHW: Int8Array): Promise<Int8Array>;
  /** NHWC int8 -> the wire format `runNCHW` takes. */
  toNCHW(inputNHWC: Int8Array): Int8Array;
  /** `runNCHW`'s output -> NHWC int8. */
  fromNCHW(outputNCHW: Int8Array): Int8Array;
  release(): Promise<void>;
}

export interface OrtConvOptions {
  /** 'int8' (default): the literal int8 model. 'uint8': the same bits on ORT's SIMD GEMM path. */
  activations?: OrtActivations;
}

/**
 * ORT's wasm env is process-global and read once, when the first session initializes the backend:
 * one thread (no worker pool), SIMD left at its default (on), no proxy worker. `wasmPaths` is not
 * set: in Node, ort.node.min.mjs imports ./ort-wasm-simd-threaded.mjs next to itself, which loads
 * the .wasm beside it, so nothing is fetched.
 */
function configureEnv(): void {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
}

export async function createOrtQLinearConv(problem: ConvProblem, options: OrtConvOptions = {}): Promise<OrtConv> {
  const activations = options.activations ?? 'int8';
  const model = buildQLinearConvModel(problem, activations);
  configureEnv();
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const s = problem.shape;
  const { outH, outW } = outputSize(s);
  const inDims = [1, s.inC, s.inH, s.inW];
  const inLength = s.inH * s.inW * s.inC;
  const flip = activations === 'uint8' ? -128 : 0;

  const runNCHW = async (inputNCHW: Int8Array): Promise<Int8Array> => {
    if (inputNCHW.length !== inLength) throw new InputError(`input must have ${inLength} elements, got ${inputNCHW.length}`);
    // Zero-copy views: only the element type ORT sees changes.
    const x =
      activations === 'uint8'
        ? new ort.Tensor('uint8', new Uint8Array(inputNCHW.buffer, inputNCHW.byteOffset, inLength), inDims)
        : new ort.Tensor('int8', inputNCHW, inDims);
    const y = (await session.run({ x }))['y'];
    const data = y?.data;
    if (!(data instanceof Int8Array || data instanceof Uint8Array)) throw new Error('onnxruntime returned no 8-bit output y');
    return new Int8Array(data.buffer, data.byteOffset, data.length);
  };
  const toNCHW = (nhwc: Int8Array): Int8Array => hwcToChw(nhwc, s.inH, s.inW, s.inC, flip);
  const fromNCHW = (nchw: Int8Array): Int8Array => chwToHwc(nchw, outH, outW, s.outC, flip);
  return {
    activations,
    runNCHW,
    toNCHW,
    fromNCHW,
    run: async (nhwc) => fromNCHW(await runNCHW(toNCHW(nhwc))),
    release: () => session.release(),
  };
}

/**
 * A float graph (harness/model/graph.ts) plus a calibration (calibrate.ts) as an integer graph,
 * and its inference on three convolution backends.
 *
 *   int-graph-nodes.ts     the nodes and their quantization constants
 *   int-graph-build.ts     building them from the float graph and the calibration
 *   int-graph-ops.ts       their integer arithmetic on int8 codes
 *   int-graph-backends.ts  the convolution backends
 * This file runs a graph.
 *
 * Every tensor is codes in an Int8Array, NHWC, with an asymmetric b-bit quantizer (calibrate.ts)
 * real = scale * (q - zeroPoint), q in [-2^(b-1), 2^(b-1) - 1], b = 2..8 per tensor: every
 * clamp below (a conv's or add's output, a concat's requantization) is the output tensor's b-bit
 * code range, so a low-bit tensor never holds a code outside it.
 * The nodes and their integer arithmetic:
 *
 *  conv       (fully connected layers included) a ConvProblem (harness/conv/layer.ts): weights
 *             per output channel at `weightBits` (weights.ts),
 *             int32 bias = round(bias / (inScale * wScale[o])), multiplier
 *             inScale * wScale[o] / outScale per output channel, requantization `requantMode`
 *             (default 'gemmlowp'), and a clamp [outputMin, outputMax] fused from a ReLU, ReLU6
 *             or Clip that is the convolution's only reader: [max(-128, zp + round(lo / s)),
 *             min(127, zp + round(hi / s))] with ReLU as lo = 0, hi = +inf. The output
 *             quantizer is the calibrated one of the activation's output when fused.
 *             A grouped (e.g. depthwise) convolution runs as `groups` dense problems, one per
 *             group, on the same kernel: the split-convolution engine has no depthwise mode, so
 *             each group's K x K taps are inner products over its inC / groups channels.
 *  maxpool    max of the codes in the window (padded pixels ignored), output quantizer = input
 *             quantizer: exact, because quantization is monotonic.
 *  avgpool,   output quantizer = input quantizer; sum S of the window's codes (a padded pixel
 *  globalavg  counts as the code zeroPoint, i.e. real 0, when countIncludePad) over n pixels,
 *             q = round half away from zero(S / n), computed as trunc((S ± floor(n/2)) / n),
 *             TFLite's integer AveragePool (tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h).
 *  add        TFLite's general int8 Add (tensorflow/lite/kernels/add.cc, PrepareGeneralSubOp, and
 *             reference_integer_ops/add.h), left shift 20:
 *               m = 2 * max(sA, sB);  realA = sA / m;  realB = sB / m;  realOut = m / (2^20 * sOut)
 *               a = (qA - zpA) * 2^20;  b = (qB - zpB) * 2^20
 *               sum = MulQ(a, realA) + MulQ(b, realB)
 *               q = clamp(MulQ(sum, realOut) + zpOut, lo, hi)
 *             where MulQ(x, real) is TFLite MultiplyByQuantizedMultiplier with QuantizeMultiplier(real)
 *             (harness/reference/requant.ts multiplyGemmlowp; for real < 1 it is the
 *             ...SmallerThanOneExp form TFLite uses). A following ReLU/Clip fuses as for conv.
 *  relu, clip (not fused) a clamp of the codes, output quantizer = input quantizer.
 *  flatten    'hwc': a no-op on NHWC codes; 'chw': the same permutation of the codes as in float.
 *  concat     channel concatenation. With one input that is not `zeros` (BlazeFace's channel
 *             padding) the output keeps that input's quantizer and the codes are copied, as
 *             TFLite requires equal quantizers for int8 Concatenation. With several, the output
 *             is calibrated and each input whose quantizer differs is requantized like a
 *             one-operand add: q = clamp(MulQ((q_in - zp_in) * 2^20, s_in / (2^20 * s_out)) + zp_out).
 *  zeros      (only as a concat input: ONNX ConstantOfShape) every code = the concat's zero
 *             point, i.e. real 0 exactly.
 *
 * Not supported (InputError naming the node): softmax, zeros read by anything but a concat,
 * batchnorm that foldBatchNorm could not fold.
 *
 * Backends for the convolutions (everything else is the TypeScript above in 'reference' and 'dsp'):
 *  - 'reference': harness/reference/conv.ts referenceConv, the exact integer oracle;
 *  - 'wasm':      the whole graph compiled into one WebAssembly instance (int-graph-wasm.ts): the
 *                 SIMD split-convolution kernel WASM_VARIANT from the 'simd' module and every
 *                 other node in WebAssembly, no copies between nodes (runIntGraphTensorsWith
 *                 with groupRunner(g, 'wasm') is the per-layer form: one runner per layer, the
 *                 other nodes in TypeScript);
 *  - 'dsp':       a packed-DSP kernel per layer with the packing plan of packing-plan.ts: the
 *                 densest scheme that takes the layer's weight and activation codes, and the
 *                 longest cascade chain (<= 16) within that scheme's proven accumulation bound
 *                 for those operand ranges, so the packed result equals the exact one.
 * 'reference' and 'wasm' must agree bit for bit (test/quant.test.ts proves it).
 */
import { shapeSize } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import { type Backend, type GroupRun, groupRunner } from './int-graph-backends.ts';
import type { IntConv, IntGraph } from './int-graph-nodes.ts';
import { runConv, runOther } from './int-graph-ops.ts';
import { wasmGraph } from './int-graph-wasm.ts';

export { BACKENDS, type Backend, type GroupRun, WASM_VARIANT, groupRunner } from './int-graph-backends.ts';
export { type LayerPacking, packingPlan } from './packing-plan.ts';
export { buildIntGraph, calibratedTensors, intGraphMacs } from './int-graph-build.ts';
export {
  ADD_LEFT_SHIFT,
  type IntAdd,
  type IntClamp,
  type IntConcat,
  type IntConv,
  type IntFlatten,
  type IntGlobalAvgPool,
  type IntGraph,
  type IntGraphOptions,
  type IntNode,
  type IntPool,
  type IntTensor,
  type IntZeros,
} from './int-graph-nodes.ts';
export { roundedDivide } from './int-graph-ops.ts';

/** Runs the integer graph; returns every tensor's codes by name (the input included). */
export function runIntGraphTensors(g: IntGraph, input: Int8Array, backend: Backend = 'reference'): Map<string, Int8Array> {
  if (backend === 'wasm') return wasmGraph(g, { keepAll: true }).tensors(input);
  return runIntGraphTensorsWith(g, input, groupRunner(g, backend));
}

/**
 * runIntGraphTensors with the caller's convolution runner instead of a backend's: a model of
 * other arithmetic (e.g. harness/dsp/overpack-conv.ts) runs in the graph unchanged otherwise.
 */
export function runIntGraphTensorsWith(g: IntGraph, input: Int8Array, run: GroupRun): Map<string, Int8Array> {
  const want = shapeSize(g.input.shape);
  if (!(input instanceof Int8Array) || input.length !== want) {
    throw new InputError(`input '${g.input.name}' must be an Int8Array of ${want} codes, got ${input?.length ?? 'none'}`);
  }
  const t = new Map<string, Int8Array>([[g.input.name, input]]);
  for (const node of g.nodes) {
    const inputs = node.inputs.map((n) => t.get(n)!);
    if (node.op === 'conv') t.set(node.output, runConv(node, inputs[0]!, run));
    else t.set(node.output, runOther(node, inputs, node.inputs.map((n) => g.tensors.get(n)!.shape), g.tensors.get(node.output)!.shape));
  }
  return t;
}

/** Runs the integer graph; returns the codes of its first output. */
export function runIntGraph(g: IntGraph, input: Int8Array, backend: Backend = 'reference'): Int8Array {
  if (backend === 'wasm') return wasmGraph(g).run(input)[0]!;
  return runIntGraphTensors(g, input, backend).get(g.outputs[0]!.name)!;
}

/** Per convolution (by node name): outputs of the packed-DSP plan that differ from the exact kernels, and outputs compared. */
export interface PackedDifferences {
  differing: number;
  outputs: number;
}

/** Runs every input on the 'wasm' (exact) and 'dsp' (packing plan) backends and counts, per convolution, the outputs that differ. */
export function packedDifferences(g: IntGraph, inputs: Iterable<Int8Array>): Map<string, PackedDifferences> {
  const convs = g.nodes.filter((n): n is IntConv => n.op === 'conv');
  const r = new Map(convs.map((c) => [c.name, { differing: 0, outputs: 0 }]));
  for (const x of inputs) {
    const exact = runIntGraphTensors(g, x, 'wasm');
    const dsp = runIntGraphTensors(g, x, 'dsp');
    for (const c of convs) {
      const a = exact.get(c.output)!;
      const b = dsp.get(c.output)!;
      const t = r.get(c.name)!;
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) t.differing++;
      t.outputs += a.length;
    }
  }
  return r;
}

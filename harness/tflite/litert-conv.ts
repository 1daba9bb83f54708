/**
 * LiteRT.js as a peer of our kernels: a ConvProblem built as a one-CONV_2D `.tflite` model
 * (build-conv.ts), compiled by LiteRT.js for the CPU (XNNPACK), its int8 output read back NHWC,
 * which is our layout, so no transposition is timed or needed.
 *
 * What it computes: XNNPACK's int8 convolution with per-channel ("qc8w") weights requantizes in
 * float: f32(acc) * f32 scale, clamp, round half to even, add the zero point; that is our `fp32`
 * mode, on the problem with float32 scales (`tfliteProblem`). TFLite's own reference kernels
 * would round the gemmlowp way instead; LiteRT.js runs CONV_2D on XNNPACK (its log says
 * "Created TensorFlow Lite XNNPACK delegate for CPU"), and the outputs are checked, not assumed.
 */
import { type ConvProblem, outputSize } from '../conv/layer.ts';
import { buildTfliteConv, tfliteProblem } from './build-conv.ts';
import { type LiteRtLoadOptions, createLiteRtRunner, loadLiteRt } from './litert.ts';

export interface LiteRtConv {
  /** The problem LiteRT computes: the input problem with float32 scales, in `fp32` mode. */
  readonly problem: ConvProblem;
  /** XNNPACK threads this model was compiled with. */
  readonly threads: number;
  /** The package's wasm build that runs it (relaxed SIMD, plain SIMD, threaded). */
  readonly build: string;
  /** One inference, output left in LiteRT's buffers: the call to time. */
  run(): Promise<void>;
  /** One inference, int8 NHWC output copied out. */
  output(): Promise<Int8Array>;
  release(): void;
}

export interface LiteRtConvOptions extends LiteRtLoadOptions {
  /** XNNPACK threads. @default 1 */
  numThreads?: number;
}

export async function createLiteRtConv(problem: ConvProblem, options: LiteRtConvOptions = {}): Promise<LiteRtConv> {
  const p = tfliteProblem(problem);
  const fp32: ConvProblem = { ...p, requant: { ...p.requant, mode: 'fp32' } };
  const { info } = await loadLiteRt(options);
  const runner = await createLiteRtRunner(buildTfliteConv(fp32), options);
  runner.setInput(p.input);
  const { outH, outW } = outputSize(p.shape);
  return {
    problem: fp32,
    threads: runner.threads,
    build: info.build.replace(/\.js$/, ''),
    run: () => runner.run(),
    async output() {
      const y = await runner.runAndRead();
      if (y.length !== outH * outW * p.shape.outC) throw new Error(`LiteRT returned ${y.length} outputs, expected ${outH * outW * p.shape.outC}`);
      return y;
    },
    release: () => runner.release(),
  };
}

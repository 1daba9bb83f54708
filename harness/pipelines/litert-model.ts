/**
 * The whole embedded Fashion-MNIST model on our kernels and on LiteRT.js (XNNPACK), side by side:
 *
 *   1. quantize the model (int8, requantization 'fp32': XNNPACK's arithmetic) into our integer graph;
 *      where no float32 filter scale makes XNNPACK's multiplier equal ours, the graph takes
 *      XNNPACK's (asExported: an ulp of float32 on some channels), so both compute one model;
 *   2. write it as a .tflite (quant/tflite-export.ts) whose outputs are every node's tensor;
 *   3. run `checkImages` held-out images through both and count differing codes per tensor: any
 *      difference refuses the timing (VerificationError);
 *   4. time one image through each (tinybench, p50 ± MAD): our graph on the WASM split-convolution
 *      kernel (runIntGraph, backend 'wasm': everything it does per image), LiteRT.js copying the
 *      image in and running (its output left in its buffers), at each thread count.
 */
import { Bench } from 'tinybench';
import { evalInput } from '../model/fashion-mnist.ts';
import { quantizeTensor } from '../quant/calibrate.ts';
import { calibrationIndices, measureIndices, quantizeModel } from '../quant/evaluate.ts';
import { WASM_VARIANT, intGraphMacs, runIntGraph, runIntGraphTensors } from '../quant/int-graph.ts';
import { asExported, buildTfliteModel } from '../quant/tflite-export.ts';
import { createLiteRtRunner } from '../tflite/litert.ts';
import { VerificationError } from '../util/errors.ts';
import { loadModel } from './compress.ts';

export interface LiteRtModelOptions {
  /** Held-out images compared tensor by tensor before timing. @default 200 */
  checkImages?: number;
  /** LiteRT.js thread counts (above 1 loads the threaded build: relaxed SIMD). @default [1] */
  threads?: number[];
  /** Minimum measuring time per task, ms. @default 1000 */
  timeMs?: number;
}

export interface LiteRtModelRow {
  who: string;
  p50Ms: number;
  madMs: number;
  samples: number;
  imagesPerSecond: number;
}

export interface LiteRtModelResult {
  model: string;
  macsPerImage: number;
  checkedImages: number;
  /**
   * Convolution channels whose multiplier in the compared graph is XNNPACK's (from the file's
   * float32 scales) rather than the quantizer's, because no float32 filter scale carries the
   * latter exactly (quant/tflite-export.ts exactFilterScale); they differ by an ulp of float32.
   */
  multipliers: { retargeted: number; channels: number };
  /** Per tensor (node output): codes differing between LiteRT.js and our graph, and codes compared. */
  tensors: { name: string; differing: number; codes: number }[];
  /** Images whose top-1 class is the same on both. */
  sameTop1: number;
  rows: LiteRtModelRow[];
}

/** p50 and MAD (ms) of one call of `fn` under tinybench, and the samples taken. */
export async function time(fn: () => unknown, timeMs: number): Promise<{ p50: number; mad: number; n: number }> {
  const bench = new Bench({ time: timeMs, iterations: 20, warmupTime: Math.min(200, timeMs / 4), warmupIterations: 5, timestampProvider: 'hrtimeNow', throws: true });
  bench.add('t', fn as () => void);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`benchmark did not complete: ${r.state}`);
  return { p50: r.latency.p50, mad: r.latency.mad, n: r.latency.samplesCount };
}

const argmax = (v: Int8Array): number => v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);

export async function benchLiteRtModel(options: LiteRtModelOptions = {}): Promise<LiteRtModelResult> {
  const threads = options.threads ?? [1];
  const timeMs = options.timeMs ?? 1000;
  const m = loadModel();
  const quantized = quantizeModel(m.graph, m.set, calibrationIndices(m.set), {}, { requantMode: 'fp32' });
  // Our graph with XNNPACK's multipliers where the file cannot carry ours exactly: the same arithmetic on both sides.
  const { graph: g, retargeted, channels } = asExported(quantized);
  const names = g.nodes.filter((n) => n.op !== 'flatten').map((n) => n.output);
  const last = names.length - 1;
  const images = measureIndices(m.set).slice(0, options.checkImages ?? 200).map((i) => quantizeTensor(evalInput(m.set, i), g.input.params));

  // Every tensor, every image: the check that decides whether the timing counts.
  const check = await createLiteRtRunner(buildTfliteModel(g, { outputs: names }), { outputs: names.length, threads: threads.some((n) => n > 1) });
  const tensors = names.map((name) => ({ name, differing: 0, codes: 0 }));
  let sameTop1 = 0;
  for (const x of images) {
    check.setInput(x);
    const got = await check.runAndReadAll();
    const want = runIntGraphTensors(g, x, 'wasm');
    names.forEach((name, k) => {
      const a = got[k]!;
      const b = want.get(name)!;
      for (let j = 0; j < b.length; j++) if (a[j] !== b[j]) tensors[k]!.differing++;
      tensors[k]!.codes += b.length;
    });
    if (argmax(got[last]!) === argmax(want.get(names[last]!)!)) sameTop1++;
  }
  check.release();
  const bad = tensors.filter((t) => t.differing > 0);
  if (bad.length) {
    throw new VerificationError(`LiteRT.js differs from our integer graph: ${bad.map((t) => `${t.name} ${t.differing} of ${t.codes} codes`).join('; ')}; not timed`);
  }

  const rows: LiteRtModelRow[] = [];
  const x = images[0]!;
  const ours = await time(() => runIntGraph(g, x, 'wasm'), timeMs);
  rows.push({ who: `our integer graph, ${WASM_VARIANT}`, p50Ms: ours.p50, madMs: ours.mad, samples: ours.n, imagesPerSecond: 1000 / ours.p50 });
  const model = buildTfliteModel(g);
  for (const n of threads) {
    const r = await createLiteRtRunner(model, { numThreads: n, threads: threads.some((t) => t > 1) });
    const s = await time(async () => {
      r.setInput(x);
      await r.run();
    }, timeMs);
    rows.push({ who: `LiteRT.js (XNNPACK, ${n} thread${n > 1 ? 's' : ''})`, p50Ms: s.p50, madMs: s.mad, samples: s.n, imagesPerSecond: 1000 / s.p50 });
    r.release();
  }
  return { model: m.path, macsPerImage: intGraphMacs(g), checkedImages: images.length, multipliers: { retargeted, channels }, tensors, sameTop1, rows };
}

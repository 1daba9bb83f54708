/**
 * Whole-model images/s, one thread, same images: our integer graph compiled into one WebAssembly
 * instance (quant/int-graph-wasm.ts; one image per call, and a batch per call), the per-layer
 * path it replaces (a KernelRunner per layer, the other nodes in TypeScript), onnxruntime-web
 * on the graph exported as int8 ONNX (quant/onnx-export.ts, wasm, 1 thread), and LiteRT.js
 * (XNNPACK, 1 thread) on the graph exported as .tflite (quant/tflite-export.ts; both graphs take
 * XNNPACK's float32 multipliers where no filter scale carries ours, asExported).
 *
 * Each peer's output codes are compared with ours on every image before it is timed; the
 * differing codes are reported (onnxruntime's QLinearAdd rounds in float, so BlazeFace may
 * differ by a code on rounding ties; test/quant-onnx.test.ts measures it).
 * Timed per image: writing the input codes, the run, reading the output codes for ours; for
 * onnxruntime-web session.run on a prepared int8 NCHW tensor (it returns its outputs); for
 * LiteRT.js copying the image in and running (its output left in its buffers).
 */
import * as ort from 'onnxruntime-web';
import { BLAZEFACE_CALIBRATION_IMAGES, BLAZEFACE_INPUTS, BLAZEFACE_MODEL, BLAZEFACE_RANGE, readUint8Images } from '../model/image-inputs.ts';
import { evalInput } from '../model/fashion-mnist.ts';
import { nchwToNhwc, nhwcToNchw } from '../model/graph.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { calibrate, quantizeTensor } from '../quant/calibrate.ts';
import { calibrationIndices, measureIndices, quantizeModel } from '../quant/evaluate.ts';
import { type IntGraph, buildIntGraph, calibratedTensors, groupRunner, intGraphMacs, runIntGraphTensorsWith } from '../quant/int-graph.ts';
import { DEFAULT_VARIANT, WasmGraph } from '../quant/int-graph-wasm.ts';
import { exportIntGraphOnnx } from '../quant/onnx-export.ts';
import { asExported, buildTfliteModel } from '../quant/tflite-export.ts';
import { SPLITCONV_VARIANTS } from '../registry/splitconv.ts';
import { createLiteRtRunner } from '../tflite/litert.ts';
import { modulesFor } from '../wasm/kernel-runner.ts';
import { loadModel } from './compress.ts';
import { time } from './litert-model.ts';

export const THROUGHPUT_MODELS = ['fashion-mnist', 'blazeface'] as const;
export type ThroughputModel = (typeof THROUGHPUT_MODELS)[number];

export interface ThroughputOptions {
  models?: readonly ThroughputModel[];
  /** Held-out Fashion-MNIST images (BlazeFace: its 8 measured photos). @default 200 */
  images?: number;
  /** Images per call of the batched row. @default 32 */
  batch?: number;
  /** Minimum measuring time per row, ms. @default 1000 */
  timeMs?: number;
}

export interface ThroughputRow {
  who: string;
  p50Ms: number;
  madMs: number;
  samples: number;
  imagesPerSecond: number;
  /** Output codes differing from ours over every image, and codes compared (peers only). */
  differing?: number;
  codes?: number;
  /** Why the row has no timing. */
  skipped?: string;
}

export interface ThroughputResult {
  model: string;
  images: string;
  imageCount: number;
  macsPerImage: number;
  convKinds: string[];
  rows: ThroughputRow[];
}

interface Workload {
  model: string;
  images: string;
  graph: IntGraph;
  inputs: Int8Array[];
}

function workload(model: ThroughputModel, count: number): Workload {
  if (model === 'fashion-mnist') {
    const m = loadModel();
    // XNNPACK's multipliers where no float32 filter scale carries ours: one model on every runtime (litert-model.ts).
    const { graph } = asExported(quantizeModel(m.graph, m.set, calibrationIndices(m.set), {}, { requantMode: 'fp32' }));
    const idx = measureIndices(m.set).slice(0, count);
    return { model: `embedded Fashion-MNIST CNN (${m.path.split('/').pop()}, int8, fp32 requantization)`, images: `held-out test images ${idx[0]}..${idx[idx.length - 1]}`, graph, inputs: idx.map((i) => quantizeTensor(evalInput(m.set, i), graph.input.params)) };
  }
  const bf = importOnnxFile(BLAZEFACE_MODEL);
  const photos = readUint8Images(BLAZEFACE_INPUTS, bf.input.shape, BLAZEFACE_RANGE);
  const { graph } = asExported(buildIntGraph(bf, calibrate(bf, photos.slice(0, BLAZEFACE_CALIBRATION_IMAGES), {}, calibratedTensors(bf)), { requantMode: 'fp32' }));
  const measured = photos.slice(BLAZEFACE_CALIBRATION_IMAGES);
  return { model: 'BlazeFace face_detection_front 128x128 (int8, fp32 requantization)', images: `its embedded photos ${BLAZEFACE_CALIBRATION_IMAGES}..${photos.length - 1}`, graph, inputs: measured.map((p) => quantizeTensor(p, graph.input.params)) };
}

const row = (who: string, t: { p50: number; mad: number; n: number }, perCall = 1, check?: { differing: number; codes: number }): ThroughputRow => ({
  who, p50Ms: t.p50 / perCall, madMs: t.mad / perCall, samples: t.n, imagesPerSecond: (1000 * perCall) / t.p50, ...check,
});

const countDiffering = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) d++;
  return d;
};

async function ortRow(w: Workload, ours: Int8Array[][], timeMs: number): Promise<ThroughputRow> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const g = w.graph;
  const session = await ort.InferenceSession.create(exportIntGraphOnnx(g), { executionProviders: ['wasm'] });
  try {
    const s = g.input.shape;
    const feeds = w.inputs.map((x) => ({ [g.input.name]: new ort.Tensor('int8', Int8Array.from(nhwcToNchw(x, s)), [1, s.c, s.h, s.w]) }));
    const check = { differing: 0, codes: 0 };
    for (let k = 0; k < feeds.length; k++) {
      const res = await session.run(feeds[k]!);
      g.outputs.forEach((o, j) => {
        const got = Int8Array.from(nchwToNhwc(res[o.name]!.data as Int8Array, o.shape));
        check.differing += countDiffering(got, ours[k]![j]!);
        check.codes += got.length;
      });
    }
    let k = 0;
    const t = await time(() => session.run(feeds[k++ % feeds.length]!), timeMs);
    return row('onnxruntime-web (wasm, 1 thread), exported int8 ONNX', t, 1, check);
  } finally {
    await session.release();
  }
}

async function liteRtRow(w: Workload, ours: Int8Array[][], timeMs: number): Promise<ThroughputRow> {
  let model: Uint8Array;
  try {
    model = buildTfliteModel(w.graph, { outputs: w.graph.outputs.map((o) => o.name) });
  } catch (e) {
    return { who: 'LiteRT.js (XNNPACK, 1 thread)', p50Ms: NaN, madMs: NaN, samples: 0, imagesPerSecond: NaN, skipped: (e as Error).message };
  }
  const r = await createLiteRtRunner(model, { numThreads: 1, outputs: w.graph.outputs.length });
  try {
    const check = { differing: 0, codes: 0 };
    for (let k = 0; k < w.inputs.length; k++) {
      r.setInput(w.inputs[k]!);
      (await r.runAndReadAll()).forEach((got, j) => {
        check.differing += countDiffering(got, ours[k]![j]!);
        check.codes += got.length;
      });
    }
    let k = 0;
    const t = await time(async () => {
      r.setInput(w.inputs[k++ % w.inputs.length]!);
      await r.run();
    }, timeMs);
    return row('LiteRT.js (XNNPACK, 1 thread), exported .tflite', t, 1, check);
  } finally {
    r.release();
  }
}

export async function benchModelThroughput(options: ThroughputOptions = {}): Promise<ThroughputResult[]> {
  const timeMs = options.timeMs ?? 1000;
  const batch = options.batch ?? 32;
  const out: ThroughputResult[] = [];
  for (const model of options.models ?? THROUGHPUT_MODELS) {
    const w = workload(model, options.images ?? 200);
    const g = w.graph;
    const compiled = new WasmGraph(g);
    const ours = w.inputs.map((x) => compiled.run(x));
    const rows: ThroughputRow[] = [];
    let k = 0;
    rows.push(row(`ours: compiled graph, one WASM instance (${DEFAULT_VARIANT})`, await time(() => compiled.run(w.inputs[k++ % w.inputs.length]!), timeMs)));
    const batchInputs = Array.from({ length: batch }, (_, j) => w.inputs[j % w.inputs.length]!);
    rows.push(row(`ours: compiled graph, ${batch} images per call`, await time(() => compiled.runBatch(batchInputs), timeMs), batch));
    // Every relaxed-SIMD variant exact on all int8 weights that this engine runs: the same graph in the relaxed module.
    for (const v of SPLITCONV_VARIANTS.filter((x) => x.module === 'relaxed' && x.weightRange[0] === -128 && x.weightRange[1] === 127)) {
      if (!modulesFor(v).some((m) => m.name === 'relaxed')) continue;
      const relaxed = new WasmGraph(g, { variant: v.name });
      const check = { differing: 0, codes: 0 };
      w.inputs.forEach((x, j) => relaxed.run(x).forEach((o, i) => {
        check.differing += countDiffering(o, ours[j]![i]!);
        check.codes += o.length;
      }));
      rows.push(row(`ours: compiled graph, relaxed module (${v.name})`, await time(() => relaxed.run(w.inputs[k++ % w.inputs.length]!), timeMs), 1, check));
    }
    const perLayer = groupRunner(g, 'wasm');
    const old = (x: Int8Array) => runIntGraphTensorsWith(g, x, perLayer);
    const oldCheck = { differing: 0, codes: 0 };
    w.inputs.forEach((x, j) => {
      const all = old(x);
      g.outputs.forEach((o, i) => {
        oldCheck.differing += countDiffering(all.get(o.name)!, ours[j]![i]!);
        oldCheck.codes += o.shape.h * o.shape.w * o.shape.c;
      });
    });
    rows.push(row('ours before: a KernelRunner per layer, other nodes in TypeScript', await time(() => old(w.inputs[k++ % w.inputs.length]!), timeMs), 1, oldCheck));
    rows.push(await ortRow(w, ours, timeMs));
    rows.push(await liteRtRow(w, ours, timeMs));
    out.push({ model: w.model, images: w.images, imageCount: w.inputs.length, macsPerImage: intGraphMacs(g), convKinds: [...compiled.convKinds.values()], rows });
  }
  return out;
}

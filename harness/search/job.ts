/**
 * One candidate evaluation of `fkb search`, in a worker thread (harness/parallel/pool.ts) or in
 * the calling thread: the candidate compressed by compressModel (the code `fkb compress` runs),
 * its integer model run on the WASM kernels over the given images, and engine (a)'s cycle
 * model on its packing plan with the candidate's engine configuration.
 *
 * Per worker, the loaded model, compressModel's memo (pruned graphs, calibration ranges) and the
 * accuracy of each compression (a candidate that differs only in its engine needs only the cycle
 * model) are kept between jobs. None of this changes a result: every evaluation is deterministic.
 */
import { type CompressOptions, type LoadedModel, type CompressMemo, compressMemo, compressModel, loadModel } from '../pipelines/compress.ts';
import { fpgaEstimate } from '../fpga/graph-layers.ts';
import { InfeasibleError } from '../fpga/models/index.ts';
import type { NetworkLayer } from '../networks/network.ts';
import { ensureBuilt } from '../wasm/build.ts';
import type { Candidate, EvalResult } from '../results/search.ts';

export type { EvalResult } from '../results/search.ts';

export interface EvalJob {
  /** The .onnx file, or undefined for the embedded model. */
  model?: string;
  /** Whether the full Debian test set is loaded (the search images lie beyond the committed 2,000). */
  fullTestSet: boolean;
  device: string;
  candidate: Candidate;
  /** What the accuracy depends on (space.ts compressionKey). */
  compressionKey: string;
  /** Test-set indices measured; or `images`: the first n held-out images (as `fkb compress --images n`). */
  measureImages?: number[];
  images?: number;
  /** Instead of the candidate's compression: these compressModel options (a hand-picked setting), on the candidate's engine. */
  options?: CompressOptions;
}


interface Compressed {
  correct: number;
  images: number;
  sizeBits: number;
  macs: number;
  layers: NetworkLayer[];
  schemes: string[];
}

const models = new Map<string, LoadedModel>();
let memo: CompressMemo | undefined;
const compressed = new Map<string, Compressed>();
const COMPRESSED_LIMIT = 4096;

let built = false;

export function runJob(job: EvalJob): EvalResult {
  if (!built) ensureBuilt(); // once per worker: it spawns the (incremental) build script
  built = true;
  const modelKey = `${job.model ?? ''}\n${job.fullTestSet}`;
  let loaded = models.get(modelKey);
  if (!loaded) {
    loaded = loadModel(job.model, job.fullTestSet);
    models.set(modelKey, loaded);
    memo = compressMemo(128); // a pruned graph and its ranges are small (the default model: ~250 KB)
  }
  const imagesKey = job.measureImages ? `${job.measureImages[0]}+${job.measureImages.length}` : `first ${job.images}`;
  const key = `${modelKey}\n${imagesKey}\n${job.compressionKey}`;
  let c = compressed.get(key);
  if (!c) {
    const { candidate } = job;
    const r = compressModel({
      ...(job.options ?? { layerRatio: candidate.ratio, layerBits: candidate.weightBits, layerActivationBits: candidate.activationBits }),
      loaded,
      memo,
      ...(job.measureImages ? { measureImages: job.measureImages } : { images: job.images }),
      backends: ['wasm'],
      dspImages: 0,
      floatReference: false,
      fpga: false,
    });
    const top1 = r.compressed.top1.wasm!;
    c = { correct: Math.round(top1 * r.images), images: r.images, sizeBits: r.compressed.sizeBits, macs: r.compressed.macs, layers: r.fpgaLayers, schemes: r.layers.map((l) => l.scheme) };
    if (compressed.size >= COMPRESSED_LIMIT) compressed.delete(compressed.keys().next().value!);
    compressed.set(key, c);
  }
  const out: EvalResult = { correct: c.correct, images: c.images, top1: c.correct / c.images, sizeBits: c.sizeBits, macs: c.macs, schemes: c.schemes };
  try {
    const f = fpgaEstimate(c.layers, { device: job.device, params: { ...job.candidate.engine } });
    return { ...out, cycles: f.cycles, latencyUs: f.timeUs, dsp: Math.max(...f.layers.map((l) => l.dsp)) };
  } catch (e) {
    if (e instanceof InfeasibleError) return { ...out, infeasible: e.message };
    throw e;
  }
}

/**
 * The pipeline behind `fkb lowrank`: low-rank factorization (truncated SVD) and vector
 * quantization of the factors (harness/lowrank/factorize.ts) on a CNN, the embedded
 * Fashion-MNIST model by default, and what it costs: top-1 of the float model, of the float
 * factors and of the vector-quantized factors on the same held-out images, size in bits, MACs,
 * and per layer the rank kept and the reconstruction errors.
 *
 * Images: the method is data-free (no image is used to compress). Top-1 is still measured only
 * on the images from CALIBRATION_IMAGES (200) on, the held-out images `fkb compress` measures,
 * so the numbers of the two commands compare on the same images.
 */
import type { Graph } from '../model/graph.ts';
import { type LayerFactorization, type LowRankOptions, type LowRankResult, lowRankCompress } from '../lowrank/factorize.ts';
import { CALIBRATION_IMAGES } from '../quant/calibrate.ts';
import { describeIndices, evaluateFloat, measureIndices } from '../quant/evaluate.ts';
import { requireInt } from '../util/errors.ts';
import { type LoadedModel, loadModel } from './compress.ts';

export interface FactorizeOptions extends LowRankOptions {
  /** An .onnx file; default the embedded Fashion-MNIST model. */
  model?: string;
  /** The model already loaded (overrides `model` and `fullTestSet`). */
  loaded?: LoadedModel;
  /** Evaluate on Debian's 10,000 Fashion-MNIST test images instead of the committed 2,000. @default false */
  fullTestSet?: boolean;
  /** Held-out images measured (from image 200 on). @default all of them */
  images?: number;
}

export interface ModelPoint {
  top1: number;
  correct: number;
  sizeBits: number;
  macs: number;
}

export interface FactorizeResult {
  model: string;
  options: LowRankResult['options'] & { fullTestSet: boolean };
  images: number;
  /** Test-set indices measured (the first 200 are never measured, as in `fkb compress`). */
  imageSets: { measured: string; neverMeasured: string };
  float: ModelPoint;
  /** Factorized, float factors. */
  lowRank: ModelPoint;
  /** Factorized and vector-quantized. */
  compressed: ModelPoint;
  layers: LayerFactorization[];
  /** The factorized, vector-quantized float graph. */
  graph: Graph;
}

export function factorizeModel(options: FactorizeOptions = {}): FactorizeResult {
  const loaded = options.loaded ?? loadModel(options.model, options.fullTestSet ?? false);
  const { path, graph, set } = loaded;
  const heldOut = Math.max(0, set.count - CALIBRATION_IMAGES);
  const images = options.images ?? heldOut;
  requireInt('images', images, 1, heldOut);
  const r = lowRankCompress(graph, options);
  const measure = measureIndices(set, images);
  const floatGiven = loaded.float && loaded.float.images === measure.length ? loaded.float : undefined;
  const f = floatGiven ?? evaluateFloat(graph, set, measure);
  const low = evaluateFloat(r.lowRank, set, measure);
  const vq = r.compressed === r.lowRank ? low : evaluateFloat(r.compressed, set, measure);
  return {
    model: path,
    options: { ...r.options, fullTestSet: options.fullTestSet ?? false },
    images: measure.length,
    imageSets: { measured: describeIndices(measure), neverMeasured: describeIndices(Array.from({ length: Math.min(CALIBRATION_IMAGES, set.count) }, (_, i) => i)) },
    float: { top1: f.top1, correct: f.correct, sizeBits: r.bits.float, macs: r.macs.float },
    lowRank: { top1: low.top1, correct: low.correct, sizeBits: r.bits.lowRank, macs: r.macs.lowRank },
    compressed: { top1: vq.top1, correct: vq.correct, sizeBits: r.bits.compressed, macs: r.macs.lowRank },
    layers: r.layers,
    graph: r.compressed,
  };
}

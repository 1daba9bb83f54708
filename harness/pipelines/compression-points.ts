/**
 * The compression settings `fkb run` reports on the embedded model: float, int8 per-channel,
 * pruned to about half the MACs plus int8, mixed 4/8-bit, and 4-bit weights, each measured on
 * the same held-out images. The model, the images and the float baseline are loaded and
 * evaluated once; per setting only what the report shows is computed.
 */
import type { RequantMode } from '../conv/layer.ts';
import { graphMacs } from '../model/graph.ts';
import { evaluateFloat, floatModelSize, measureIndices } from '../quant/evaluate.ts';
import type { CompressionResults } from '../results/index.ts';
import { type CompressOptions, type LoadedModel, compressModel } from './compress.ts';

export const REPORTED_SETTINGS: { setting: string; method: string; options: CompressOptions }[] = [
  { setting: 'int8 per-channel', method: 'quantization', options: {} },
  { setting: 'pruned l1 0.3 (reconstructed) + int8', method: 'pruning', options: { ratio: 0.3, reconstruct: true } },
  { setting: 'mixed: conv1 8-bit, rest 4-bit', method: 'quantization', options: { bits: 4, layerBits: { '/conv1/Conv': 8 } } },
  { setting: '4-bit weights', method: 'quantization', options: { bits: 4 } },
];

export interface CompressionPointsOptions {
  model: LoadedModel;
  /** Held-out images every setting is measured on. */
  images: number;
  requantMode: Exclude<RequantMode, 'raw'>;
  onStep?: (label: string, i: number, n: number) => void;
}

export function compressionResults(o: CompressionPointsOptions): CompressionResults {
  const measure = measureIndices(o.model.set, o.images);
  const model: LoadedModel = { ...o.model, float: evaluateFloat(o.model.graph, o.model.set, measure) };
  const points: CompressionResults['points'] = [
    { setting: 'float32', method: 'baseline', accuracy: model.float!.top1, sizeBytes: floatModelSize(model.graph).bits / 8, macs: graphMacs(model.graph) },
  ];
  REPORTED_SETTINGS.forEach(({ setting, method, options }, i) => {
    o.onStep?.(setting, i, REPORTED_SETTINGS.length);
    const r = compressModel({ ...options, loaded: model, images: o.images, backends: ['wasm'], requantMode: o.requantMode, dspImages: 0, fpga: false });
    points.push({ setting, method, accuracy: r.compressed.top1.wasm!, sizeBytes: r.compressed.sizeBits / 8, macs: r.compressed.macs });
  });
  const first = measure[0]!;
  return { network: `Fashion-MNIST CNN (${o.model.path.replace(/^.*?(models\/)/, '$1')})`, dataset: `Fashion-MNIST test images ${first}..${first + measure.length - 1}`, metric: 'top-1 accuracy', points };
}

/**
 * The compression settings `fkb run` reports on the embedded model: float, int8 per-channel,
 * pruned to about half the MACs plus int8, mixed 4/8-bit, and 4-bit weights, each measured on
 * the same held-out images.
 */
import type { CompressionResults } from '../report/report-data.ts';
import { type CompressOptions, compressModel } from './compress.ts';

export const REPORTED_SETTINGS: { setting: string; method: string; options: CompressOptions }[] = [
  { setting: 'int8 per-channel', method: 'quantization', options: {} },
  { setting: 'pruned l1 0.3 (reconstructed) + int8', method: 'pruning', options: { ratio: 0.3, reconstruct: true } },
  { setting: 'mixed: conv1 8-bit, rest 4-bit', method: 'quantization', options: { bits: 4, layerBits: { '/conv1/Conv': 8 } } },
  { setting: '4-bit weights', method: 'quantization', options: { bits: 4 } },
];

export function compressionResults(images: number, onStep?: (label: string, i: number, n: number) => void): CompressionResults {
  const points: CompressionResults['points'] = [];
  REPORTED_SETTINGS.forEach(({ setting, method, options }, i) => {
    onStep?.(setting, i, REPORTED_SETTINGS.length);
    const r = compressModel({ ...options, images, backends: ['wasm'] });
    if (i === 0) points.push({ setting: 'float32', method: 'baseline', accuracy: r.float.top1, sizeBytes: r.float.sizeBits / 8, macs: r.float.macs });
    points.push({ setting, method, accuracy: r.compressed.top1.wasm!, sizeBytes: r.compressed.sizeBits / 8, macs: r.compressed.macs });
  });
  return { network: 'Fashion-MNIST CNN (models/fashion-mnist/cnn.onnx)', dataset: `Fashion-MNIST test images 200..${199 + images}`, metric: 'top-1 accuracy', points };
}

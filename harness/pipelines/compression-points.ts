/**
 * The compression settings `fkb run` and `fkb compress --pareto` report on a model: float,
 * int8 per-channel, pruned to about half the MACs plus int8, mixed and low-bit weights and
 * activations, each measured on the same held-out images, with the FPGA cycles of engine (a)
 * running each layer on its packing plan, and the Pareto front of accuracy against cycles, size
 * and MACs. The model, the images and the float baseline are loaded and evaluated once; per
 * setting only what the table shows is computed.
 */
import type { RequantMode } from '../conv/layer.ts';
import { paretoFront } from '../fpga/pareto.ts';
import { graphMacs } from '../model/graph.ts';
import { evaluateFloat, floatModelSize, measureIndices } from '../quant/evaluate.ts';
import type { CompressionPoint, CompressionResults } from '../results/index.ts';
import { type CompressOptions, type LoadedModel, compressModel } from './compress.ts';

export interface ReportedSetting {
  setting: string;
  method: string;
  bits: string;
  options: CompressOptions;
}

export const REPORTED_SETTINGS: ReportedSetting[] = [
  { setting: 'int8 per-channel', method: 'quantization', bits: 'W8A8', options: {} },
  { setting: 'pruned l1 0.3 (reconstructed) + int8', method: 'pruning', bits: 'W8A8', options: { ratio: 0.3, reconstruct: true } },
  { setting: 'mixed: conv1 8-bit, rest 4-bit', method: 'quantization', bits: 'W4A8 (conv1 W8)', options: { bits: 4, layerBits: { '/conv1/Conv': 8 } } },
  { setting: '4-bit weights', method: 'quantization', bits: 'W4A8', options: { bits: 4 } },
  { setting: 'W4A4, classifier 8-bit', method: 'low precision', bits: 'W4A4 (classifier W8A8)', options: { bits: 4, activationBits: 4, keep8: ['last'] } },
  { setting: 'W4A4, first conv and classifier 8-bit', method: 'low precision', bits: 'W4A4 (ends W8A8)', options: { bits: 4, activationBits: 4, keep8: ['first', 'last'] } },
  { setting: 'W2A2, first conv and classifier 8-bit', method: 'low precision', bits: 'W2A2 (ends W8A8)', options: { bits: 2, activationBits: 2, keep8: ['first', 'last'] } },
];

export interface CompressionPointsOptions {
  model: LoadedModel;
  /** Held-out images every setting is measured on. */
  images: number;
  requantMode: Exclude<RequantMode, 'raw'>;
  /** @default REPORTED_SETTINGS */
  settings?: readonly ReportedSetting[];
  onStep?: (label: string, i: number, n: number) => void;
}

/** Marks the points on the Pareto front of accuracy (max) against FPGA cycles, size and MACs (min). */
export function markPareto(points: CompressionPoint[]): CompressionPoint[] {
  const front = new Set(
    paretoFront(points.length, points.map((p) => p.accuracy), [
      points.map((p) => p.fpgaCycles ?? Number.MAX_VALUE),
      points.map((p) => p.sizeBytes),
      points.map((p) => p.macs),
    ]),
  );
  return points.map((p, i) => ({ ...p, pareto: front.has(i) }));
}

export function compressionResults(o: CompressionPointsOptions): CompressionResults {
  const measure = measureIndices(o.model.set, o.images);
  const model: LoadedModel = { ...o.model, float: evaluateFloat(o.model.graph, o.model.set, measure) };
  const settings = o.settings ?? REPORTED_SETTINGS;
  // The float model has no FPGA cycle count: engine (a) has no float datapath.
  const points: CompressionPoint[] = [
    { setting: 'float32', method: 'baseline', bits: 'float32', accuracy: model.float!.top1, sizeBytes: floatModelSize(model.graph).bits / 8, macs: graphMacs(model.graph) },
  ];
  settings.forEach(({ setting, method, bits, options }, i) => {
    o.onStep?.(setting, i, settings.length);
    const r = compressModel({ ...options, loaded: model, images: o.images, backends: ['wasm'], requantMode: o.requantMode, dspImages: 0 });
    points.push({ setting, method, bits, origin: 'post-training', accuracy: r.compressed.top1.wasm!, sizeBytes: r.compressed.sizeBits / 8, macs: r.compressed.macs, fpgaCycles: r.fpga!.cycles });
  });
  const first = measure[0]!;
  return { network: `Fashion-MNIST CNN (${o.model.path.replace(/^.*?(models\/)/, '$1')})`, dataset: `Fashion-MNIST test images ${first}..${first + measure.length - 1}`, metric: 'top-1 accuracy', points: markPareto(points) };
}

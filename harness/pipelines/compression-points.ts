/**
 * The compression settings `fkb run` and `fkb compress --pareto` report on a model: float,
 * int8 per-channel, pruned to about half the MACs plus int8, mixed and low-bit weights and
 * activations, each measured on the same held-out images, with the FPGA cycles of engine (a)
 * running each layer on its packing plan, and the Pareto front of accuracy against cycles, size
 * and MACs. The model, the images and the float baseline are loaded and evaluated once; per
 * setting only what the table shows is computed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequantMode } from '../conv/layer.ts';
import { paretoFront } from '../fpga/pareto.ts';
import { importQuantizedOnnx } from '../qonnx/onnx-quant.ts';
import { intGraphMacs } from '../quant/int-graph.ts';
import { intModelSize } from '../quant/evaluate.ts';
import { readJsonInput } from '../util/json.ts';
import { graphMacs } from '../model/graph.ts';
import { evaluateFloat, floatModelSize, measureIndices } from '../quant/evaluate.ts';
import type { CompressionPoint, CompressionResults, TrainedSummary } from '../results/index.ts';
import { type TrainedModelCheck, importedCorrect, importedCycles } from './trained-model.ts';
import { InputError } from '../util/errors.ts';
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

/** The committed trained models (tools/train/qat.py via `fkb train`; models/fashion-mnist/lowbit/README.md). */
export const TRAINED_DIR = fileURLToPath(new URL('../../models/fashion-mnist/lowbit/', import.meta.url));

/** The QDQ models of TRAINED_DIR that have a training record, sorted by name. */
export function trainedModels(dir = TRAINED_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.onnx') && !f.endsWith('.pruned.onnx') && existsSync(join(dir, f.replace(/\.onnx$/, '.json'))))
    .sort()
    .map((f) => join(dir, f));
}

/** A committed trained model's record and check (`<name>.json`, `<name>.check.json`) as a summary row. */
export function trainedSummary(path: string): TrainedSummary {
  const rec = readJsonInput(path.replace(/\.onnx$/, '.json'), { what: 'training record', maxBytes: 1 << 24 }).value as TrainingRecord;
  const checkPath = path.replace(/\.onnx$/, '.check.json');
  const c = readJsonInput(checkPath, { what: 'fkb train check', maxBytes: 1 << 24 }).value as TrainedModelCheck;
  if (!c.vsTrainer || !c.vsOrt) throw new InputError(`${checkPath}: has no comparison with the trainer or onnxruntime-web (run fkb train with --dump-codes and --ort-images)`);
  if (c.top1.images !== rec.evalImages.count) throw new InputError(`${checkPath}: top-1 on ${c.top1.images} images, the record's on ${rec.evalImages.count}`);
  return {
    name: basename(path, '.onnx'),
    bits: bitsLabel(rec),
    training: `${describeTraining(rec)}, ${rec.epochs} epochs, seed ${rec.seed}`,
    trainSeconds: rec.trainSeconds,
    imageSet: c.top1.imageSet,
    images: c.top1.images,
    trainerTop1: rec.top1,
    wasmTop1: c.top1.top1,
    floatTop1: rec.teacherTop1,
    vsTrainer: { images: c.vsTrainer.images, codes: c.vsTrainer.codes, differing: c.vsTrainer.differing, ties: c.vsTrainer.ties, unexplained: c.vsTrainer.unexplained },
    vsOrt: c.vsOrt,
    dspDiffering: c.layers.reduce((n, l) => n + l.dspDiffering, 0),
    dspOutputs: c.layers.reduce((n, l) => n + l.dspOutputs, 0),
    fpgaCycles: c.fpgaCycles,
    macs: c.macs,
  };
}

/** 'W4A4 (last 8-bit)': the record's default widths and the ends kept at 8 bits. */
function bitsLabel(rec: TrainingRecord): string {
  const d = rec.defaults;
  return `W${d.weightBits}A${d.activationBits}${d.keep8bit.length ? ` (${d.keep8bit.join(' and ')} 8-bit)` : ''}`;
}

/** 'pruned, fine-tuned, QAT, distilled': a teacher other than the model trained means a pruned student (fkb train --prune-macs). */
function describeTraining(rec: TrainingRecord): string {
  const pruned = rec.teacher !== null && basename(rec.teacher) !== basename(rec.model);
  return [pruned ? 'pruned, fine-tuned' : '', 'QAT', rec.kd.enabled ? 'distilled' : '', rec.gradual.enabled ? 'gradual' : ''].filter(Boolean).join(', ');
}

interface TrainingRecord {
  model: string;
  evalImages: { count: number };
  trainSeconds: number;
  top1: number;
  teacherTop1: number;
  defaults: { weightBits: number; activationBits: number; keep8bit: string[] };
  kd: { enabled: boolean };
  gradual: { enabled: boolean };
  epochs: number;
  seed: number;
  teacher: string | null;
}

/** A trained QDQ model measured like the other settings: top-1 on the WASM kernels, size, MACs, FPGA cycles on its packing plan. */
export function trainedPoint(path: string, model: LoadedModel, measure: readonly number[]): CompressionPoint {
  const rec = readJsonInput(path.replace(/\.onnx$/, '.json'), { what: 'training record', maxBytes: 1 << 24 }).value as TrainingRecord;
  const imp = importQuantizedOnnx(path);
  return {
    setting: `${basename(path, '.onnx')}: ${describeTraining(rec)}, ${rec.epochs} epochs, seed ${rec.seed}`,
    method: 'trained', bits: bitsLabel(rec), origin: 'trained',
    accuracy: importedCorrect(imp, model.set, measure) / measure.length, sizeBytes: intModelSize(imp.intGraph).bits / 8, macs: intGraphMacs(imp.intGraph),
    fpgaCycles: importedCycles(imp),
  };
}

export interface CompressionPointsOptions {
  model: LoadedModel;
  /** Held-out images every setting is measured on. */
  images: number;
  requantMode: Exclude<RequantMode, 'raw'>;
  /** @default REPORTED_SETTINGS */
  settings?: readonly ReportedSetting[];
  /** Trained QDQ models measured on the same images. @default trainedModels() */
  trained?: readonly string[];
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
  const trained = o.trained ?? trainedModels();
  trained.forEach((path, i) => {
    o.onStep?.(basename(path), settings.length + i, settings.length + trained.length);
    points.push(trainedPoint(path, model, measure));
  });
  const first = measure[0]!;
  const summaries = trained.filter((p) => existsSync(p.replace(/\.onnx$/, '.check.json'))).map(trainedSummary);
  return {
    ...(summaries.length ? { trained: summaries } : {}),
    network: `Fashion-MNIST CNN (${o.model.path.replace(/^.*?(models\/)/, '$1')})`, dataset: `Fashion-MNIST test images ${first}..${first + measure.length - 1}`, metric: 'top-1 accuracy', points: markPareto(points) };
}

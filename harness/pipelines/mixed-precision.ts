/**
 * Mixed precision per layer: how sensitive each convolution is to its weight bit width, and a
 * gradual allocation that lowers layers one step at a time until a model-size or FPGA-cycle
 * budget is met.
 *
 * The allocation is a greedy, sensitivity-per-cost descent (our formulation; Sun et al.'s
 * gradual allocation could not be consulted):
 *
 *   1. every layer starts at 8 bits;
 *   2. each layer can step down the ladder 8 -> 6 -> 4 -> 3 -> 2 (BIT_LADDER; `minBits` cuts it);
 *   3. among the layers that can still step down and whose step saves something, take the one
 *      whose step costs the least sensitivity per unit of budget saved:
 *        cost   = increase of the layer's sensitivity from its current to its next width, read
 *                 from the one-layer-at-a-time table (`sensitivity`), clamped at 0;
 *        saving = weight bits saved (size budget) or FPGA cycles saved (cycle budget);
 *      ties: the larger saving first, then graph order;
 *   4. stop as soon as the budget is met.
 *
 * Sensitivity measures (`metric`):
 *   'sqnr'  the relative noise power 10^(-SQNR/10) of the logits against float. Noise powers of
 *           independent per-layer errors add, so the per-layer increases are comparable and
 *           summable (dB differences are not). @default
 *   'top1'  the top-1 drop against the all-8-bit model (coarse: one image is 1/searchImages).
 *
 * Images (EvalSet of 2000):
 *   0 .. 199                     calibration (calibrate.ts), as in compressModel;
 *   200 .. 200 + measure - 1     measurement: compressModel's held-out images, on which the chosen
 *                                allocation is verified end to end;
 *   count - search .. count - 1  search split: the sensitivity table is measured here only.
 * The search split is taken from the end of the set so it never overlaps the measurement images;
 * overlapping counts are an InputError.
 *
 * FPGA cycles come from the same model a estimate as compressModel (graphLayers + fpgaEstimate,
 * 8-bit activations). With activations at 8 bits a convolution costs the same cycles at every
 * weight width (int4 packing needs w and a <= 4 bits); only weight loading gets cheaper. Steps
 * that save no cycles are never taken under a cycle budget.
 */
import { type CompressResult, compressModel } from './compress.ts';
import { fpgaEstimate, graphLayers } from '../fpga/graph-layers.ts';
import { FASHION_MNIST_MODEL, type EvalSet, evalInput, readEvalSet } from '../model/fashion-mnist.ts';
import { foldBatchNorm } from '../model/fold.ts';
import type { ConvNode, Graph } from '../model/graph.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { CALIBRATION_IMAGES, type Observer, OBSERVERS, calibrate } from '../quant/calibrate.ts';
import { calibrationIndices, evaluateFloat, evaluateInt, sqnrDb } from '../quant/evaluate.ts';
import { buildIntGraph, calibratedTensors } from '../quant/int-graph.ts';
import { type CodeMode, DEFAULT_CODE_MODE } from '../conv/layer.ts';

/** The bit widths a layer steps through, highest first. */
export const BIT_LADDER = [8, 6, 4, 3, 2] as const;
export const METRICS = ['sqnr', 'top1'] as const;
export type Metric = (typeof METRICS)[number];

export interface SensitivityOptions {
  /** An .onnx file; default the embedded Fashion-MNIST model. */
  model?: string;
  /** Images of the search split, taken from the end of the evaluation set. @default 400 */
  searchImages?: number;
  /** Layers to measure (folded or original conv names). @default every convolution */
  layers?: readonly string[];
  /** Bit widths to measure, a subset of BIT_LADDER. @default BIT_LADDER */
  bits?: readonly number[];
  /** Activation calibration, as in compressModel. @default 'minmax' */
  calibration?: Observer;
  /** Requantization of the measured integer graphs, as in compressModel. @default 'gemmlowp' */
  requantMode?: CodeMode;
}

export interface SensitivityRow {
  /** The integer graph's (folded) name, e.g. '/conv1/Conv+/bn1/BatchNormalization'. */
  layer: string;
  /** The original conv node name, e.g. '/conv1/Conv'. */
  node: string;
  bits: number;
  weights: number;
  /** Top-1 on the search split with this layer at `bits`, every other layer at 8. */
  top1: number;
  /** Logit SQNR against float on the search split, dB. */
  sqnrDb: number;
}

export interface SensitivityTable {
  model: string;
  /** The search split's image indices (first .. last, contiguous). */
  search: { first: number; last: number; count: number };
  float: { top1: number };
  /** Every layer at 8 bits. */
  int8: { top1: number; sqnrDb: number };
  rows: SensitivityRow[];
}

/** The last `count` images of the set: the search split. */
export function searchIndices(set: EvalSet, count: number): number[] {
  requireInt('search images', count, 1, set.count - CALIBRATION_IMAGES);
  return Array.from({ length: count }, (_, i) => set.count - count + i);
}

interface Loaded {
  model: string;
  graph: Graph;
  convs: ConvNode[];
  set: EvalSet;
}

function load(model: string | undefined): Loaded {
  const path = model ?? FASHION_MNIST_MODEL;
  const graph = importOnnxFile(path);
  const convs = foldBatchNorm(graph).graph.nodes.filter((n): n is ConvNode => n.op === 'conv');
  return { model: path, graph, convs, set: readEvalSet() };
}

const nodeOf = (folded: string): string => folded.split('+')[0]!;

/** The folded names of `names` (each a folded or an original conv name). */
function resolveLayers(convs: readonly ConvNode[], names: readonly string[] | undefined): string[] {
  if (names === undefined) return convs.map((c) => c.name);
  return names.map((name) => {
    const c = convs.find((k) => k.name === name || nodeOf(k.name) === name);
    if (!c) throw new InputError(`no convolution named '${name}' (one of ${convs.map((k) => `${nodeOf(k.name)} (${k.name})`).join(', ')})`);
    return c.name;
  });
}

function checkLadder(bits: readonly number[]): void {
  for (const b of bits) {
    if (!(BIT_LADDER as readonly number[]).includes(b)) throw new InputError(`bit widths must be some of ${BIT_LADDER.join(', ')}, got ${String(b)}`);
  }
}

/**
 * For each layer and each bit width: only that layer quantized at that width (all others at 8),
 * top-1 and logit SQNR against float on the search split. Calibration does not depend on weight
 * bits (it observes the float activations), so it is done once; the integer graph is rebuilt per
 * row and run on the WASM kernels.
 */
export function sensitivity(options: SensitivityOptions = {}): SensitivityTable {
  const { model, graph, convs, set } = load(options.model);
  const observer = options.calibration ?? 'minmax';
  if (!(OBSERVERS as readonly string[]).includes(observer)) throw new InputError(`calibration must be one of ${OBSERVERS.join(', ')}, got '${observer}'`);
  const bits = [...(options.bits ?? BIT_LADDER)];
  checkLadder(bits);
  const layers = resolveLayers(convs, options.layers);
  const search = searchIndices(set, options.searchImages ?? 400);
  const cal = calibrate(graph, calibrationIndices(set).map((i) => evalInput(set, i)), { observer }, calibratedTensors(graph));
  const float = evaluateFloat(graph, set, search);
  const measure = (weightBits: Record<string, number>) => {
    const r = evaluateInt(buildIntGraph(graph, cal, { weightBits, requantMode: options.requantMode ?? DEFAULT_CODE_MODE }), set, search, 'wasm');
    return { top1: r.top1, sqnrDb: sqnrDb(float.outputs, r.outputs) };
  };
  const int8 = measure({});
  const rows: SensitivityRow[] = [];
  for (const layer of layers) {
    const weights = convs.find((c) => c.name === layer)!.weights.length;
    for (const b of bits) rows.push({ layer, node: nodeOf(layer), bits: b, weights, ...(b === 8 ? int8 : measure({ [layer]: b })) });
  }
  return { model, search: { first: search[0]!, last: search[search.length - 1]!, count: search.length }, float: { top1: float.top1 }, int8, rows };
}

export type Budget = { sizeBits: number } | { fpgaCycles: number };

export interface AllocateOptions extends SensitivityOptions {
  budget: Budget;
  /** The lowest width any layer may take (a BIT_LADDER value). @default 2 */
  minBits?: number;
  /** @default 'sqnr' */
  metric?: Metric;
  /** A table from `sensitivity` with the same model and layers, to skip measuring it again. */
  table?: SensitivityTable;
  /** Held-out images (from 200 on) on which compressModel verifies the allocation; 0 skips it. @default 400 */
  measureImages?: number;
}

export interface AllocationStep {
  layer: string;
  from: number;
  to: number;
  /** Sensitivity increase of the step (metric units). */
  cost: number;
  /** Budget units saved (weight bits or cycles). */
  saved: number;
  /** Size or cycles after the step. */
  after: number;
}

export interface Allocation {
  metric: Metric;
  budget: Budget;
  /** Bits per layer, keyed by folded name (compressModel's layerBits accepts these). */
  layerBits: Record<string, number>;
  sizeBits: number;
  fpgaCycles: number;
  steps: AllocationStep[];
  table: SensitivityTable;
  /** compressModel on the measurement images with `layerBits`, unless measureImages is 0. */
  verified?: {
    images: { first: number; last: number; count: number };
    floatTop1: number;
    top1: number;
    sqnrDb: number;
    sizeBits: number;
    fpgaCycles: number;
    result: CompressResult;
  };
}

/** Weights at their widths plus 32-bit biases: intModelSize without building the graph. */
function sizeOf(convs: readonly ConvNode[], bits: Record<string, number>): number {
  return convs.reduce((s, c) => s + (bits[c.name] ?? 8) * c.weights.length + 32 * c.bias.length, 0);
}

function cyclesOf(graph: Graph, bits: Record<string, number>, fpga: { params?: Record<string, unknown> } = {}): number {
  const folded = foldBatchNorm(graph).graph;
  return fpgaEstimate(graphLayers(folded, (name) => ({ wBits: bits[name] ?? 8, aBits: 8 })), fpga).cycles;
}

/** The gradual allocation described at the top of this file, then (optionally) compressModel on the held-out images. */
export function allocateBits(options: AllocateOptions): Allocation {
  const budget = options.budget as Partial<{ sizeBits: number; fpgaCycles: number }> | undefined;
  const kind = budget && 'sizeBits' in budget && !('fpgaCycles' in budget) ? 'sizeBits' : budget && 'fpgaCycles' in budget && !('sizeBits' in budget) ? 'fpgaCycles' : undefined;
  if (!kind) throw new InputError('budget must be exactly one of { sizeBits } or { fpgaCycles }');
  const limit = budget![kind];
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) throw new InputError(`budget ${kind} must be a positive number, got ${String(limit)}`);
  const metric = options.metric ?? 'sqnr';
  if (!(METRICS as readonly string[]).includes(metric)) throw new InputError(`metric must be one of ${METRICS.join(', ')}, got '${String(metric)}'`);
  const minBits = options.minBits ?? 2;
  checkLadder([minBits]);
  const ladder = BIT_LADDER.filter((b) => b >= minBits);
  const measureImages = options.measureImages ?? 400;
  const { model, graph, convs, set } = load(options.model);
  const layers = resolveLayers(convs, options.layers);
  requireInt('measure images', measureImages, 0, set.count - CALIBRATION_IMAGES);
  const searchCount = options.table?.search.count ?? options.searchImages ?? 400;
  if (measureImages > 0 && CALIBRATION_IMAGES + measureImages > set.count - searchCount) {
    throw new InputError(`measurement images ${CALIBRATION_IMAGES}..${CALIBRATION_IMAGES + measureImages - 1} overlap the search split ${set.count - searchCount}..${set.count - 1}: lower one of the counts`);
  }

  const cost = (bits: Record<string, number>) => (kind === 'sizeBits' ? sizeOf(convs, bits) : cyclesOf(graph, bits));
  const floor = Object.fromEntries(layers.map((l) => [l, minBits]));
  if (cost(floor) > limit) throw new InputError(`budget ${kind} ${limit} is below what ${minBits} bits on every searched layer achieves (${cost(floor)})`);

  const table = options.table ?? sensitivity({ ...options, bits: ladder, layers });
  if (table.model !== model) throw new InputError(`the sensitivity table is of ${table.model}, not ${model}`);
  const penalty = (layer: string, b: number): number => {
    const row = table.rows.find((r) => r.layer === layer && r.bits === b);
    if (!row) throw new InputError(`the sensitivity table has no row for ${layer} at ${b} bits`);
    return metric === 'sqnr' ? 10 ** (-row.sqnrDb / 10) : table.int8.top1 - row.top1;
  };

  const bits: Record<string, number> = Object.fromEntries(layers.map((l) => [l, 8]));
  const steps: AllocationStep[] = [];
  let current = cost(bits);
  while (current > limit) {
    let best: { layer: string; to: number; cost: number; saved: number; after: number } | undefined;
    for (const layer of layers) {
      const k = ladder.indexOf(bits[layer] as (typeof ladder)[number]);
      const to = ladder[k + 1];
      if (to === undefined) continue;
      const after = cost({ ...bits, [layer]: to });
      const saved = current - after;
      if (saved <= 0) continue;
      const c = Math.max(0, penalty(layer, to) - penalty(layer, bits[layer]!));
      const better = !best || c / saved < best.cost / best.saved - 1e-15 || (Math.abs(c / saved - best.cost / best.saved) <= 1e-15 && saved > best.saved);
      if (better) best = { layer, to, cost: c, saved, after };
    }
    // Unreachable when the floor check passed: lowering everything to minBits meets the budget.
    if (!best) throw new Error(`no step saves ${kind} from ${current}, yet the budget ${limit} is not met`);
    steps.push({ layer: best.layer, from: bits[best.layer]!, to: best.to, cost: best.cost, saved: best.saved, after: best.after });
    bits[best.layer] = best.to;
    current = best.after;
  }

  const allocation: Allocation = {
    metric, budget: { [kind]: limit } as Budget, layerBits: bits, sizeBits: sizeOf(convs, bits), fpgaCycles: cyclesOf(graph, bits), steps, table,
  };
  if (measureImages > 0) {
    const r = compressModel({
      model: options.model, images: measureImages, layerBits: bits, backends: ['wasm'], calibration: options.calibration ?? 'minmax',
      excludeImages: searchIndices(set, searchCount),
      ...(options.requantMode ? { requantMode: options.requantMode } : {}),
    });
    allocation.verified = {
      images: { first: CALIBRATION_IMAGES, last: CALIBRATION_IMAGES + r.images - 1, count: r.images },
      floatTop1: r.float.top1,
      top1: r.compressed.top1.wasm!,
      sqnrDb: r.compressed.sqnrDb.wasm!,
      sizeBits: r.compressed.sizeBits,
      fpgaCycles: r.fpga!.cycles,
      result: r,
    };
  }
  return allocation;
}

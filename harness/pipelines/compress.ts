/**
 * The compression pipeline behind `fkb compress`: structured pruning and quantization in either
 * order, the integer model run on the WASM kernels (plain split convolution and packed-DSP), and
 * what it costs: top-1 on the held-out evaluation images, size in bits, MACs, per-layer bits and
 * kept channels, packed-DSP exactness per layer, FPGA cycles of the split-convolution engine.
 *
 * Orders:
 *   prune-quantize  prune the float model (bias compensation, optional reconstruction), then
 *                   calibrate and quantize the pruned model;
 *   quantize-prune  put the weights on their quantization grid first (quantize, dequantize), rank
 *                   and prune channels on those quantized weights, then calibrate and quantize.
 */
import { type Criterion, CRITERIA } from '../prune/criteria.ts';
import { pruneGraph } from '../prune/prune.ts';
import { pruneToMacs } from '../prune/budget.ts';
import { type ConvNode, type Graph, graphMacs } from '../model/graph.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { foldBatchNorm } from '../model/fold.ts';
import { DEBIAN_FASHION_MNIST, FASHION_MNIST_MODEL, type EvalSet, evalInput, readDebianTestSet, readEvalSet } from '../model/fashion-mnist.ts';
import { CALIBRATION_IMAGES, type Observer, type Ranges, calibrateFromRanges, observeRanges } from '../quant/calibrate.ts';
import { type Backend, type IntConv, type IntGraph, buildIntGraph, calibratedTensors, packedDifferences, packingPlan } from '../quant/int-graph.ts';
import { planWidths } from '../quant/packing-plan.ts';
import { type Keep8, bitWidths, quantizerSource } from '../quant/bit-widths.ts';
import { type FloatResult, calibrationIndices, describeIndices, evaluateFloat, evaluateInt, evaluateQuantized, floatModelSize, intModelSize, measureIndices, quantizeInput, quantizeModel } from '../quant/evaluate.ts';
import { dequantizeWeights, quantizeConvWeights } from '../quant/weights.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { fpgaEstimate, graphLayers, type FpgaEstimate } from '../fpga/graph-layers.ts';
import { type CodeMode, DEFAULT_CODE_MODE } from '../conv/layer.ts';
import type { NetworkLayer } from '../networks/network.ts';

export const ORDERS = ['prune-quantize', 'quantize-prune'] as const;
export type Order = (typeof ORDERS)[number];

/** A model and evaluation set loaded once and shared by several compressModel calls. */
export interface LoadedModel {
  /** Where the model came from (reported as CompressResult.model). */
  path: string;
  graph: Graph;
  set: EvalSet;
  /** The float model on the measured images, when already evaluated there. */
  float?: FloatResult;
}

/** Loads a model (default the embedded Fashion-MNIST CNN) and the evaluation set it is measured on. */
export function loadModel(path = FASHION_MNIST_MODEL, fullTestSet = false): LoadedModel {
  const set = fullTestSet ? readDebianTestSet() : readEvalSet();
  if (!set) throw new InputError(`the full test set needs Debian's dataset-fashion-mnist (${DEBIAN_FASHION_MNIST}): apt-get install dataset-fashion-mnist`);
  const graph = importOnnxFile(path);
  if (graph.input.shape.h !== set.rows || graph.input.shape.w !== set.cols || graph.input.shape.c !== 1) {
    throw new InputError(`${path}: its input is ${graph.input.shape.h}x${graph.input.shape.w}x${graph.input.shape.c}; the evaluation set has ${set.rows}x${set.cols}x1 images`);
  }
  return { path, graph, set };
}

export interface CompressOptions {
  /** An .onnx file; default the embedded Fashion-MNIST model. */
  model?: string;
  /** The model already loaded (overrides `model` and `fullTestSet`). */
  loaded?: LoadedModel;
  /** Weight bits of every convolution. @default 8 */
  bits?: number;
  /** Weight bits per layer (node name), overriding `bits`. */
  layerBits?: Record<string, number>;
  /**
   * Bits of the input codes of one convolution (node name, original or folded), overriding
   * `activationBits` and `keep8` for the tensor it reads (2..8). @default {}
   */
  layerActivationBits?: Record<string, number>;
  /**
   * Activation bits of every calibrated tensor (2..8); the graph input and outputs stay 8-bit.
   * Unsigned after a ReLU (calibrate.ts). @default 8
   */
  activationBits?: number;
  /**
   * Ends kept at 8-bit weights and inputs whatever `bits` and `activationBits` say
   * (harness/quant/bit-widths.ts): 'first' convolution, 'last' (the classifier). @default []
   */
  keep8?: readonly Keep8[];
  criterion?: Criterion;
  /** Fraction of each group's channels to prune, [0, 1). @default 0 (no pruning) */
  ratio?: number;
  /**
   * Instead of `ratio`: the fraction pruned per dense convolution (original node name), as
   * pruneGraph's ratio map (a dependency group takes the largest fraction named for its layers;
   * unnamed groups are not pruned). @default {} (unused)
   */
  layerRatio?: Record<string, number>;
  /**
   * Instead of a ratio: the fraction of the MACs to keep, in (0, 1]; channels are ranked across
   * groups (harness/prune/budget.ts, plain global threshold). @default 0 (unused)
   */
  macsTarget?: number;
  roundTo?: number;
  reconstruct?: boolean;
  calibration?: Observer;
  order?: Order;
  /** Held-out evaluation images (after the 200 calibration images). @default 1800 */
  images?: number;
  /** Test-set indices never measured on (a search split that chose this model's settings). */
  excludeImages?: readonly number[];
  /**
   * Instead of `images`/`excludeImages`: exactly these test-set indices are measured (a search
   * split; each at or after the calibration images).
   */
  measureImages?: readonly number[];
  /**
   * Whether the pruned float model is evaluated too (pruned top-1 and the integer model's SQNR
   * against it); false leaves them NaN. @default true
   */
  floatReference?: boolean;
  /**
   * Caches shared by many calls on the same loaded model (a search): pruned graphs and, for the
   * 'minmax' observer, each pruned graph's calibration ranges, keyed by what determines them.
   * The results are the same as without it.
   */
  memo?: CompressMemo;
  /**
   * Evaluate on the full 10,000-image test set of Debian's dataset-fashion-mnist instead of the
   * committed 2,000-image subset (its first 2,000 images). @default false
   */
  fullTestSet?: boolean;
  /** Images on which per-layer DSP exactness is measured; 0 skips it. @default 20 */
  dspImages?: number;
  /** Backends the integer model runs on. @default wasm and dsp ('reference' is the slow TS oracle) */
  backends?: readonly Backend[];
  /**
   * Requantization of every layer (harness/reference/requant.ts). 'fp32' is onnxruntime's
   * QLinearConv arithmetic, needed to export the model as int8 ONNX. @default 'gemmlowp'
   */
  requantMode?: CodeMode;
  /** FPGA model a parameters (L, Po, Pp, scheme, ...) and device; false skips the estimate. */
  fpga?: { device?: string; params?: Record<string, unknown> } | false;
}

/** See CompressOptions.memo; `limit` entries kept per cache (least recently used dropped). */
export interface CompressMemo {
  limit: number;
  pruned: Map<string, { graph: Graph; ranges?: Ranges }>;
}

export function compressMemo(limit = 16): CompressMemo {
  return { limit, pruned: new Map() };
}

export interface LayerSummary {
  name: string;
  weightBits: number;
  /** Bits of the layer's input codes. */
  activationBits: number;
  /** The packing plan's choice (harness/quant/packing-plan.ts) and why. */
  scheme: string;
  chain: number;
  productsPerDsp: number;
  why: string;
  outC: number;
  keptOf: number;
  /** Output codes of this layer that differ between the packed-DSP and the exact kernels. */
  dspDiffering: number;
  dspOutputs: number;
}

export interface CompressResult {
  model: string;
  options: Required<Omit<CompressOptions, 'model' | 'loaded' | 'layerBits' | 'fpga' | 'backends' | 'excludeImages' | 'measureImages' | 'floatReference' | 'memo'>> & { layerBits: Record<string, number>; backends: Backend[] };
  images: number;
  /** Which test-set images each step used, as index ranges. */
  imageSets: { calibration: string; measured: string; excluded: string };
  float: { top1: number; sizeBits: number; macs: number };
  /** The pruned float model, before quantization (equal to float when nothing is pruned). */
  pruned: { top1: number; macs: number };
  compressed: { top1: Partial<Record<Backend, number>>; sqnrDb: Partial<Record<Backend, number>>; sizeBits: number; macs: number };
  layers: LayerSummary[];
  /** Absent when the caller skipped it (`fpga: false`). */
  fpga?: Pick<FpgaEstimate, 'model' | 'device' | 'clockMHz' | 'cycles' | 'timeUs' | 'framesPerSecond'> & { params: Record<string, unknown>; /** The engine's DSP slices (the most any layer uses). */ dsp: number };
  intGraph: IntGraph;
  /** The compressed convolutions as the FPGA models take them (widths and packing per layer): fpgaEstimate(fpgaLayers, ...) is `fpga`. */
  fpgaLayers: NetworkLayer[];
}

/** The graph with every conv's weights replaced by their quantized values (per-channel grid). */
export function onWeightGrid(graph: Graph, bitsOf: (name: string) => number): Graph {
  return {
    ...graph,
    nodes: graph.nodes.map((n) => {
      if (n.op !== 'conv') return n;
      const conv: ConvNode = { ...n, weights: Float32Array.from(dequantizeWeights(quantizeConvWeights(n, bitsOf(n.name)))) };
      return conv;
    }),
  };
}

export function compressModel(options: CompressOptions = {}): CompressResult {
  const o = {
    bits: options.bits ?? 8,
    criterion: options.criterion ?? 'l1',
    ratio: options.ratio ?? 0,
    macsTarget: options.macsTarget ?? 0,
    roundTo: options.roundTo ?? 1,
    reconstruct: options.reconstruct ?? false,
    calibration: options.calibration ?? 'minmax',
    order: options.order ?? 'prune-quantize',
    images: options.images ?? 1800,
    dspImages: options.dspImages ?? Math.min(20, options.images ?? 1800),
    layerBits: options.layerBits ?? {},
    layerRatio: options.layerRatio ?? {},
    layerActivationBits: options.layerActivationBits ?? {},
    backends: [...(options.backends ?? (['wasm', 'dsp'] as const))],
    fullTestSet: options.fullTestSet ?? false,
    requantMode: options.requantMode ?? DEFAULT_CODE_MODE,
    activationBits: options.activationBits ?? 8,
    keep8: [...(options.keep8 ?? [])],
  };
  if (o.backends.length === 0 || o.backends.some((b) => !(['reference', 'wasm', 'dsp'] as string[]).includes(b))) {
    throw new InputError(`backends must be some of reference, wasm, dsp, got '${o.backends.join(',')}'`);
  }
  requireInt('bits', o.bits, 2, 8);
  requireInt('activation bits', o.activationBits, 2, 8);
  for (const [name, b] of Object.entries(o.layerBits)) requireInt(`bits of layer ${name}`, b, 2, 8);
  for (const [name, b] of Object.entries(o.layerActivationBits)) requireInt(`activation bits of layer ${name}`, b, 2, 8);
  if (!(CRITERIA as readonly string[]).includes(o.criterion)) throw new InputError(`criterion must be one of ${CRITERIA.join(', ')}, got '${o.criterion}'`);
  if (!(ORDERS as readonly string[]).includes(o.order)) throw new InputError(`order must be one of ${ORDERS.join(', ')}, got '${o.order}'`);
  const loaded = options.loaded ?? loadModel(options.model, o.fullTestSet);
  const { path: modelPath, graph, set } = loaded;
  const exclude = new Set((options.excludeImages ?? []).filter((i) => i >= CALIBRATION_IMAGES && i < set.count));
  const heldOut = set.count - calibrationIndices(set).length - exclude.size;
  if (options.measureImages) {
    if (options.measureImages.length === 0) throw new InputError('measureImages: no images');
    for (const i of options.measureImages) requireInt('a measured image index', i, CALIBRATION_IMAGES, set.count - 1);
    o.images = options.measureImages.length;
  }
  if (options.images === undefined) o.images = Math.min(o.images, heldOut);
  requireInt('images', o.images, 1, options.measureImages ? o.images : heldOut);
  requireInt('dsp images', o.dspImages, 0, o.images);
  for (const [option, names] of [['--layer-bits', Object.keys(o.layerBits)], ['--layer-abits', Object.keys(o.layerActivationBits)]] as const) {
    if (names.length === 0) continue;
    // Original or folded ('<conv>+<batchnorm>') names; the graph is folded once for all of them.
    const knownConvs = [...graph.nodes, ...foldBatchNorm(graph).graph.nodes].filter((n) => n.op === 'conv').map((n) => n.name);
    for (const name of names) {
      if (!knownConvs.includes(name)) throw new InputError(`${option}: no convolution named '${name}' (one of ${[...new Set(knownConvs)].join(', ')})`);
    }
  }
  const bitsOf = (name: string) => o.layerBits[name] ?? o.bits;
  const calib = calibrationIndices(set);
  const measure = options.measureImages ? [...options.measureImages] : measureIndices(set, o.images, exclude);
  const calibInputs = calib.slice(0, 128).map((i) => evalInput(set, i));

  // Pruning (on the float weights, or on the weights' quantized values), then quantization.
  const pruneSource = o.order === 'quantize-prune' ? onWeightGrid(graph, bitsOf) : graph;
  const layerRatio = Object.values(o.layerRatio).some((r) => r > 0);
  if ([o.ratio > 0, o.macsTarget > 0, layerRatio].filter(Boolean).length > 1) throw new InputError('give either a prune ratio or a MACs target, not both (and per-layer prune ratios with neither)');
  const pruneOptions = { criterion: o.criterion, roundTo: o.roundTo, calibration: calibInputs, reconstruct: o.reconstruct };
  const prune = () =>
    o.macsTarget > 0
      ? pruneToMacs(pruneSource, { ...pruneOptions, targetMacsFraction: o.macsTarget, costAware: false })
      : o.ratio > 0 || layerRatio
        ? pruneGraph(pruneSource, { ...pruneOptions, ratio: layerRatio ? o.layerRatio : o.ratio })
        : undefined;
  // Everything the pruned graph depends on (the loaded model and its calibration images are the memo's).
  const pruneKey = JSON.stringify([o.order, o.order === 'quantize-prune' ? graph.nodes.map((n) => (n.op === 'conv' ? bitsOf(n.name) : 0)) : 0, o.criterion, o.ratio, o.layerRatio, o.macsTarget, o.roundTo, o.reconstruct]);
  const memo = options.memo;
  let entry = memo?.pruned.get(pruneKey);
  if (memo && entry) memo.pruned.delete(pruneKey);
  entry ??= { graph: prune()?.graph ?? pruneSource };
  if (memo) {
    memo.pruned.set(pruneKey, entry);
    if (memo.pruned.size > memo.limit) memo.pruned.delete(memo.pruned.keys().next().value!);
  }
  const pruned = entry.graph === pruneSource ? undefined : entry;
  const prunedGraph = entry.graph;
  const folded = foldBatchNorm(prunedGraph).graph;
  const weightBits: Record<string, number> = {};
  // Folded convs are named '<conv>+<batchnorm>': --layer-bits takes either name.
  for (const n of folded.nodes) if (n.op === 'conv') weightBits[n.name] = o.layerBits[n.name] ?? bitsOf(n.name.split('+')[0]!);
  const widths = bitWidths(prunedGraph, { weightBits: o.bits, activationBits: o.activationBits, keep8: o.keep8 });
  for (const [name, b] of Object.entries(widths.weightBits)) if (b === 8 && o.bits !== 8) weightBits[name] = 8;
  if (Object.keys(o.layerActivationBits).length) {
    const calibrated = new Set(calibratedTensors(prunedGraph));
    const setBy = new Map<string, string>();
    for (const n of folded.nodes) {
      if (n.op !== 'conv') continue;
      const b = o.layerActivationBits[n.name] ?? o.layerActivationBits[n.name.split('+')[0]!];
      if (b === undefined) continue;
      const tensor = quantizerSource(folded, n.inputs[0]!, calibrated);
      const other = setBy.get(tensor);
      if (other && widths.activationBits[tensor] !== b) throw new InputError(`--layer-abits: '${other}' and '${n.name}' read the same tensor '${tensor}' and need the same bits`);
      setBy.set(tensor, n.name);
      widths.activationBits[tensor] = b;
    }
  }
  const quantOptions = { weightBits, requantMode: o.requantMode };
  let intGraph: IntGraph;
  if (memo && o.calibration === 'minmax') {
    entry.ranges ??= observeRanges(prunedGraph, calib.map((i) => evalInput(set, i)), calibratedTensors(prunedGraph));
    intGraph = buildIntGraph(prunedGraph, calibrateFromRanges(entry.ranges, widths.activationBits, calib.length), quantOptions);
  } else intGraph = quantizeModel(prunedGraph, set, calib, { observer: o.calibration, activationBits: widths.activationBits }, quantOptions);
  const plan = packingPlan(intGraph);

  // The original float model on the measured images: given by the caller, else evaluated here.
  const floatGiven = loaded.float && loaded.float.images === measure.length ? loaded.float : undefined;
  const floatOriginal = floatGiven ?? (options.floatReference === false ? undefined : evaluateFloat(graph, set, measure));
  const prunedFloat = pruned || o.order === 'quantize-prune' ? undefined : floatOriginal;
  const report =
    options.floatReference === false
      ? {
          float: { top1: NaN },
          int: o.backends.map((b) => ({ ...evaluateInt(intGraph, set, measure, b), sqnrDb: NaN })),
          macs: graphMacs(prunedGraph),
        }
      : evaluateQuantized(prunedGraph, intGraph, set, measure, o.backends, prunedFloat);

  // Per-layer exactness of the packed-DSP kernels: every conv output, DSP vs exact kernels.
  const convs = intGraph.nodes.filter((n): n is IntConv => n.op === 'conv');
  const dsp = packedDifferences(intGraph, measure.slice(0, o.dspImages).map((i) => quantizeInput(intGraph, set, i)));
  const keptOf = (name: string, outC: number): number => {
    const producer = name.split('+')[0]!;
    return graph.nodes.find((n): n is ConvNode => n.op === 'conv' && n.name === producer)?.outC ?? outC;
  };
  const layers: LayerSummary[] = convs.map((c) => ({
    name: c.name,
    weightBits: c.weightBits,
    activationBits: plan.get(c.name)!.activationBits,
    scheme: plan.get(c.name)!.config.scheme,
    chain: plan.get(c.name)!.config.chain,
    productsPerDsp: plan.get(c.name)!.products,
    why: plan.get(c.name)!.why,
    outC: c.problem.shape.outC,
    keptOf: keptOf(c.name, c.problem.shape.outC),
    dspDiffering: dsp.get(c.name)!.differing,
    dspOutputs: dsp.get(c.name)!.outputs,
  }));

  const fpgaLayers = graphLayers(folded, planWidths(plan));
  const fpga = options.fpga === false ? undefined : fpgaEstimate(fpgaLayers, options.fpga ?? {});
  const byBackend = <T>(f: (r: (typeof report.int)[number]) => T) => Object.fromEntries(report.int.map((r) => [r.backend, f(r)])) as Partial<Record<Backend, T>>;
  return {
    model: modelPath,
    options: o,
    images: measure.length,
    imageSets: { calibration: describeIndices(calib), measured: describeIndices(measure), excluded: describeIndices([...exclude]) },
    float: { top1: floatOriginal?.top1 ?? NaN, sizeBits: floatModelSize(graph).bits, macs: graphMacs(graph) },
    pruned: { top1: report.float.top1, macs: graphMacs(prunedGraph) },
    compressed: { top1: byBackend((r) => r.top1), sqnrDb: byBackend((r) => r.sqnrDb), sizeBits: intModelSize(intGraph).bits, macs: report.macs },
    layers,
    ...(fpga ? { fpga: { model: fpga.model, device: fpga.device, clockMHz: fpga.clockMHz, cycles: fpga.cycles, timeUs: fpga.timeUs, framesPerSecond: fpga.framesPerSecond, params: fpga.params, dsp: Math.max(...fpga.layers.map((l) => l.dsp)) } } : {}),
    intGraph,
    fpgaLayers,
  };
}

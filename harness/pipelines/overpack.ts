/**
 * The effect of overpacked DSP multiplies (harness/dsp/overpack.ts) on real models: every
 * convolution whose weight and activation codes fit a configuration runs with each product an
 * overpacked multiply decoded after the multiply (harness/dsp/overpack-conv.ts), the other
 * layers exactly; per layer the outputs that differ from the exact integer graph, top-1 with
 * and without the correction, and engine (a)'s compute cycles with the layer's exact packing
 * plan vs the overpacked density.
 *
 *   overpackModelEffect({ model: 'w4a4', images: 2000 })
 *
 * Images: the default model is calibrated on test images 0..199 (quant/evaluate.ts), so it is
 * measured on 200.. (held out); the trained models were calibrated and trained on training
 * images only, so they are measured from test image 0. The full t10k set (Debian's
 * dataset-fashion-mnist) is used when installed, else the committed 2,000-image subset.
 *
 * Per layer, two counts per decode:
 *   local       the layer run on the exact graph's input tensor: its own arithmetic's effect;
 *   propagated  the layer's output in the graph run end to end with every fitting layer
 *               overpacked: what the network actually computes.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { foldBatchNorm } from '../model/fold.ts';
import { type EvalSet, evalInput, readDebianTestSet, readEvalSet } from '../model/fashion-mnist.ts';
import { argmax } from '../model/float-infer.ts';
import type { Graph } from '../model/graph.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { DECODE_MODES, type DecodeMode, type OverpackLayout, OVERPACK_NAMES, getOverpack } from '../dsp/overpack.ts';
import { overpackConv, overpackMisfit } from '../dsp/overpack-conv.ts';
import { importQuantizedOnnx, quantizeInput as quantizeImported } from '../qonnx/onnx-quant.ts';
import { codeMax, codeMin } from '../quant/calibrate.ts';
import { calibrationIndices, describeIndices, quantizeInput, quantizeModel } from '../quant/evaluate.ts';
import { type GroupRun, type IntConv, type IntGraph, groupRunner, packingPlan, runIntGraphTensors, runIntGraphTensorsWith } from '../quant/int-graph.ts';
import { runConv } from '../quant/int-graph-ops.ts';
import { planWidths } from '../quant/packing-plan.ts';
import { graphLayers } from '../fpga/graph-layers.ts';
import { type EngineLanes, engineLanes, splitconvParams, splitconvTiling } from '../fpga/models/splitconv.ts';
import { FASHION_MNIST_MODEL } from '../model/fashion-mnist.ts';
import { InputError, VerificationError, requireInt } from '../util/errors.ts';
import { TRAINED_DIR, trainedModels } from './compression-points.ts';

export interface OverpackModelOptions {
  /** 'default' (the embedded CNN, int8 after calibration), a trained model's name in models/fashion-mnist/lowbit, or an .onnx path (QDQ). @default 'default' */
  model?: string;
  /** Candidate configurations; each layer takes the one with the most products that fits it (ties: list order). @default all */
  configs?: readonly string[];
  /** Decodes to run the model with. @default ['naive', 'mr', 'mr-round'] */
  modes?: readonly DecodeMode[];
  /** Images measured. @default 2000 (at most the held-out images of the set) */
  images?: number;
  /** Use the committed 2,000-image subset even when the full test set is installed. @default false */
  subset?: boolean;
  onImage?: (done: number, total: number) => void;
}

export interface OverpackLayerRow {
  layer: string;
  weightBits: number;
  activationBits: number;
  /** The exact packing plan's scheme and products per DSP. */
  planScheme: string;
  planProducts: number;
  /** The overpacked configuration, or why none fits. */
  config?: string;
  products?: number;
  misfit?: string;
  /** Outputs of the layer per image, and over all images. */
  outputs: number;
  /** Per decode: outputs differing from the exact graph, over all images. */
  local: Partial<Record<DecodeMode, number>>;
  propagated: Partial<Record<DecodeMode, number>>;
  /** Engine (a) compute cycles (splitconvTiling, default L, P_o, P_p, latencies). */
  cycles: { exact: number; overpacked: number };
}

export interface OverpackModelResult {
  model: string;
  imageSet: string;
  images: number;
  modes: DecodeMode[];
  /** Top-1 (%) of the exact integer graph and with every fitting layer overpacked, per decode. */
  top1: { exact: number } & Partial<Record<DecodeMode, number>>;
  /** Images whose top-1 class differs from the exact graph's, per decode. */
  flipped: Partial<Record<DecodeMode, number>>;
  layers: OverpackLayerRow[];
  cycles: { exact: number; overpacked: number };
  /** Engine (a) parameters the cycles were counted with. */
  engine: { L: number; Po: number; Pp: number; dspLatency: number; accLatency: number };
}

interface LoadedIntModel {
  name: string;
  graph: Graph;
  g: IntGraph;
  set: EvalSet;
  setName: string;
  first: number;
  input: (i: number) => Int8Array;
}

function loadIntModel(spec: string, subset: boolean): LoadedIntModel {
  const full = subset ? undefined : readDebianTestSet();
  const set = full ?? readEvalSet();
  const setName = full ? 'Fashion-MNIST t10k' : 'Fashion-MNIST t10k subset (models/fashion-mnist/eval-2000.bin)';
  if (spec === 'default') {
    const graph = importOnnxFile(FASHION_MNIST_MODEL);
    const calib = calibrationIndices(set);
    const g = quantizeModel(graph, set, calib, { observer: 'minmax' }, { weightBits: 8 });
    return { name: 'default (int8, min/max calibration on test images 0..199)', graph: foldBatchNorm(graph).graph, g, set, setName, first: calib.length, input: (i) => quantizeInput(g, set, i) };
  }
  const path = spec.endsWith('.onnx') ? spec : join(TRAINED_DIR, `${spec}.onnx`);
  if (!existsSync(path)) {
    const names = trainedModels().map((p) => basename(p, '.onnx'));
    throw new InputError(`--model must be 'default', an .onnx file or one of ${names.join(', ')}, got '${spec}'`);
  }
  const imp = importQuantizedOnnx(path);
  return { name: basename(path, '.onnx'), graph: foldBatchNorm(imp.graph).graph, g: imp.intGraph, set, setName, first: 0, input: (i) => quantizeImported(imp, evalInput(set, i)) };
}

const ENGINE = {
  L: splitconvParams.L.default,
  Po: splitconvParams.Po.default,
  Pp: splitconvParams.Pp.default,
  dspLatency: splitconvParams.dspLatency.default,
  accLatency: splitconvParams.accLatency.default,
};

/**
 * Engine (a)'s compute cycles for a layer with W output channels x A pixels per DSP: the tiling
 * of harness/fpga/models/splitconv.ts (T_o = ceil(C_out / (P_o·W)), pixel slots
 * out_h·ceil(out_w / A)), which takes any W and A although its type lists the exact schemes'.
 */
export function overpackCycles(layer: Parameters<typeof splitconvTiling>[0], lanes: { weights: number; activations: number }, arch = ENGINE): number {
  return splitconvTiling(layer, arch, lanes as unknown as Pick<EngineLanes, 'weights' | 'activations'>).computeCycles;
}

/** The per-layer choice: the densest candidate that takes the layer's code ranges. */
function chooseConfig(g: IntGraph, node: IntConv, candidates: readonly OverpackLayout[]): { layout?: OverpackLayout; misfit?: string } {
  let wMin = 0;
  let wMax = 0;
  for (const w of node.problem.weights) (wMin = Math.min(wMin, w)), (wMax = Math.max(wMax, w));
  const params = g.tensors.get(node.inputs[0]!)!.params;
  const acts: [number, number] = [codeMin(params), codeMax(params)];
  let best: OverpackLayout | undefined;
  const why: string[] = [];
  for (const l of candidates) {
    const m = overpackMisfit(l, [wMin, wMax], acts);
    if (m) why.push(`${l.name}: ${m}`);
    else if (!best || l.lanes.length > best.lanes.length) best = l;
  }
  return best ? { layout: best } : { misfit: why.join('; ') };
}

export interface OverpackCycleRow {
  layer: string;
  weightBits: number;
  activationBits: number;
  planScheme: string;
  config?: string;
  cycles: { exact: number; overpacked: number };
}

/** Engine (a)'s compute cycles per layer of a model, exact packing plan vs overpacked (no images run). */
export function overpackModelCycles(o: Pick<OverpackModelOptions, 'model' | 'configs'> = {}): { model: string; layers: OverpackCycleRow[]; cycles: { exact: number; overpacked: number } } {
  const candidates = (o.configs ?? OVERPACK_NAMES).map(getOverpack);
  const m = loadIntModel(o.model ?? 'default', true);
  const plan = packingPlan(m.g);
  const specs = new Map(graphLayers(m.graph, planWidths(plan)).map((l) => [l.name, l]));
  const layers = m.g.nodes.filter((n): n is IntConv => n.op === 'conv').map((c): OverpackCycleRow => {
    const p = plan.get(c.name)!;
    const l = chooseConfig(m.g, c, candidates).layout;
    const exact = overpackCycles(specs.get(c.name)!, engineLanes(p.config.scheme));
    return { layer: c.name, weightBits: p.weightBits, activationBits: p.activationBits, planScheme: p.config.scheme, ...(l ? { config: l.name } : {}), cycles: { exact, overpacked: l ? overpackCycles(specs.get(c.name)!, l) : exact } };
  });
  return { model: m.name, layers, cycles: { exact: layers.reduce((a, l) => a + l.cycles.exact, 0), overpacked: layers.reduce((a, l) => a + l.cycles.overpacked, 0) } };
}

export function overpackModelEffect(o: OverpackModelOptions = {}): OverpackModelResult {
  const modes = [...(o.modes ?? (['naive', 'mr', 'mr-round'] as const))];
  for (const m of modes) if (!DECODE_MODES.includes(m)) throw new InputError(`decode must be one of ${DECODE_MODES.join(', ')}, got '${m}'`);
  const candidates = (o.configs ?? OVERPACK_NAMES).map(getOverpack);
  const m = loadIntModel(o.model ?? 'default', o.subset ?? false);
  const heldOut = m.set.count - m.first;
  const images = requireInt('images', o.images ?? Math.min(2000, heldOut), 1, heldOut);
  const indices = Array.from({ length: images }, (_, k) => m.first + k);
  const { g } = m;
  const convs = g.nodes.filter((n): n is IntConv => n.op === 'conv');
  const plan = packingPlan(g);
  const choice = new Map(convs.map((c) => [c.name, chooseConfig(g, c, candidates)]));
  const exactRun = groupRunner(g, 'wasm');
  const runners = new Map(modes.map((mode): [DecodeMode, GroupRun] => [mode, (node, group, input) => {
    const l = choice.get(node.name)?.layout;
    return l ? (overpackConv({ ...node.perGroup[group]!, input }, l, mode) as Int8Array) : exactRun(node, group, input);
  }]));

  const local = new Map(convs.map((c) => [c.name, {} as Partial<Record<DecodeMode, number>>]));
  const propagated = new Map(convs.map((c) => [c.name, {} as Partial<Record<DecodeMode, number>>]));
  const outputs = new Map(convs.map((c) => [c.name, 0]));
  const correct: Partial<Record<DecodeMode | 'exact', number>> = { exact: 0 };
  const flipped: Partial<Record<DecodeMode, number>> = {};
  const differ = (a: Int8Array, b: Int8Array) => {
    let n = 0;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) n++;
    return n;
  };
  const outName = g.outputs[0]!.name;
  indices.forEach((i, done) => {
    o.onImage?.(done, images);
    const x = m.input(i);
    const exact = runIntGraphTensors(g, x, 'wasm');
    const want = argmax(exact.get(outName)!);
    if (want === m.set.labels[i]) correct.exact!++;
    for (const c of convs) outputs.set(c.name, outputs.get(c.name)! + exact.get(c.output)!.length);
    for (const mode of modes) {
      const run = runners.get(mode)!;
      const t = runIntGraphTensorsWith(g, x, run);
      const got = argmax(t.get(outName)!);
      if (got === m.set.labels[i]) correct[mode] = (correct[mode] ?? 0) + 1;
      if (got !== want) flipped[mode] = (flipped[mode] ?? 0) + 1;
      for (const c of convs) {
        if (!choice.get(c.name)!.layout) continue;
        const p = propagated.get(c.name)!;
        p[mode] = (p[mode] ?? 0) + differ(t.get(c.output)!, exact.get(c.output)!);
        const lo = local.get(c.name)!;
        lo[mode] = (lo[mode] ?? 0) + differ(runConv(c, exact.get(c.inputs[0]!)!, run), exact.get(c.output)!);
      }
    }
  });
  o.onImage?.(images, images);

  const specs = new Map(graphLayers(m.graph, planWidths(plan)).map((l) => [l.name, l]));
  const layers = convs.map((c): OverpackLayerRow => {
    const p = plan.get(c.name)!;
    const ch = choice.get(c.name)!;
    const spec = specs.get(c.name);
    if (!spec) throw new VerificationError(`conv '${c.name}' of the integer graph has no layer in the float graph`);
    const exactCycles = overpackCycles(spec, engineLanes(p.config.scheme));
    const overCycles = ch.layout ? overpackCycles(spec, ch.layout) : exactCycles;
    return {
      layer: c.name, weightBits: p.weightBits, activationBits: p.activationBits, planScheme: p.config.scheme, planProducts: p.products,
      ...(ch.layout ? { config: ch.layout.name, products: ch.layout.lanes.length } : { misfit: ch.misfit }),
      outputs: outputs.get(c.name)!, local: local.get(c.name)!, propagated: propagated.get(c.name)!,
      cycles: { exact: exactCycles, overpacked: overCycles },
    };
  });
  const pct = (n: number | undefined) => (100 * (n ?? 0)) / images;
  const top1 = { exact: pct(correct.exact) } as OverpackModelResult['top1'];
  for (const mode of modes) top1[mode] = pct(correct[mode]);
  return {
    model: m.name,
    imageSet: `${m.setName} images ${describeIndices(indices)}`,
    images,
    modes,
    top1,
    flipped,
    layers,
    cycles: { exact: layers.reduce((a, l) => a + l.cycles.exact, 0), overpacked: layers.reduce((a, l) => a + l.cycles.overpacked, 0) },
    engine: ENGINE,
  };
}

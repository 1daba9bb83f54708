/**
 * The one list of analytical models. The CLI, the tests and the micro-benchmark take the
 * model ids, titles and parameter schemas from here.
 */
import { InputError } from '../../util/errors.ts';
import type { Device } from '../devices.ts';
import { resolveParams, type LayerEstimate, type LayerSpec, type ModelCore, type ModelFn, type ParamSchema } from './common.ts';
import { dpuCore, dpuModel, dpuParams } from './dpu.ts';
import { finnCore, finnModel, finnParams } from './finn.ts';
import { splitconvModel, splitconvParams } from './splitconv.ts';
import { systolicCore, systolicModel, systolicParams } from './systolic.ts';
import { tiledCore, tiledModel, tiledParams } from './tiled.ts';

export interface ModelInfo {
  id: ModelId;
  name: ModelName;
  title: string;
  /**
   * How a network's layers share the hardware. 'reused': one engine runs the layers one after
   * another (cycles per frame = the sum over layers, DSP and BRAM = the largest layer's).
   * 'pipelined': every layer has its own engine and all run concurrently, FINN's dataflow
   * (Umuroglu et al., FPGA 2017, Sec. 4): cycles per frame = the slowest layer's, DSP and BRAM =
   * the sum over layers, and each layer's parallelism is chosen per layer (the folding rule).
   */
  dataflow: 'reused' | 'pipelined';
  /**
   * Engines that may work on different frames side by side, sharing the off-chip bandwidth
   * (PG338: up to four DPU cores). 1: the design is one engine; above 1 the design-space sweep
   * has a `cores` dimension.
   */
  maxCores: number;
  params: ParamSchema;
  evaluate: ModelFn;
  /**
   * The model's formulas apart from checks and result assembly (common.ts `ModelCore`):
   * the design-space sweep evaluates them without allocating. A model without one is swept
   * through `evaluate`, which is slower but gives the same numbers.
   */
  core?: ModelCore<unknown>;
}

export const MODEL_IDS = ['a', 'b', 'c', 'd', 'e'] as const;
export type ModelId = (typeof MODEL_IDS)[number];
/** The accelerator style; code that depends on the style asks for it by this name, not by id. */
export type ModelName = 'splitconv' | 'tiled' | 'finn' | 'dpu' | 'systolic';

export const MODELS: Record<ModelId, ModelInfo> = {
  a: {
    id: 'a', name: 'splitconv', title: 'split-convolution engine: P_o DSP cascades of length L, P_p pixels',
    dataflow: 'reused', maxCores: 1, params: splitconvParams, evaluate: splitconvModel,
  },
  b: {
    id: 'b', name: 'tiled', title: 'tiled Tm x Tn engine with Tr x Tc tiles (Zhang et al., FPGA 2015)',
    dataflow: 'reused', maxCores: 1, params: tiledParams, evaluate: tiledModel, core: tiledCore,
  },
  c: {
    id: 'c', name: 'finn', title: 'FINN folded dataflow, PE x SIMD per layer (Umuroglu et al. 2017; Blott et al. 2018)',
    dataflow: 'pipelined', maxCores: 1, params: finnParams, evaluate: finnModel, core: finnCore,
  },
  d: {
    id: 'd', name: 'dpu', title: 'DPUCZDX8G-style PP x ICP x OCP array (PG338)',
    dataflow: 'reused', maxCores: 4, params: dpuParams, evaluate: dpuModel, core: dpuCore,
  },
  e: {
    id: 'e', name: 'systolic', title: 'output-stationary R x C systolic array of packed DSPs',
    dataflow: 'reused', maxCores: 1, params: systolicParams, evaluate: systolicModel, core: systolicCore,
  },
};

/** A model by id ('a'..'e') or name ('splitconv', 'tiled', ...). */
export function getModel(idOrName: string): ModelInfo | undefined {
  const k = idOrName.trim().toLowerCase();
  return Object.values(MODELS).find((m) => m.id === k || m.name === k);
}

/** A model by id or name, or an InputError naming `option` and the known models. */
export function requireModel(idOrName: string, option = '--arch'): ModelInfo {
  const model = getModel(idOrName);
  if (!model) throw new InputError(`${option} must be one of ${MODEL_IDS.map((id) => `${id} (${MODELS[id].name})`).join(', ')}, got '${idOrName}'`);
  return model;
}

/** Resolves parameters once and returns an evaluator for many layers. */
export function modelEvaluator(model: ModelInfo, given: Record<string, unknown>, device: Device, clockMHz: number) {
  const params = resolveParams(model.params, given, `model ${model.id} (${model.name})`);
  return { params, evaluate: (layer: LayerSpec): LayerEstimate => model.evaluate(layer, params, device, clockMHz) };
}

export type { LayerEstimate, LayerSpec, ModelCore, ModelFn, ParamSchema, Params } from './common.ts';
export { InfeasibleError } from './common.ts';
export { resolveParams } from './common.ts';
export { DPU_ARCHS, dpuPeakOpsPerCycle, type DpuArch } from './dpu.ts';
export { finnNetwork, type FinnNetworkEstimate } from './finn.ts';

/**
 * One layer on engine (a), simulated with a seeded problem and compared with the analytical
 * model (a) and the exact convolution: the data behind `fkb model --simulate`.
 */
import { type ConvShape, type RequantMode, describeShape, outputSize } from '../../conv/layer.ts';
import { SCHEMES, accumulationBound } from '../../dsp/schemes.ts';
import type { NetworkLayer } from '../../networks/network.ts';
import type { Operands } from '../../problems/problem-builder.ts';
import { schemeProblem } from '../../problems/scheme-problem.ts';
import { referenceConv } from '../../reference/conv.ts';
import { InputError } from '../../util/errors.ts';
import { getDevice, type Device } from '../devices.ts';
import { resolveParams, type LayerSpec } from '../models/common.ts';
import { type EngineScheme, engineLanes, resolveScheme, splitconvModel, splitconvParams, splitconvTiling } from '../models/splitconv.ts';
import { dspFunction } from './dsp-function.ts';
import { type SplitConvArch, resolveArch } from './splitconv-arch.ts';
import { type SplitConvSimStats, simulateSplitConv } from './splitconv-clock.ts';

export interface SimulateLayerOptions {
  /** Model (a) parameters as `fkb model --set` takes them (L, Po, Pp, scheme, dspLatency, accLatency). */
  params?: Record<string, unknown>;
  /** Catalogue key, part or board. @default 'zcu102' */
  device?: string | Device;
  /** @default the device's typical clock */
  clockMHz?: number;
  /** Operand distribution of the seeded problem. @default 'random' */
  operands?: Operands;
  /** @default 1 */
  seed?: number;
  /** Requantization of the outputs. @default 'gemmlowp' */
  mode?: RequantMode;
  /** Cycles per weight word of the loader. @default 1 */
  weightWordCycles?: number;
  /** Refuse layers needing more DSP operations (issues * DSPs) than this. @default 500_000 */
  maxDspOps?: number;
}

/** JSON-serialisable summary of one simulated layer (for `fkb model --simulate`). */
export interface SimulateLayerReport {
  layer: string;
  shape: string;
  device: string;
  clockMHz: number;
  scheme: EngineScheme;
  arch: Required<SplitConvArch>;
  operands: Operands;
  seed: number;
  mode: RequantMode;
  cycles: {
    simulated: number;
    analytical: number;
    /** simulated - analytical; equals stallCycles (0 unless weightWordCycles > T_p). */
    difference: number;
    stallCycles: number;
    agree: boolean;
    explanation: string;
  };
  utilisation: { simulated: number; analytical: number };
  stats: SplitConvSimStats;
  outputs: {
    count: number;
    /** Products one P sums before its decode, and the scheme's accumulation bound (null: unpacked). */
    productsPerP: number;
    bound: number | null;
    /** Accumulators and requantized outputs equal to the exact convolution. */
    exact: boolean;
    accumulatorsDiffering: number;
    maxAccumulatorError: number;
    outputsDiffering: number;
    maxOutputError: number;
    /** The first output whose accumulator or requantized value differs. */
    firstDifference?: { oh: number; ow: number; oc: number; accumulator: number; exactAccumulator: number; output: number; exactOutput: number };
  };
  warnings: string[];
}

/**
 * Simulates one layer on engine (a) with a seeded problem and compares it with the analytical
 * model and the exact convolution. Grouped layers and operands wider than 8 bits are refused
 * (the simulator runs on int8 ConvProblems, which have no groups).
 */
export function simulateLayerReport(
  layer: ConvShape & Partial<Pick<NetworkLayer, 'name' | 'groups' | 'wBits' | 'aBits'>>,
  opts: SimulateLayerOptions = {},
): SimulateLayerReport {
  const device = typeof opts.device === 'object' ? opts.device : getDevice(opts.device ?? 'zcu102');
  const clockMHz = opts.clockMHz ?? device.typicalClockMHz;
  const groups = layer.groups ?? 1;
  if (groups !== 1) {
    throw new InputError(`groups=${groups}: the simulator runs one group; simulate inC/groups -> outC/groups as its own layer`);
  }
  const spec: LayerSpec = { ...layer, groups: 1, wBits: layer.wBits ?? 8, aBits: layer.aBits ?? 8 };
  if (spec.wBits > 8 || spec.aBits > 8) throw new InputError(`w_bits=${spec.wBits}, a_bits=${spec.aBits}: the simulator computes int8 (or narrower) layers`);
  const params = resolveParams(splitconvParams, opts.params ?? {}, 'model a (splitconv)');
  const scheme = resolveScheme('scheme', String(params['scheme']), device.dspType, spec.wBits, spec.aBits);
  const arch = resolveArch({
    L: Number(params['L']), Po: Number(params['Po']), Pp: Number(params['Pp']),
    dspLatency: Number(params['dspLatency']), accLatency: Number(params['accLatency']), weightWordCycles: opts.weightWordCycles ?? 1,
  });
  const model = splitconvModel(spec, params, device, clockMHz);
  const tiling = splitconvTiling(spec, arch, engineLanes(scheme));
  const dspOps = tiling.issues * arch.Pp * arch.Po * arch.L;
  const maxDspOps = opts.maxDspOps ?? 500_000;
  if (dspOps > maxDspOps) {
    throw new InputError(`${describeShape(layer)}: ${dspOps} DSP operations exceed the simulation limit of ${maxDspOps} (raise it with --max-dsp-ops)`);
  }

  const operands = opts.operands ?? 'random';
  const seed = opts.seed ?? 1;
  const mode = opts.mode ?? 'gemmlowp';
  const fn = dspFunction(scheme);
  const shape: ConvShape = {
    inH: layer.inH, inW: layer.inW, inC: layer.inC, outC: layer.outC, kH: layer.kH, kW: layer.kW, strideH: layer.strideH,
    strideW: layer.strideW, padTop: layer.padTop, padBottom: layer.padBottom, padLeft: layer.padLeft, padRight: layer.padRight,
  };
  const problem = schemeProblem(shape, fn.operands, operands, mode, seed);
  const sim = simulateSplitConv(problem, arch, scheme);

  const exactAcc = referenceConv({ ...problem, requant: { ...problem.requant, mode: 'raw' } });
  const exactOut = mode === 'raw' ? exactAcc : referenceConv(problem);
  let accDiff = 0;
  let accMax = 0;
  let outDiff = 0;
  let outMax = 0;
  let first = -1;
  for (let i = 0; i < exactAcc.length; i++) {
    const d = Math.abs(sim.accumulators[i]! - exactAcc[i]!);
    const e = Math.abs(sim.outputs[i]! - exactOut[i]!);
    if (d) accDiff++;
    if (e) outDiff++;
    if ((d || e) && first < 0) first = i;
    accMax = Math.max(accMax, d);
    outMax = Math.max(outMax, e);
  }
  const { outW } = outputSize(layer);
  const oc = layer.outC;
  const stall = sim.stats.stallCycles;
  const difference = sim.cycles - model.computeCycles;
  return {
    layer: layer.name ?? describeShape(layer),
    shape: describeShape(layer),
    device: `${device.name} (${device.board})`,
    clockMHz,
    scheme,
    arch,
    operands,
    seed,
    mode,
    cycles: {
      simulated: sim.cycles,
      analytical: model.computeCycles,
      difference,
      stallCycles: stall,
      agree: difference === 0,
      explanation:
        difference === 0
          ? 'the clock loop ends in the cycle the formula issues + (L-1) + dspLatency + accLatency predicts'
          : difference === stall
            ? `${stall} cycles of weight-loader stalls (weightWordCycles=${arch.weightWordCycles} > T_p=${tiling.Tp}), which model (a) assumes away`
            : `unexplained: ${difference} cycles apart with ${stall} stall cycles`,
    },
    utilisation: { simulated: sim.stats.utilisation, analytical: model.utilization },
    stats: sim.stats,
    outputs: {
      count: exactAcc.length,
      productsPerP: Math.min(arch.L, layer.inC),
      bound: scheme === 'unpacked' ? null : accumulationBound(SCHEMES[scheme]),
      exact: accDiff === 0 && outDiff === 0,
      accumulatorsDiffering: accDiff,
      maxAccumulatorError: accMax,
      outputsDiffering: outDiff,
      maxOutputError: outMax,
      ...(first >= 0
        ? {
            firstDifference: {
              oh: Math.floor(first / oc / outW), ow: Math.floor(first / oc) % outW, oc: first % oc,
              accumulator: sim.accumulators[first]!, exactAccumulator: exactAcc[first]!, output: sim.outputs[first]!, exactOutput: exactOut[first]!,
            },
          }
        : {}),
    },
    warnings: model.warnings,
  };
}

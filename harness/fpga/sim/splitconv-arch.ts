/**
 * The architecture of engine (a) as the simulator takes it, and the one documented difference
 * between its cycle count and model (a)'s formula (the weight loader's stalls).
 */
import type { ConvShape } from '../../conv/layer.ts';
import { requireInt } from '../../util/errors.ts';
import type { LayerSpec } from '../models/common.ts';
import { type EngineScheme, engineLanes, splitconvTiling } from '../models/splitconv.ts';

/** The architecture of engine (a): model (a)'s parameters that change the clock behaviour. */
export interface SplitConvArch {
  /** DSPs per cascade = input channels summed per issue. */
  L: number;
  /** Cascades: output-channel parallelism before packing. */
  Po: number;
  /** Pixel lanes: copies of the cascade array. */
  Pp: number;
  /** DSP input-to-P registers. @default 4 */
  dspLatency?: number;
  /** Pixel-wise accumulation unit latency. @default 1 */
  accLatency?: number;
  /** Cycles the weight loader needs per word (one issue's P_o * W * L weights). @default 1 */
  weightWordCycles?: number;
}

/** The architecture with its defaults filled in and every value range-checked. */
export function resolveArch(a: SplitConvArch): Required<SplitConvArch> {
  return {
    L: requireInt('L', a.L, 1, 4096),
    Po: requireInt('Po', a.Po, 1, 4096),
    Pp: requireInt('Pp', a.Pp, 1, 1024),
    dspLatency: requireInt('dspLatency', a.dspLatency ?? 4, 1, 16),
    accLatency: requireInt('accLatency', a.accLatency ?? 1, 0, 16),
    weightWordCycles: requireInt('weightWordCycles', a.weightWordCycles ?? 1, 1, 1 << 16),
  };
}

/** The layer as model (a) sees it: one group, the scheme's operand widths. */
export function layerSpecOf(shape: ConvShape, scheme: EngineScheme): LayerSpec {
  const bits = scheme === 'int4' ? 4 : 8;
  return { ...shape, groups: 1, wBits: bits, aBits: bits };
}

/**
 * The documented difference between simulated and analytical cycles: the weight loader's stalls,
 * (T_o - 1) tile boundaries of k_h * k_w * T_c * max(0, weightWordCycles - T_p) cycles each.
 */
export function expectedStallCycles(shape: ConvShape, arch: SplitConvArch, scheme: EngineScheme): number {
  const a = resolveArch(arch);
  const t = splitconvTiling(layerSpecOf(shape, scheme), a, engineLanes(scheme));
  return (t.To - 1) * t.taps * t.Tc * Math.max(0, a.weightWordCycles - t.Tp);
}

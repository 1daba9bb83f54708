/** Results of `fkb cosim`: plain data, JSON-serialisable. */
import type { EngineScheme } from '../fpga/models/splitconv.ts';
import type { SplitConvArch } from '../fpga/sim/splitconv-sim.ts';

/** The first place two engines differ. */
export interface CosimDifference {
  /** In a cascade's P (trace), in an accumulator (after the cascades), or only in the cycle count. */
  where: 'cascade' | 'accumulator' | 'cycles';
  cycle?: number;
  pixelLane?: number;
  cascade?: number;
  stage?: number;
  /** The issue's index in the loop nest. */
  issue?: number;
  /** The ports the stage computed with (hex), PCIN included. */
  operands?: Record<string, string>;
  /** The decoded lane that differs first, with its values. */
  lane?: number;
  gotLane?: string;
  wantLane?: string;
  oh?: number;
  ow?: number;
  oc?: number;
  got: string;
  want: string;
}

export interface LayerCosim {
  layer: string;
  shape: string;
  scheme: EngineScheme;
  sim: 'verilator' | 'icarus';
  arch: Required<SplitConvArch>;
  outputs: number;
  issues: number;
  dsp: number;
  /** `sim`: the count the RTL must equal, from simulateSplitConv or model (a)'s formula (`from`). */
  cycles: { rtl: number; sim: number; from: 'simulateSplitConv' | 'model (a)'; equal: boolean };
  stallCycles: { rtl: number; sim: number };
  /** Accumulators differing from simulateSplitConv and from the packed-DSP engine; requantized outputs vs the packed engine's. */
  mismatches: { vsSim: number | null; vsPacked: number; outputsVsPacked: number };
  packedEngine: string;
  equal: boolean;
  firstDifference?: CosimDifference;
  /** Wall time of the RTL simulation and of simulateSplitConv, ms. */
  ms: { rtl: number; tsSim: number | null };
  runDir?: string;
}

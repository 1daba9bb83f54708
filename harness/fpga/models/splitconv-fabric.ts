/**
 * Engine (a)'s fabric (LUT, FF) estimate: a linear function of structural terms whose
 * coefficients were fitted by least squares on Yosys synthesis of rtl/splitconv_pe.v
 * (`fkb synth --fit` regenerates splitconv-fabric.json; docs/synthesis.md has the grid and the
 * held-out errors). The model needs no Yosys at run time: it reads the committed data file.
 *
 * Terms (per configuration; NW, NA: output channels and pixels one DSP serves, NL = NW * NA):
 *   1                      the controller: loop counters, loader, cycle counters, state
 *   L                      issue metadata delayed L - 1 + dspLatency cycles (shared part)
 *   Pp                     a pixel lane's address registers and activation address adders
 *   Pp*L                   a pixel lane's metadata (output address, slot) in that delay
 *   Pp*Po*L                a DSP stage: pack wiring, fabric registers around the slice, and the
 *                          skew registers that delay stage j's operands j cycles (quadratic in L:
 *                          Pp*Po*L*(L-1)/2 registers of the operands' width, taken as linear over the
 *                          L of the grid, which has only two training values of L)
 *   Pp*Po*NL               an accumulator lane: int32 register, adder, bias' adder, write address
 *   (Po*NW + Pp*NA)*L      operand bytes per issue: weight-word and activation muxes (zero, offset, pad)
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../util/errors.ts';
import { SCHEMES, type SchemeName } from '../../dsp/schemes.ts';

export interface FabricConfig {
  /** An engine scheme (splitconv.ts EngineScheme). */
  scheme: SchemeName | 'unpacked';
  L: number;
  Po: number;
  Pp: number;
}

export const FABRIC_TERMS = ['1', 'L', 'Pp', 'Pp*L', 'Pp*Po*L', 'Pp*Po*NL', '(Po*NW+Pp*NA)*L'] as const;

/** The term values of one configuration, in FABRIC_TERMS order. */
export function fabricTerms(c: FabricConfig): number[] {
  const NW = c.scheme === 'unpacked' ? 1 : SCHEMES[c.scheme].weights;
  const NA = c.scheme === 'unpacked' ? 1 : SCHEMES[c.scheme].activations;
  const { L, Po, Pp } = c;
  return [1, L, Pp, Pp * L, Pp * Po * L, Pp * Po * NW * NA, (Po * NW + Pp * NA) * L];
}

/** One synthesized configuration of the grid, as the data file records it. */
export interface FabricPoint extends FabricConfig {
  role: 'train' | 'heldout';
  yosys: { DSP48E2: number; LUT: number; FF: number; CARRY: number; LUTRAM: number };
}

/** splitconv-fabric.json. */
export interface FabricFit {
  about: string;
  yosysVersion: string;
  /** synth_xilinx options and the RTL parameters held fixed. */
  flow: string;
  fixed: Record<string, number>;
  /** sha256 (24 hex digits) of the engine's RTL sources the grid was synthesized from. */
  sourceHash: string;
  date: string;
  terms: string[];
  lut: number[];
  ff: number[];
  grid: FabricPoint[];
  heldout: { lut: { medianPct: number; maxPct: number }; ff: { medianPct: number; maxPct: number } };
}

const FILE = new URL('./splitconv-fabric.json', import.meta.url);
let cached: FabricFit | undefined;

/** The committed fit (read once). */
export function fabricFit(): FabricFit {
  if (cached) return cached;
  let fit: FabricFit;
  try {
    fit = JSON.parse(readFileSync(FILE, 'utf8')) as FabricFit;
  } catch (e) {
    throw new InputError(`harness/fpga/models/splitconv-fabric.json: cannot read the fabric fit (${(e as Error).message}); regenerate it with 'fkb synth --fit'`);
  }
  if (fit.terms.join() !== FABRIC_TERMS.join()) {
    throw new InputError(`splitconv-fabric.json has terms ${fit.terms.join(', ')}, the model ${FABRIC_TERMS.join(', ')}: regenerate it with 'fkb synth --fit'`);
  }
  cached = fit;
  return fit;
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** LUTs and FFs of engine (a) in configuration `c` (rounded), from `fit` (default: the committed one). */
export function fabricEstimate(c: FabricConfig, fit: Pick<FabricFit, 'lut' | 'ff'> = fabricFit()): { lut: number; ff: number } {
  const t = fabricTerms(c);
  return { lut: Math.round(dot(t, fit.lut)), ff: Math.round(dot(t, fit.ff)) };
}

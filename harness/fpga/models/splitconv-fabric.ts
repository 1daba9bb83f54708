/**
 * Engine (a)'s fabric (LUT, FF) estimate: a linear function of structural terms whose
 * coefficients were fitted by least squares on Yosys synthesis of rtl/splitconv_pe.v
 * (`fkb synth --fit` regenerates splitconv-fabric.json; docs/synthesis.md has the grid and the
 * held-out errors). The model needs no Yosys at run time: it reads the committed data file.
 *
 * LUT and FF have their own terms (what the RTL puts in LUTs is not what it puts in registers).
 * NW, NA: output channels and pixels one DSP serves, NL = NW * NA; wb, ab: the weight and
 * activation bits one cascade stage takes into the fabric, cb: the non-constant C / OPMODE bits its
 * pack computes in fabric (SCHEME_BITS, read off rtl/pack_*.v).
 *
 * FF:
 *   1                      controller: configuration-derived counters, loader, cycle counters, state
 *   L                      the shared part of the issue metadata delayed L - 1 + DSP_LATENCY cycles
 *                          (flags, output-channel base, slot base: 68 bits per cycle) and the valid chain
 *   Pp                     a pixel lane's address registers (7 x 32 bits) and its metadata at the
 *                          fixed part of the delay
 *   Pp*L                   a pixel lane's output address and slot (64 bits) in that delay line
 *   (Po*wb + Pp*ab)*L(L-1)/2   the skew registers: stage j's operands delayed j cycles; weights are
 *                          shared by the Pp lanes of a cascade row and activations by the Po cascades
 *                          of a pixel lane, so their duplicates merge
 *   Pp*Po*L*cb             the C / OPMODE fabric delay (DSP_LATENCY 4: two registers) of a stage
 *                          whose C is not constant (wp487u8)
 *   Pp*Po*NL               an accumulator lane: the ACC_LATENCY register and the int32 accumulator
 *
 * LUT:
 *   1                      controller
 *   L                      per stage: the "channel inside the layer" compare (cl + j < INC)
 *   Pp                     a pixel lane's address adders, steps and slot / row checks
 *   Pp*NA                  per activation of a lane: input row / column, padding compares, address
 *   Po                     per cascade row: bias and output-channel address adders and compares
 *   Pp*L*ab                the activation operand muxes (zero, pad code, offset), one per bit
 *   Pp*Po                  a cascade's decode (carry adds between lanes)
 *   Pp*Po*L*cb             the C gating of a stage whose C depends on the operands (wp487u8)
 *   Pp*Po*NL               an accumulator lane: accumulate adder, bias adder, write address and enable
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

/**
 * Per scheme, from rtl/pack_<scheme>.v: weight bits and activation bits a stage's pack reads (what
 * its skew registers hold), and the non-constant bits of C / OPMODE it computes (wp487u8 adds
 * w << 27 when u1[7] is set: 8 gated weight bits and one OPMODE bit).
 */
export const SCHEME_BITS: Record<FabricConfig['scheme'], { wb: number; ab: number; cb: number }> = {
  unpacked: { wb: 8, ab: 8, cb: 0 },   // A = w0, B = a0
  int8x8: { wb: 16, ab: 8, cb: 0 },    // A = w0 << 18, D = w1, B = a0
  int8xu8: { wb: 16, ab: 8, cb: 0 },
  wp487u8: { wb: 8, ab: 16, cb: 9 },   // A = {a0, 11'b0, a1}, B = w0, C = a0[7] ? w0 << 27 : 0
  int4: { wb: 9, ab: 8, cb: 0 },       // A = w0[3:0], D = w1[4:0] << 22, B = {a1[3:0], 7'b0, a0[3:0]}
};

export const FABRIC_TERMS = {
  lut: ['1', 'L', 'Pp', 'Pp*NA', 'Po', 'Pp*L*ab', 'Pp*Po', 'Pp*Po*L*cb', 'Pp*Po*NL'],
  ff: ['1', 'L', 'Pp', 'Pp*L', '(Po*wb+Pp*ab)*L(L-1)/2', 'Pp*Po*L*cb', 'Pp*Po*NL'],
} as const;

/** The term values of one configuration, in FABRIC_TERMS order. */
export function fabricTerms(c: FabricConfig): { lut: number[]; ff: number[] } {
  const NW = c.scheme === 'unpacked' ? 1 : SCHEMES[c.scheme].weights;
  const NA = c.scheme === 'unpacked' ? 1 : SCHEMES[c.scheme].activations;
  const { wb, ab, cb } = SCHEME_BITS[c.scheme];
  const { L, Po, Pp } = c;
  return {
    lut: [1, L, Pp, Pp * NA, Po, Pp * L * ab, Pp * Po, Pp * Po * L * cb, Pp * Po * NW * NA],
    ff: [1, L, Pp, Pp * L, ((Po * wb + Pp * ab) * L * (L - 1)) / 2, Pp * Po * L * cb, Pp * Po * NW * NA],
  };
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
  terms: { lut: string[]; ff: string[] };
  lut: number[];
  ff: number[];
  grid: FabricPoint[];
  heldout: FabricErrors;
  /** The first grid's held-out points, kept out of training as a second check (engine.ts FIRST_HELDOUT). */
  firstHeldout: { points: FabricPoint[] } & FabricErrors;
}

/** Median and maximum |model - Yosys| / Yosys, percent. */
export interface FabricErrors {
  lut: { medianPct: number; maxPct: number };
  ff: { medianPct: number; maxPct: number };
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
  const same = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.join() === b.join();
  if (!same(fit.terms?.lut, FABRIC_TERMS.lut) || !same(fit.terms?.ff, FABRIC_TERMS.ff)) {
    throw new InputError(`splitconv-fabric.json has terms ${JSON.stringify(fit.terms)}, the model ${JSON.stringify(FABRIC_TERMS)}: regenerate it with 'fkb synth --fit'`);
  }
  cached = fit;
  return fit;
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** LUTs and FFs of engine (a) in configuration `c` (rounded), from `fit` (default: the committed one). */
export function fabricEstimate(c: FabricConfig, fit: Pick<FabricFit, 'lut' | 'ff'> = fabricFit()): { lut: number; ff: number } {
  const t = fabricTerms(c);
  return { lut: Math.round(dot(t.lut, fit.lut)), ff: Math.round(dot(t.ff, fit.ff)) };
}

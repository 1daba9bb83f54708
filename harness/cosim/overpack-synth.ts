/**
 * What the overpacking corrections cost in the fabric, from Yosys's Xilinx flow (harness/synth/
 * yosys.ts; Yosys counts, not Vivado's): per layout and decode mode,
 *
 *   naive, round, mr, mr-round, exact  rtl/overpack_correction.v (the c_k multipliers of the
 *                                      operands' low bits, their delay to the DSP latency, the
 *                                      decode after P), MODE as overpack_decode
 *   approx                             what the borrow anticipation adds to overpack_pack's C
 *                                      port logic (APPROX = 1 minus APPROX = 0)
 *
 * The paper's Table II (Sommer et al., FPL 2022) reports LUT/FF of its corrections on a Zynq
 * UltraScale+ with Vivado; docs/overpacking.md sets the two side by side.
 */
import { join } from 'node:path';
import { DECODE_MODES, type DecodeMode, getOverpack } from '../dsp/overpack.ts';
import { type CellCounts, synthesize } from '../synth/yosys.ts';
import { OVERPACK_DSP_LATENCY, overpackModes, overpackRtlParams } from './overpack-cosim.ts';
import { RTL_DIR } from './simulators.ts';

export interface OverpackCorrectionCost {
  layout: string;
  mode: DecodeMode;
  /** LUTs (LUT1..6), flip-flops, CARRY8 primitives. */
  lut: number;
  ff: number;
  carry: number;
  /** What was synthesized. */
  top: 'overpack_correction' | 'overpack_pack (APPROX 1 - 0)';
  seconds: number;
}

const CORRECTION_FILES = ['fkb_delay.v', 'overpack_corr.v', 'overpack_decode.v', 'overpack_correction.v'].map((f) => join(RTL_DIR, f));
const PACK_FILES = [join(RTL_DIR, 'overpack_pack.v')];

/** The Yosys cells of the correction of one layout in each of `modes` (default: every mode it has). */
export function overpackCorrectionCosts(layout: string, modes?: readonly DecodeMode[], cacheDir?: string): OverpackCorrectionCost[] {
  const l = getOverpack(layout);
  const { BCOMP, ...params } = overpackRtlParams(l);
  const cache = cacheDir === undefined ? {} : { cacheDir };
  const cost = (mode: DecodeMode, c: CellCounts, seconds: number, minus?: CellCounts): OverpackCorrectionCost => ({
    layout: l.name, mode, lut: c.LUT - (minus?.LUT ?? 0), ff: c.FF - (minus?.FF ?? 0), carry: c.CARRY - (minus?.CARRY ?? 0),
    top: minus ? 'overpack_pack (APPROX 1 - 0)' : 'overpack_correction', seconds,
  });
  return (modes ?? overpackModes(l)).map((mode) => {
    if (mode === 'approx') {
      const pack = (APPROX: number) => synthesize({ files: PACK_FILES, top: 'overpack_pack', params: { ...params, BCOMP: BCOMP!, APPROX }, ...cache });
      const on = pack(1);
      const off = pack(0);
      return cost(mode, on.cells, on.seconds + off.seconds, off.cells);
    }
    const r = synthesize({ files: CORRECTION_FILES, top: 'overpack_correction', params: { ...params, MODE: DECODE_MODES.indexOf(mode), LATENCY: OVERPACK_DSP_LATENCY }, ...cache });
    return cost(mode, r.cells, r.seconds);
  });
}

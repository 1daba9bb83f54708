/**
 * `fkb synth`: model (a)'s DSP count and fitted LUT / FF estimate next to Yosys's counts of the
 * engine RTL, one row per configuration (harness/synth/engine.ts `compareEngine` produces it; the
 * report's synthesis section renders it). Plain JSON: `fkb synth --json` prints this object.
 */

/** Held-out LUT or FF error of the fit, percent. */
export interface SynthErrorSummary {
  medianPct: number;
  maxPct: number;
}

/** One configuration: the model's counts next to Yosys's. */
export interface SynthComparison {
  /** Engine scheme (harness/fpga/models/splitconv.ts ENGINE_SCHEMES). */
  scheme: string;
  L: number;
  Po: number;
  Pp: number;
  /** The fit's grid: fitted on ('train') or scored on ('heldout'); absent outside the grid. */
  role?: 'train' | 'heldout';
  dsp: { model: number; yosys: number; equal: boolean };
  lut: { model: number; yosys: number; errorPct: number };
  ff: { model: number; yosys: number; errorPct: number };
  carry: number;
  lutram: number;
  seconds: number;
  cached: boolean;
}

export interface SynthReport {
  yosysVersion: string;
  flow: string;
  /** Percent LUT / FF error allowed. */
  tolerancePct: number;
  rows: SynthComparison[];
  dspAllEqual: boolean;
  withinTolerance: boolean;
  /** Set by `fkb synth --fit`: the fit written (harness/fpga/models/splitconv-fabric.json; more fields there). */
  fit?: { heldout: { lut: SynthErrorSummary; ff: SynthErrorSummary } };
}

/** How a packed-DSP engine's outputs compare with the exact convolution (`fkb dsp conv`, `fkb run`). */

/** A packed-DSP engine: packing scheme, DSPs per cascade, and where P is split into lanes. */
export interface PackedEngineConfig {
  scheme: string;
  chain: number;
  decode: string;
}

export interface ExactnessReport {
  scheme: string;
  chain: number;
  decode: string;
  /** Products one P sums, and the scheme's worst-case bound. */
  productsPerDecode: number;
  bound: number;
  /** True when productsPerDecode <= bound: no operands can corrupt a lane. */
  safeInWorstCase: boolean;
  outputs: number;
  /** Accumulators that differ from the exact convolution's, and the largest difference. */
  accumulatorsDiffering: number;
  maxAccumulatorError: number;
  /** Outputs (after requantization) that differ, and the largest difference in output codes. */
  outputsDiffering: number;
  maxOutputError: number;
  /** The first differing output, as (oh, ow, oc) with got/want, when any differs. */
  firstDifference?: { oh: number; ow: number; oc: number; got: number; want: number };
}

/** The exactness report of one named layer, with the kernel that computed the packed side. */
export interface LayerExactness extends ExactnessReport {
  layer: string;
  shape: string;
  kernel: string;
}

/** One set of `fkb dsp conv` rows: one engine configuration (scheme, chain, decode, operands). */
export interface DspExactnessSet {
  /** e.g. 'int8x8, L=16, cascade decode' (plus the caller's label, e.g. the operands). */
  label: string;
  scheme: string;
  rows: LayerExactness[];
}

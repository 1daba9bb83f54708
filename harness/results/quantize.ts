/** How closely an integer model follows its float original without labels (`fkb quantize --json`). */

/** Where an integer graph runs: the TypeScript oracle, the WASM split convolution, the packed-DSP kernels. */
export const BACKENDS = ['reference', 'wasm', 'dsp'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface ScoreAgreement {
  outputs: string[];
  threshold: number;
  /** Measured inputs where float has a logit above the threshold. */
  floatPositives: number;
  byBackend: Partial<Record<Backend, { bestAgree: number; decisionAgree: number; positives: number }>>;
}

export interface BackendFidelity {
  sqnrDb: number;
  maxAbsError: number;
  argmaxAgree: number;
}

export interface OutputFidelity {
  name: string;
  values: number;
  /** With a reference model: SQNR of the graph's own float outputs against it (what pruning costs). */
  floatSqnrDb?: number;
  byBackend: Partial<Record<Backend, BackendFidelity>>;
}

export interface QuantizeSummary {
  model: string;
  /** The activation calibration observer ('minmax', 'percentile', 'mse'). */
  observer: string;
  calibrationInputs: number;
  measuredInputs: number;
  macs: number;
  outputs: OutputFidelity[];
  /** Reference backend, per calibrated tensor in graph order. */
  tensors: Array<{ name: string; sqnrDb: number }>;
  /** The backend the others are compared with: 'reference' when it ran, else the first. */
  comparedWith: Backend;
  /** Output codes (all outputs, all measured inputs) that differ from `comparedWith`'s. */
  differingFromReference: Partial<Record<Backend, number>>;
  outputCodes: number;
  scores?: ScoreAgreement;
  /** Mean wall time of one integer inference per backend, ms (first run included). */
  msPerInput: Partial<Record<Backend, number>>;
}

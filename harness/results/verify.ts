/** One kernel checked on one layer in one requantization mode (`fkb verify`, `fkb run`). */
export interface VerifyResult {
  layer: string;
  shape: string;
  kernel: string;
  module: string;
  mode: string;
  outputs: number;
  ok: boolean;
  /** The first difference, when not ok. */
  error?: string;
}

/** One kernel in one module on one layer: the requantization modes that passed and failed. */
export interface VerificationRow {
  layer: string;
  kernel: string;
  module: string;
  outputs: number;
  passed: string[];
  failed: string[];
}

export interface VerificationSummary {
  checks: number;
  passed: number;
  failed: number;
  rows: VerificationRow[];
  /** The failing checks with their first difference (at most 20). */
  failures: { layer: string; kernel: string; module: string; mode: string; error: string }[];
}

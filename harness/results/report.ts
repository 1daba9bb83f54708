/**
 * What an HTML report holds: `report.json` and the block embedded in `report.html` are this
 * object. Plain JSON (no class instances, no BigInt). Everything but the benchmark is optional:
 * the report says "not available in this run" for a missing section.
 */
import type { BenchReport } from './bench.ts';
import type { CompressionResults } from './compression.ts';
import type { DspExactnessSet } from './exactness.ts';
import type { FpgaSection } from './fpga.ts';
import type { QuantizeSummary } from './quantize.ts';
import type { SynthReport } from './synth.ts';
import type { VerificationSummary } from './verify.ts';

/** Bumped when a field changes meaning; readers of report.json check it. */
export const REPORT_SCHEMA = 1;

export interface ReportMeta {
  title: string;
  /** ISO date the report was assembled. */
  generatedAt: string;
  /** 'fpga-kernel-bench <version>'. */
  generator: string;
  /** ISO date of the benchmark run. */
  benchDate: string;
  /** Where each part came from: commands or files, one line each. */
  sources: string[];
}

export interface ReportData {
  schema: typeof REPORT_SCHEMA;
  meta: ReportMeta;
  /** Absent when only `fkb bench` ran (each benchmarked kernel is still checked against its oracle). */
  verification?: VerificationSummary;
  benchmark: BenchReport;
  /** Packed-DSP exactness per layer, one set per engine configuration. Empty or absent: not measured. */
  dspExactness?: DspExactnessSet[];
  fpga?: FpgaSection;
  compression?: CompressionResults;
  quantized?: QuantizeSummary;
  /** `fkb synth --json` (e.g. --grid): model (a) vs Yosys per configuration. */
  synth?: SynthReport;
}

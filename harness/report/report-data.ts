/**
 * What an HTML report holds, and how it is assembled from the JSON the commands write:
 *
 *   fkb run  (bench/results/run-*.json)     -> verification + benchmark
 *   fkb bench --json                         -> benchmark
 *   fkb verify --json                        -> verification
 *   fkb dsp conv --json [--scheme ...]       -> packed-DSP exactness per layer (one set per call)
 *   fkb model --json                         -> FPGA model per layer, compared with the WASM kernels
 *   (compression results)                    -> accuracy vs size and MACs (fkb run computes them)
 *   fkb quantize --json                      -> a quantized model without labels against float
 *   fkb synth --grid --json                  -> model (a) vs Yosys synthesis per configuration
 *
 * Everything but the benchmark is optional: the report says "not available in this run" for a
 * missing section. The data is plain JSON (no class instances, no BigInt), so `report.json` and
 * the block embedded in `report.html` are the same object.
 */
import { readFileSync } from 'node:fs';
import {
  type BenchReport, type CompressionResults, type DspExactnessSet, type FpgaSection, type LayerExactness, type QuantizeSummary,
  type ReportData, type SynthReport, type VerificationRow, type VerificationSummary, type VerifyResult, REPORT_SCHEMA,
} from '../results/index.ts';
import { InputError } from '../util/errors.ts';
import { MiB } from '../util/input-files.ts';
import { readJsonInput } from '../util/json.ts';

/** `fkb run`'s result file. */
export interface RunOutput {
  verification: VerifyResult[];
  benchmark: BenchReport;
}

/** A command's parsed JSON, or the path of a file holding it. */
export type JsonInput<T> = T | string;

export interface ReportInputs {
  /** `fkb run` output: supplies verification and benchmark. */
  run?: JsonInput<RunOutput>;
  /** `fkb bench --json` output; overrides run.benchmark when both are given. */
  bench?: JsonInput<BenchReport>;
  /** `fkb verify --json` output; overrides run.verification. */
  verification?: JsonInput<VerifyResult[]>;
  /** `fkb dsp conv --json` outputs, one per configuration, optionally labelled (e.g. 'extremes'). */
  dspConv?: (JsonInput<LayerExactness[]> | { label?: string; rows: JsonInput<LayerExactness[]> })[];
  /** The FPGA model next to the WASM kernels (harness/fpga/compare.ts `fpgaSection`). */
  fpga?: JsonInput<FpgaSection>;
  /** Compression results (no command produces them yet). */
  compression?: JsonInput<CompressionResults>;
  /** `fkb quantize --json` output. */
  quantized?: JsonInput<QuantizeSummary>;
  /** `fkb synth --json` output (e.g. --grid). */
  synth?: JsonInput<SynthReport>;
  /** @default 'fpga-kernel-bench report' */
  title?: string;
  /** Extra lines for meta.sources (e.g. the command lines that produced the inputs). */
  sources?: string[];
  /** @default new Date() */
  now?: Date;
}

/** A command's JSON output of 256 MiB is far beyond any this tool writes. */
const MAX_RESULT_BYTES = 256 * MiB;

/**
 * Parses a JSON file (util/json: a repeated key is an error, a BOM is skipped); an unreadable,
 * oversized or malformed file is an InputError naming it.
 */
export function readJsonFile<T>(path: string, what = 'JSON'): T {
  return readJsonInput(path, { what: `${what} file`, maxBytes: MAX_RESULT_BYTES }).value as T;
}

function resolve<T>(input: JsonInput<T>, what: string, sources: string[]): T {
  if (typeof input === 'string') {
    sources.push(`${what}: ${input}`);
    return readJsonFile<T>(input, what);
  }
  return input;
}

function requireArray(value: unknown, what: string): void {
  if (!Array.isArray(value)) throw new InputError(`${what} must be an array, got ${value === null ? 'null' : typeof value}`);
}

function checkBench(b: BenchReport, what: string): BenchReport {
  if (typeof b !== 'object' || b === null) throw new InputError(`${what} must be a BenchReport object`);
  requireArray(b.measurements, `${what}.measurements`);
  if (typeof b.machine !== 'object' || b.machine === null) throw new InputError(`${what}.machine is missing`);
  if (b.measurements.length === 0) throw new InputError(`${what} has no measurements`);
  return b;
}

/** Groups verification checks by layer, kernel and module. */
export function summarizeVerification(results: VerifyResult[]): VerificationSummary {
  requireArray(results, 'verification');
  const groups = new Map<string, VerificationRow>();
  for (const r of results) {
    const key = `${r.layer}\u0000${r.kernel}\u0000${r.module}`;
    let row = groups.get(key);
    if (!row) groups.set(key, (row = { layer: r.layer, kernel: r.kernel, module: r.module, outputs: r.outputs, passed: [], failed: [] }));
    (r.ok ? row.passed : row.failed).push(r.mode);
  }
  const failed = results.filter((r) => !r.ok);
  return {
    checks: results.length,
    passed: results.length - failed.length,
    failed: failed.length,
    rows: [...groups.values()],
    failures: failed.slice(0, 20).map((r) => ({ layer: r.layer, kernel: r.kernel, module: r.module, mode: r.mode, error: r.error ?? '' })),
  };
}

/** The default label of a `dsp conv` set: its engine configuration. */
export function dspSetLabel(rows: LayerExactness[], extra?: string): string {
  const r = rows[0];
  const base = r ? `${r.scheme}, L=${r.chain}, ${r.decode} decode` : 'empty';
  return extra ? `${base}, ${extra}` : base;
}

/** Checks an `fkb quantize --json` result: outputs with names and per-backend SQNR. */
function checkQuantized(q: QuantizeSummary): QuantizeSummary {
  if (typeof q !== 'object' || q === null) throw new InputError('the fkb quantize result must be an object');
  requireArray(q.outputs, 'quantize result .outputs');
  q.outputs.forEach((o, i) => {
    if (typeof o.name !== 'string' || typeof o.byBackend !== 'object' || o.byBackend === null) {
      throw new InputError(`quantize result .outputs[${i}] needs a name and byBackend (the output of fkb quantize --json)`);
    }
  });
  return q;
}

/** Checks an `fkb synth --json` result: rows with DSP, LUT and FF model / Yosys counts. */
export function checkSynth(s: SynthReport): SynthReport {
  if (typeof s !== 'object' || s === null) throw new InputError('the fkb synth result must be an object');
  requireArray(s.rows, 'synth result .rows');
  const count = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as { model: unknown }).model === 'number' && typeof (x as { yosys: unknown }).yosys === 'number';
  s.rows.forEach((r, i) => {
    if (typeof r.scheme !== 'string' || !count(r.dsp) || !count(r.lut) || !count(r.ff)) {
      throw new InputError(`synth result .rows[${i}] needs scheme and dsp / lut / ff model and yosys counts (the output of fkb synth --json)`);
    }
  });
  if (typeof s.tolerancePct !== 'number') throw new InputError('synth result .tolerancePct must be a number');
  return s;
}

/** Checks compression results: accuracy a fraction, size and MACs positive. */
export function checkCompression(c: CompressionResults): CompressionResults {
  if (typeof c !== 'object' || c === null) throw new InputError('compression results must be an object');
  requireArray(c.points, 'compression.points');
  for (const [i, p] of c.points.entries()) {
    if (typeof p.setting !== 'string') throw new InputError(`compression.points[${i}].setting must be a string`);
    if (!(p.accuracy >= 0 && p.accuracy <= 1)) throw new InputError(`compression.points[${i}].accuracy must be a fraction in [0, 1], got ${p.accuracy}`);
    if (!(p.sizeBytes > 0)) throw new InputError(`compression.points[${i}].sizeBytes must be positive, got ${p.sizeBytes}`);
    if (!(p.macs > 0)) throw new InputError(`compression.points[${i}].macs must be positive, got ${p.macs}`);
    if (p.fpgaCycles !== undefined && !(p.fpgaCycles > 0)) throw new InputError(`compression.points[${i}].fpgaCycles must be positive when given, got ${p.fpgaCycles}`);
  }
  return c;
}

function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    return `${pkg.name} ${pkg.version}`;
  } catch {
    return 'fpga-kernel-bench';
  }
}

/**
 * Assembles a report from command outputs (parsed JSON or file paths). A benchmark is required
 * (from `run` or `bench`); everything else fills its section when given.
 */
export function collectReportData(inputs: ReportInputs): ReportData {
  const sources: string[] = [];
  const run = inputs.run === undefined ? undefined : resolve(inputs.run, 'fkb run result', sources);
  const bench = inputs.bench === undefined ? run?.benchmark : resolve(inputs.bench, 'fkb bench result', sources);
  if (!bench) throw new InputError('a report needs a benchmark: pass the output of fkb run or fkb bench --json');
  checkBench(bench, inputs.bench === undefined ? 'fkb run result .benchmark' : 'fkb bench result');
  const verifyResults = inputs.verification === undefined ? run?.verification : resolve(inputs.verification, 'fkb verify result', sources);

  const dspExactness = (inputs.dspConv ?? []).map((entry, i): DspExactnessSet => {
    const labelled = typeof entry === 'object' && !Array.isArray(entry) ? entry : { rows: entry };
    const rows = resolve(labelled.rows, 'fkb dsp conv result', sources);
    requireArray(rows, `dsp conv result #${i + 1}`);
    const label = dspSetLabel(rows, labelled.label);
    return { label, scheme: rows[0]?.scheme ?? 'unknown', rows };
  });
  const fpga = inputs.fpga === undefined ? undefined : resolve(inputs.fpga, 'FPGA comparison', sources);
  const compression = inputs.compression === undefined ? undefined : checkCompression(resolve(inputs.compression, 'compression results', sources));
  const quantized = inputs.quantized === undefined ? undefined : checkQuantized(resolve(inputs.quantized, 'fkb quantize result', sources));
  const synth = inputs.synth === undefined ? undefined : checkSynth(resolve(inputs.synth, 'fkb synth result', sources));

  return {
    schema: REPORT_SCHEMA,
    meta: {
      title: inputs.title ?? 'fpga-kernel-bench report',
      generatedAt: (inputs.now ?? new Date()).toISOString(),
      generator: toolVersion(),
      benchDate: bench.date,
      sources: [...sources, ...(inputs.sources ?? [])],
    },
    ...(verifyResults ? { verification: summarizeVerification(verifyResults) } : {}),
    benchmark: bench,
    ...(dspExactness.length ? { dspExactness } : {}),
    ...(fpga ? { fpga } : {}),
    ...(compression ? { compression } : {}),
    ...(quantized ? { quantized } : {}),
    ...(synth ? { synth } : {}),
  };
}

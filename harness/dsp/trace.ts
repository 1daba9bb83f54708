/**
 * Port-level DSP48E2 traces: one CSV row per clock (per slice, in a cascade), replayed through
 * the register-accurate slice model (slice-pipeline.ts). The format of
 * shared/golden/dsp48e2/dsp48e2_raw_random.csv and the `*_trace.csv` files:
 *
 *   cycle,A_hex,B_hex,C_hex,D_hex,PCIN_hex,INMODE_bin,OPMODE_hex,ALUMODE_bin,CARRYIN,P_hex     (required)
 *   CEA1,...,CECARRYIN, RSTA,...,RSTALLCARRYIN   clock enables (missing: 1) and resets (missing: 0)
 *   CARRYOUT_bin                                 4 characters, bit 3 first; 'x' = not compared
 *   PATTERNDETECT,PATTERNBDETECT,OVERFLOW,UNDERFLOW                  the pattern-detect flags
 *   stage                                        cascades: rows ordered by cycle, then stage
 *
 * All ports of row t are presented during clock t; P_hex (and CARRYOUT, the flags) are the outputs
 * after rising edge t. Every register is 0 before the first row. The slice parameters come from
 * the caller (`traceAttributes`: the `<file>.attrs.json` sidecar, an --attrs file, --attr); a
 * trace with none replays with stepSlice's configuration (GOLDEN_COMBINATIONAL), so the
 * 11-column files replay as they always did.
 *
 * csv-parse reads the CSV (util/csv.ts); `readTrace` holds a file of up to 64 MiB in memory,
 * `readTraceStream` and `replayTraceFile` stream a trace of any length in constant memory.
 */
import { existsSync } from 'node:fs';
import { type CsvRecord, CsvFormatError, parseCsv, readCsvStream } from '../util/csv.ts';
import { InputError } from '../util/errors.ts';
import { KiB, MiB, openInputStream, readInputText } from '../util/input-files.ts';
import { type SlicePorts, toHex48 } from './slice.ts';
import {
  GOLDEN_COMBINATIONAL, type SliceConfig, type SliceConfigPatch, checkSliceConfig, parseAttributeAssignment, readAttributeFile,
} from './slice-attributes.ts';
import {
  CE_PINS, type ControlPin, Dsp48e2, FLAG_NAMES, type FlagName, type PatternFlags, PortError, type PortChecks, RST_PINS,
  type SliceControls, type SliceOutputs, portChecks,
} from './slice-pipeline.ts';

/** A malformed trace: names the file, 1-based line and 1-based column (the CSV column). */
export class TraceFormatError extends InputError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number | null,
    detail: string,
  ) {
    super(`${file}: line ${line}${column === null ? '' : `, column ${column}`}: ${detail}`);
  }
}

/** CARRYOUT as recorded: bit k = CARRYOUT[k]; `known` has a 0 where the file writes 'x'. */
export interface RecordedCarryout {
  value: number;
  known: number;
}

export interface TraceRow {
  /** 1-based line in the file, for messages. */
  line: number;
  /** Any number of digits: a BigInt, so that every cycle number compares exactly. */
  cycle: bigint;
  /** The slice of a cascade (0 = the first); only in files with a `stage` column. */
  stage?: number;
  ports: SlicePorts;
  /** CE/RST levels; only in files with CE/RST columns (missing pins: CE 1, RST 0). */
  controls?: SliceControls;
  /** P after this clock, as recorded. */
  p: bigint;
  /** Only in files with CARRYOUT_bin. */
  carryout?: RecordedCarryout;
  /** Only the flags the file has columns for. */
  flags?: Partial<PatternFlags>;
}

type Kind = 'dec' | 'hex' | 'bin' | 'carry';
interface Column {
  name: string;
  kind: Kind;
  bits?: number;
}

/** The required columns, how each is parsed: hex/binary digits and the port width in bits. */
const COLUMNS = [
  { name: 'cycle', kind: 'dec' },
  { name: 'A_hex', kind: 'hex', bits: 30 },
  { name: 'B_hex', kind: 'hex', bits: 18 },
  { name: 'C_hex', kind: 'hex', bits: 48 },
  { name: 'D_hex', kind: 'hex', bits: 27 },
  { name: 'PCIN_hex', kind: 'hex', bits: 48 },
  { name: 'INMODE_bin', kind: 'bin', bits: 5 },
  { name: 'OPMODE_hex', kind: 'hex', bits: 9 },
  { name: 'ALUMODE_bin', kind: 'bin', bits: 4 },
  { name: 'CARRYIN', kind: 'bin', bits: 1 },
  { name: 'P_hex', kind: 'hex', bits: 48 },
] as const satisfies readonly Column[];

const CONTROL_COLUMNS: readonly Column[] = [...CE_PINS, ...RST_PINS].map((name) => ({ name, kind: 'bin', bits: 1 }));
const FLAG_COLUMNS: readonly Column[] = FLAG_NAMES.map((name) => ({ name, kind: 'bin', bits: 1 }));
const CARRYOUT_COLUMN: Column = { name: 'CARRYOUT_bin', kind: 'carry' };
const STAGE_COLUMN: Column = { name: 'stage', kind: 'dec' };
const OPTIONAL_COLUMNS: readonly Column[] = [...CONTROL_COLUMNS, CARRYOUT_COLUMN, ...FLAG_COLUMNS, STAGE_COLUMN];
const KNOWN_NAMES = new Set<string>([...COLUMNS, ...OPTIONAL_COLUMNS].map((c) => c.name));
/** A header name that looks like a control pin or output but is none: a typo must not default to CE=1. */
const PIN_LIKE = /^(CE|RST|CARRYOUT|PATTERN|OVERFLOW|UNDERFLOW)/;

/** Which port each checked column holds (PortError.port), to name the column of a refused value. */
const PORT_COLUMN: Record<string, string> = {
  A: 'A_hex', B: 'B_hex', C: 'C_hex', D: 'D_hex', PCIN: 'PCIN_hex', INMODE: 'INMODE_bin', OPMODE: 'OPMODE_hex', ALUMODE: 'ALUMODE_bin', CARRYIN: 'CARRYIN',
};

const DIGITS = { dec: /^[0-9]+$/, hex: /^[0-9a-fA-F]+$/, bin: /^[01]+$/, carry: /^[01xX]{4}$/ } as const;
const RADIX_NAME = { dec: 'a decimal integer', hex: 'hexadecimal', bin: 'binary', carry: '4 characters of 0, 1 or x (CARRYOUT[3] first)' } as const;

/** A trace line is about 90-200 bytes: a longer record means this is not a trace. */
const MAX_RECORD_BYTES = 64 * KiB;
/** `readTrace` holds every row in memory; longer traces are replayed as a stream. */
const MAX_TRACE_BYTES = 64 * MiB;

function parseField(text: string, col: Column): bigint {
  if (!DIGITS[col.kind].test(text)) {
    throw new InputError(`${JSON.stringify(text)} is not ${RADIX_NAME[col.kind]}`);
  }
  const value = BigInt(col.kind === 'hex' ? `0x${text}` : col.kind === 'bin' ? `0b${text}` : text);
  if (col.bits !== undefined && value >> BigInt(col.bits) !== 0n) {
    throw new InputError(`${text} is wider than the ${col.bits}-bit port`);
  }
  return value;
}

function parseCarryout(text: string): RecordedCarryout {
  let value = 0;
  let known = 0;
  for (let k = 0; k < 4; k++) {
    const ch = text[3 - k]!.toLowerCase();
    if (ch === 'x') continue;
    known |= 1 << k;
    if (ch === '1') value |= 1 << k;
  }
  return { value, known };
}

/** CARRYOUT as the trace writes it, 'x' for undriven bits. */
export function formatCarryout(value: number, known: number): string {
  let s = '';
  for (let k = 3; k >= 0; k--) s += (known >> k) & 1 ? String((value >> k) & 1) : 'x';
  return s;
}

/** Turns CSV records into trace rows: the header first, then one row per clock (per stage). */
class TraceReader {
  private index?: Map<string, number>;
  private width = 0;
  private last?: bigint;
  private lastStage = -1;
  private headerLine = 1;
  /** Stages per cycle, known once the stage number first wraps to 0. */
  stages?: number;
  rows = 0;
  /** The optional 1-bit columns the header has. */
  private controlColumns: readonly Column[] = [];
  private flagColumns: readonly Column[] = [];
  private readonly checks: PortChecks;

  constructor(private readonly file: string, config: Readonly<SliceConfig>) {
    this.checks = portChecks(config);
  }

  private header(rec: CsvRecord): void {
    const header = rec.fields;
    const index = new Map<string, number>();
    for (const col of COLUMNS) {
      const i = header.indexOf(col.name);
      if (i < 0) throw new TraceFormatError(this.file, rec.line, null, `header has no column ${col.name}`);
    }
    header.forEach((name, i) => {
      if (index.has(name)) throw new TraceFormatError(this.file, rec.line, i + 1, `column ${name} appears twice`);
      if (!KNOWN_NAMES.has(name) && PIN_LIKE.test(name)) {
        throw new TraceFormatError(this.file, rec.line, i + 1, `unknown column ${name} (control and flag columns: ${OPTIONAL_COLUMNS.map((c) => c.name).join(', ')})`);
      }
      if (KNOWN_NAMES.has(name)) index.set(name, i);
    });
    this.index = index;
    this.controlColumns = CONTROL_COLUMNS.filter((c) => index.has(c.name));
    this.flagColumns = FLAG_COLUMNS.filter((c) => index.has(c.name));
    this.width = header.length;
    this.headerLine = rec.line;
  }

  /** The row of a data record; undefined for the header. */
  read(rec: CsvRecord): TraceRow | undefined {
    const index = this.index;
    if (!index) {
      this.header(rec);
      return undefined;
    }
    const { fields, line } = rec;
    if (fields.length !== this.width) {
      throw new TraceFormatError(this.file, line, null, `expected ${this.width} fields as in the header, found ${fields.length}`);
    }
    // Parse one column; `check` applies the slice configuration's encoding rules to the value.
    const get = (col: Column, check?: (v: number) => unknown): bigint => {
      const i = index.get(col.name)!;
      try {
        const v = parseField(fields[i] ?? '', col);
        check?.(Number(v));
        return v;
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        throw new TraceFormatError(this.file, line, i + 1, `${col.name}: ${err.message}`);
      }
    };
    const [cycleCol, aCol, bCol, cCol, dCol, pcinCol, inmodeCol, opmodeCol, alumodeCol, carryinCol, pCol] = COLUMNS;
    const cycle = get(cycleCol);
    const stage = index.has(STAGE_COLUMN.name) ? this.order(line, cycle, Number(get(STAGE_COLUMN))) : this.orderCycle(line, cycle);
    const row: TraceRow = {
      line,
      cycle,
      ports: {
        a: get(aCol),
        b: get(bCol),
        c: get(cCol),
        d: get(dCol),
        pcin: get(pcinCol),
        inmode: Number(get(inmodeCol, this.checks.inmode)),
        opmode: Number(get(opmodeCol, this.checks.opmode)),
        alumode: Number(get(alumodeCol, this.checks.alumode)),
        carryin: Number(get(carryinCol, this.checks.carryin)),
      },
      p: get(pCol),
    };
    if (stage !== undefined) row.stage = stage;
    // 1-bit columns (CE, RST, flags): '0' or '1', anything else through get() for its message.
    const bit = (col: Column): 0 | 1 => {
      const text = fields[index.get(col.name)!];
      return text === '0' ? 0 : text === '1' ? 1 : (Number(get(col)) as 0 | 1);
    };
    if (this.controlColumns.length > 0) {
      const controls: SliceControls = {};
      for (const col of this.controlColumns) controls[col.name as ControlPin] = bit(col);
      row.controls = controls;
    }
    const co = index.get(CARRYOUT_COLUMN.name);
    if (co !== undefined) {
      const text = fields[co] ?? '';
      if (!DIGITS.carry.test(text)) {
        throw new TraceFormatError(this.file, line, co + 1, `CARRYOUT_bin: ${JSON.stringify(text)} is not ${RADIX_NAME.carry}`);
      }
      row.carryout = parseCarryout(text);
    }
    if (this.flagColumns.length > 0) {
      const flags: Partial<PatternFlags> = {};
      for (const col of this.flagColumns) flags[col.name as FlagName] = bit(col);
      row.flags = flags;
    }
    this.rows++;
    return row;
  }

  /** Without a stage column: one row per clock, cycle numbers consecutive. */
  private orderCycle(line: number, cycle: bigint): undefined {
    const expected = this.last === undefined ? cycle : this.last + 1n;
    if (cycle !== expected) {
      throw new TraceFormatError(this.file, line, this.index!.get('cycle')! + 1, `cycle: expected ${expected} (one row per clock), found ${cycle}`);
    }
    this.last = cycle;
    return undefined;
  }

  /** With a stage column: each cycle has the rows of stages 0, 1, ..., S-1 in order. */
  private order(line: number, cycle: bigint, stage: number): number {
    const col = (name: string) => this.index!.get(name)! + 1;
    const first = this.last === undefined;
    // The stage count is known once the stage number first wraps to 0.
    const allowed = first ? [0] : this.stages === undefined ? [this.lastStage + 1, 0] : [(this.lastStage + 1) % this.stages];
    if (!allowed.includes(stage)) {
      const count = this.stages === undefined ? '' : `, ${this.stages} stages per clock`;
      throw new TraceFormatError(this.file, line, col('stage'), `stage: expected ${allowed.join(' or ')} (rows ordered by cycle, then stage${count}), found ${stage}`);
    }
    if (!first && stage === 0 && this.stages === undefined) this.stages = this.lastStage + 1;
    const expected = first ? cycle : stage === 0 ? this.last! + 1n : this.last!;
    if (cycle !== expected) {
      const why = stage === 0 ? 'stage 0 starts the next clock' : `stage ${stage} belongs to the clock of stage ${stage - 1}`;
      throw new TraceFormatError(this.file, line, col('cycle'), `cycle: expected ${expected} (${why}), found ${cycle}`);
    }
    this.last = cycle;
    this.lastStage = stage;
    return stage;
  }

  /** After the last record: a trace needs its header, at least one row, and complete cycles. */
  finish(): void {
    if (!this.index) throw new TraceFormatError(this.file, 1, null, `header has no column ${COLUMNS[0].name} (the file is empty)`);
    if (this.rows === 0) throw new TraceFormatError(this.file, this.headerLine, null, 'no data rows after the header');
    if (this.stages !== undefined && this.lastStage !== this.stages - 1) {
      throw new TraceFormatError(this.file, this.headerLine, this.index.get('stage')! + 1, `stage: the last clock (cycle ${this.last}) has stages 0..${this.lastStage}, not all ${this.stages}`);
    }
    if (this.stages === undefined && this.lastStage >= 0) this.stages = this.lastStage + 1;
  }
}

/** csv-parse's complaint about the file's CSV itself, in the trace's terms. */
function traceCsvError(e: unknown): unknown {
  if (!(e instanceof CsvFormatError)) return e;
  return new TraceFormatError(e.file, e.line, e.field === null ? null : e.field + 1, e.detail);
}

/**
 * Parses a trace held in memory; `file` is only used in error messages. Port encodings are
 * checked against `config` (default: stepSlice's configuration).
 */
export function parseTrace(text: string, file: string, config: Readonly<SliceConfig> = GOLDEN_COMBINATIONAL): TraceRow[] {
  let records: CsvRecord[];
  try {
    records = parseCsv(text, file, { maxRecordBytes: MAX_RECORD_BYTES });
  } catch (e) {
    throw traceCsvError(e);
  }
  const reader = new TraceReader(file, config);
  const rows: TraceRow[] = [];
  for (const rec of records) {
    const row = reader.read(rec);
    if (row) rows.push(row);
  }
  reader.finish();
  return rows;
}

/** Reads and parses a trace file of at most 64 MiB whole; an unreadable file is an InputError too. */
export function readTrace(path: string, config: Readonly<SliceConfig> = GOLDEN_COMBINATIONAL): TraceRow[] {
  return parseTrace(readInputText(path, { what: 'DSP trace', maxBytes: MAX_TRACE_BYTES }), path, config);
}

/**
 * Calls `onRow` with each row of a trace file as it is read from a stream: memory does not
 * depend on the file's length. Errors are those of `readTrace`.
 */
export async function readTraceStream(path: string, onRow: (row: TraceRow) => void, config: Readonly<SliceConfig> = GOLDEN_COMBINATIONAL): Promise<void> {
  await streamTrace(path, config, onRow);
}

async function streamTrace(path: string, config: Readonly<SliceConfig>, onRow: (row: TraceRow) => void): Promise<TraceReader> {
  const reader = new TraceReader(path, config);
  const input = openInputStream(path, { what: 'DSP trace' });
  try {
    await readCsvStream(input, path, { maxRecordBytes: MAX_RECORD_BYTES }, (rec) => {
      const row = reader.read(rec);
      if (row) onRow(row);
    });
  } catch (e) {
    throw traceCsvError(e);
  }
  reader.finish();
  return reader;
}

// ---------------------------------------------------------------------------------------------
// attributes

/** The parameters a trace replays with, and where they came from. */
export interface TraceAttributes {
  config: SliceConfig;
  /** The files and options that set them, in the order applied ([] = GOLDEN_COMBINATIONAL only). */
  sources: string[];
  /** The sidecar's `_meta` (row count, clocks, stages, columns), when there is a sidecar. */
  meta?: { rows?: number; clocks?: number; stages?: number };
}

export interface TraceAttributeOptions {
  /** A JSON parameter file applied after the sidecar. */
  attrsFile?: string;
  /** `KEY=VALUE` assignments applied last (`--attr`). */
  assignments?: readonly string[];
  /** Read `<trace>.attrs.json` when it exists. @default true */
  sidecar?: boolean;
}

/** The sidecar of a trace file. */
export const sidecarPath = (trace: string) => `${trace}.attrs.json`;

/**
 * The parameters for replaying `trace`: GOLDEN_COMBINATIONAL, overridden by the sidecar
 * `<trace>.attrs.json` when present, then by `attrsFile`, then by `assignments`. Unknown keys,
 * bad values and unmodelled settings are InputErrors naming the file (or --attr) and the key.
 */
export function traceAttributes(trace: string, opts: TraceAttributeOptions = {}): TraceAttributes {
  const patches: SliceConfigPatch[] = [];
  const sources: string[] = [];
  let meta: TraceAttributes['meta'];
  const sidecar = sidecarPath(trace);
  if (opts.sidecar !== false && existsSync(sidecar)) {
    const read = readAttributeFile(sidecar);
    patches.push(read.attrs);
    sources.push(sidecar);
    if (typeof read.meta === 'object' && read.meta !== null) meta = read.meta as TraceAttributes['meta'];
  }
  if (opts.attrsFile !== undefined) {
    patches.push(readAttributeFile(opts.attrsFile).attrs);
    sources.push(opts.attrsFile);
  }
  if (opts.assignments && opts.assignments.length > 0) {
    const patch: Record<string, unknown> = {};
    for (const a of opts.assignments) {
      const [k, v] = parseAttributeAssignment(a);
      patch[k] = v;
    }
    patches.push(patch as SliceConfigPatch);
    sources.push('--attr');
  }
  const config: SliceConfig = { ...GOLDEN_COMBINATIONAL };
  for (const p of patches) Object.assign(config, p);
  checkSliceConfig(config, sources.length > 0 ? sources.join(' + ') : 'the default attributes');
  return { config, sources, ...(meta ? { meta } : {}) };
}

// ---------------------------------------------------------------------------------------------
// replay

/** One compared column that differs. */
export interface ColumnDiff {
  column: string;
  got: string;
  want: string;
}

export interface ReplayedRow {
  row: TraceRow;
  /** P before the clock (the previous row's recorded P with syncP, 0 before the first row). */
  pPrev: bigint;
  got: bigint;
  want: bigint;
  /** Every compared column agrees (P, and when recorded CARRYOUT, the flags, PCIN of a cascade). */
  ok: boolean;
  /** The columns that differ, P_hex first. */
  diffs: ColumnDiff[];
}

export interface ReplaySummary {
  rows: number;
  matches: number;
  mismatches: number;
}

export interface ReplayOptions {
  /** Slice parameters. @default GOLDEN_COMBINATIONAL (stepSlice's configuration) */
  config?: Readonly<SliceConfig>;
  /**
   * After each clock, load the row's recorded P into the P register (PREG=1), so that each row
   * checks one clock and one wrong row does not poison the rest; false runs the model free
   * from the ports alone. @default true
   */
  syncP?: boolean;
  /** The P register before the first row. @default 0n */
  pInitial?: bigint;
}

/** Replays rows one at a time: a slice per stage, chained PCOUT -> PCIN in a cascade. */
class Replayer {
  private readonly config: Readonly<SliceConfig>;
  private readonly syncP: boolean;
  private readonly slices: Dsp48e2[] = [];
  /** P of each stage after the current clock, and after the previous one (the next stage's PCIN). */
  private pNow: bigint[] = [];
  private pBefore: bigint[] = [];
  private firstCycle?: bigint;
  private readonly pInitial: bigint;

  constructor(private readonly file: string, opts: ReplayOptions) {
    this.config = opts.config ?? GOLDEN_COMBINATIONAL;
    this.syncP = opts.syncP ?? true;
    this.pInitial = opts.pInitial ?? 0n;
  }

  private slice(stage: number): Dsp48e2 {
    let s = this.slices[stage];
    if (!s) {
      s = new Dsp48e2(this.config);
      if (this.pInitial !== 0n && this.config.PREG === 1) s.loadP(this.pInitial);
      this.slices[stage] = s;
      this.pNow[stage] = this.pInitial;
    }
    return s;
  }

  replay(row: TraceRow): ReplayedRow {
    const stage = row.stage ?? 0;
    const slice = this.slice(stage);
    const diffs: ColumnDiff[] = [];
    let ports = row.ports;
    if (row.stage !== undefined) {
      // A new clock starts at stage 0: last clock's P of each stage is this clock's PCIN of the next.
      if (stage === 0) this.pBefore = this.pNow.slice();
      this.firstCycle ??= row.cycle;
      const pcin = row.cycle === this.firstCycle || stage === 0 ? 0n : this.pBefore[stage - 1]!;
      if (pcin !== row.ports.pcin) diffs.push({ column: 'PCIN_hex', got: toHex48(pcin), want: toHex48(row.ports.pcin) });
      ports = { ...row.ports, pcin };
    }
    const pPrev = this.pNow[stage]!;
    let out: SliceOutputs;
    try {
      out = slice.clock(ports, row.controls);
    } catch (e) {
      if (!(e instanceof PortError)) throw e;
      const col = PORT_COLUMN[e.port];
      throw new TraceFormatError(this.file, row.line, null, `${col ?? e.port}: ${e.message}`);
    }
    if (out.p !== row.p) diffs.unshift({ column: 'P_hex', got: toHex48(out.p), want: toHex48(row.p) });
    if (row.carryout) {
      const { value, known } = row.carryout;
      const wrong = known & ((~out.carryoutKnown & 0xf) | (out.carryout ^ value));
      if (wrong !== 0) diffs.push({ column: 'CARRYOUT_bin', got: formatCarryout(out.carryout, out.carryoutKnown), want: formatCarryout(value, known) });
    }
    if (row.flags) {
      if (!out.flags) {
        throw new TraceFormatError(this.file, row.line, null, 'the trace has pattern-detect columns but USE_PATTERN_DETECT="NO_PATDET" (set PATDET in the attributes)');
      }
      for (const f of FLAG_NAMES) {
        const want = row.flags[f];
        if (want !== undefined && want !== out.flags[f]) diffs.push({ column: f, got: String(out.flags[f]), want: String(want) });
      }
    }
    if (this.syncP && this.config.PREG === 1) slice.loadP(row.p);
    this.pNow[stage] = this.config.PREG === 1 ? slice.p : out.p;
    return { row, pPrev, got: out.p, want: row.p, ok: diffs.length === 0, diffs };
  }
}

function toOptions(pInitialOrOptions: bigint | ReplayOptions): ReplayOptions {
  return typeof pInitialOrOptions === 'bigint' ? { pInitial: pInitialOrOptions } : pInitialOrOptions;
}

/**
 * Runs every row through the slice model. With `syncP` (the default) P feeds back from the
 * previous row's *recorded* value, so each row checks exactly one clock. `file` names the
 * trace in errors.
 */
export function replayTrace(rows: readonly TraceRow[], pInitialOrOptions: bigint | ReplayOptions = 0n, file = 'trace'): { rows: ReplayedRow[]; summary: ReplaySummary } {
  const replayer = new Replayer(file, toOptions(pInitialOrOptions));
  const out = rows.map((row) => replayer.replay(row));
  const matches = out.filter((r) => r.ok).length;
  return { rows: out, summary: { rows: out.length, matches, mismatches: out.length - matches } };
}

/** What a streamed replay saw besides the summary. */
export interface ReplayFileInfo {
  /** Slices in the cascade (1 without a stage column). */
  stages: number;
}

/**
 * `replayTrace` over a trace file read as a stream: the summary and the first `keep`
 * mismatching rows; memory does not depend on the file's length.
 */
export async function replayTraceFile(
  path: string,
  keep: number,
  pInitialOrOptions: bigint | ReplayOptions = 0n,
): Promise<{ summary: ReplaySummary; mismatches: ReplayedRow[]; info: ReplayFileInfo }> {
  const opts = toOptions(pInitialOrOptions);
  const replayer = new Replayer(path, opts);
  const mismatches: ReplayedRow[] = [];
  const summary: ReplaySummary = { rows: 0, matches: 0, mismatches: 0 };
  const reader = await streamTrace(path, opts.config ?? GOLDEN_COMBINATIONAL, (row) => {
    const r = replayer.replay(row);
    summary.rows++;
    if (r.ok) {
      summary.matches++;
    } else {
      summary.mismatches++;
      if (mismatches.length < keep) mismatches.push(r);
    }
  });
  return { summary, mismatches, info: { stages: reader.stages ?? 1 } };
}

/** Ports (and CE/RST levels, when recorded) in the trace's own column spelling, for reports. */
export function formatPorts(ports: SlicePorts, controls?: SliceControls): Record<string, string> {
  const hex = (v: bigint, digits: number) => v.toString(16).padStart(digits, '0');
  const out: Record<string, string> = {
    A_hex: hex(ports.a, 8),
    B_hex: hex(ports.b, 5),
    C_hex: hex(ports.c, 12),
    D_hex: hex(ports.d, 7),
    PCIN_hex: hex(ports.pcin, 12),
    INMODE_bin: ports.inmode.toString(2).padStart(5, '0'),
    OPMODE_hex: ports.opmode.toString(16).padStart(3, '0'),
    ALUMODE_bin: ports.alumode.toString(2).padStart(4, '0'),
    CARRYIN: String(ports.carryin),
  };
  if (controls) for (const [pin, level] of Object.entries(controls)) out[pin] = String(level);
  return out;
}

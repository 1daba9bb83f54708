/**
 * Port-level DSP48E2 traces: one CSV row per clock, in the format of
 * shared/golden/dsp48e2/dsp48e2_raw_random.csv:
 *
 *   cycle,A_hex,B_hex,C_hex,D_hex,PCIN_hex,INMODE_bin,OPMODE_hex,ALUMODE_bin,CARRYIN,P_hex
 *
 * P_hex is the P register after that row's clock edge; the register starts at 0 before
 * the first row (the golden trace's first row adds P through W and gets exactly PCIN).
 *
 * csv-parse reads the CSV (util/csv.ts); `readTrace` holds a file of up to 64 MiB in memory,
 * `readTraceStream` and `replayTraceFile` stream a trace of any length in constant memory.
 */
import { type CsvRecord, CsvFormatError, parseCsv, readCsvStream } from '../util/csv.ts';
import { InputError } from '../util/errors.ts';
import { KiB, MiB, openInputStream, readInputText } from '../util/input-files.ts';
import {
  decodeAlumode, decodeCarryin, decodeInmode, decodeOpmode, stepSlice, type SlicePorts,
} from './slice.ts';

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

export interface TraceRow {
  /** 1-based line in the file, for messages. */
  line: number;
  /** Any number of digits: a BigInt, so that every cycle number compares exactly. */
  cycle: bigint;
  ports: SlicePorts;
  /** P after this clock, as recorded. */
  p: bigint;
}

/** How each column is parsed: hex/binary digits and the port width in bits. */
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
] as const;

type Column = (typeof COLUMNS)[number];
type ColumnName = Column['name'];

const DIGITS = { dec: /^[0-9]+$/, hex: /^[0-9a-fA-F]+$/, bin: /^[01]+$/ } as const;
const RADIX_NAME = { dec: 'a decimal integer', hex: 'hexadecimal', bin: 'binary' } as const;

/** A trace line is about 90 bytes: a longer record means this is not a trace. */
const MAX_RECORD_BYTES = 64 * KiB;
/** `readTrace` holds every row in memory; longer traces are replayed as a stream. */
const MAX_TRACE_BYTES = 64 * MiB;

function parseField(text: string, col: Column): bigint {
  if (!DIGITS[col.kind].test(text)) {
    throw new InputError(`${JSON.stringify(text)} is not ${RADIX_NAME[col.kind]}`);
  }
  const value = BigInt(col.kind === 'hex' ? `0x${text}` : col.kind === 'bin' ? `0b${text}` : text);
  if ('bits' in col && value >> BigInt(col.bits) !== 0n) {
    throw new InputError(`${text} is wider than the ${col.bits}-bit port`);
  }
  return value;
}

/** Turns CSV records into trace rows: the header first, then one row per clock. */
class TraceReader {
  private index?: Record<ColumnName, number>;
  private width = 0;
  private last?: bigint;
  private headerLine = 1;
  rows = 0;

  constructor(private readonly file: string) {}

  private header(rec: CsvRecord): void {
    const header = rec.fields;
    const index = {} as Record<ColumnName, number>;
    for (const col of COLUMNS) {
      const i = header.indexOf(col.name);
      if (i < 0) throw new TraceFormatError(this.file, rec.line, null, `header has no column ${col.name}`);
      const again = header.indexOf(col.name, i + 1);
      if (again >= 0) throw new TraceFormatError(this.file, rec.line, again + 1, `column ${col.name} appears twice`);
      index[col.name] = i;
    }
    this.index = index;
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
    // Parse one column; `check` applies the slice model's own encoding rules to the value.
    const get = (col: Column, check?: (v: number) => unknown): bigint => {
      const i = index[col.name];
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
    const expected = this.last === undefined ? cycle : this.last + 1n;
    if (cycle !== expected) {
      throw new TraceFormatError(this.file, line, index.cycle + 1, `cycle: expected ${expected} (one row per clock), found ${cycle}`);
    }
    const row: TraceRow = {
      line,
      cycle,
      ports: {
        a: get(aCol),
        b: get(bCol),
        c: get(cCol),
        d: get(dCol),
        pcin: get(pcinCol),
        inmode: Number(get(inmodeCol, decodeInmode)),
        opmode: Number(get(opmodeCol, decodeOpmode)),
        alumode: Number(get(alumodeCol, decodeAlumode)),
        carryin: Number(get(carryinCol, decodeCarryin)),
      },
      p: get(pCol),
    };
    this.last = cycle;
    this.rows++;
    return row;
  }

  /** After the last record: a trace needs its header and at least one row. */
  finish(): void {
    if (!this.index) throw new TraceFormatError(this.file, 1, null, `header has no column ${COLUMNS[0].name} (the file is empty)`);
    if (this.rows === 0) throw new TraceFormatError(this.file, this.headerLine, null, 'no data rows after the header');
  }
}

/** csv-parse's complaint about the file's CSV itself, in the trace's terms. */
function traceCsvError(e: unknown): unknown {
  if (!(e instanceof CsvFormatError)) return e;
  return new TraceFormatError(e.file, e.line, e.field === null ? null : e.field + 1, e.detail);
}

/** Parses a trace held in memory; `file` is only used in error messages. */
export function parseTrace(text: string, file: string): TraceRow[] {
  let records: CsvRecord[];
  try {
    records = parseCsv(text, file, { maxRecordBytes: MAX_RECORD_BYTES });
  } catch (e) {
    throw traceCsvError(e);
  }
  const reader = new TraceReader(file);
  const rows: TraceRow[] = [];
  for (const rec of records) {
    const row = reader.read(rec);
    if (row) rows.push(row);
  }
  reader.finish();
  return rows;
}

/** Reads and parses a trace file of at most 64 MiB whole; an unreadable file is an InputError too. */
export function readTrace(path: string): TraceRow[] {
  return parseTrace(readInputText(path, { what: 'DSP trace', maxBytes: MAX_TRACE_BYTES }), path);
}

/**
 * Calls `onRow` with each row of a trace file as it is read from a stream: memory does not
 * depend on the file's length. Errors are those of `readTrace`.
 */
export async function readTraceStream(path: string, onRow: (row: TraceRow) => void): Promise<void> {
  const reader = new TraceReader(path);
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
}

export interface ReplayedRow {
  row: TraceRow;
  /** P before the clock (the previous row's recorded P, 0 before the first row). */
  pPrev: bigint;
  got: bigint;
  want: bigint;
  ok: boolean;
}

export interface ReplaySummary {
  rows: number;
  matches: number;
  mismatches: number;
}

/** One clock: the slice model's P for `row`, given the P before it. */
function replayRow(row: TraceRow, pPrev: bigint): ReplayedRow {
  const got = stepSlice(row.ports, pPrev);
  return { row, pPrev, got, want: row.p, ok: got === row.p };
}

/**
 * Runs every row through the slice model. P feeds back from the previous row's *recorded*
 * value, so each row checks exactly one clock and one wrong row does not poison the rest.
 */
export function replayTrace(rows: readonly TraceRow[], pInitial = 0n): { rows: ReplayedRow[]; summary: ReplaySummary } {
  const out: ReplayedRow[] = [];
  let pPrev = pInitial;
  for (const row of rows) {
    out.push(replayRow(row, pPrev));
    pPrev = row.p;
  }
  const matches = out.filter((r) => r.ok).length;
  return { rows: out, summary: { rows: out.length, matches, mismatches: out.length - matches } };
}

/**
 * `replayTrace` over a trace file read as a stream: the summary and the first `keep`
 * mismatching rows; memory does not depend on the file's length.
 */
export async function replayTraceFile(path: string, keep: number, pInitial = 0n): Promise<{ summary: ReplaySummary; mismatches: ReplayedRow[] }> {
  const mismatches: ReplayedRow[] = [];
  const summary: ReplaySummary = { rows: 0, matches: 0, mismatches: 0 };
  let pPrev = pInitial;
  await readTraceStream(path, (row) => {
    const r = replayRow(row, pPrev);
    pPrev = row.p;
    summary.rows++;
    if (r.ok) {
      summary.matches++;
    } else {
      summary.mismatches++;
      if (mismatches.length < keep) mismatches.push(r);
    }
  });
  return { summary, mismatches };
}

/** Ports in the trace's own column spelling, for reports. */
export function formatPorts(ports: SlicePorts): Record<string, string> {
  const hex = (v: bigint, digits: number) => v.toString(16).padStart(digits, '0');
  return {
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
}

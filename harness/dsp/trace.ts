/**
 * Port-level DSP48E2 traces: one CSV row per clock, in the format of
 * shared/golden/dsp48e2/dsp48e2_raw_random.csv:
 *
 *   cycle,A_hex,B_hex,C_hex,D_hex,PCIN_hex,INMODE_bin,OPMODE_hex,ALUMODE_bin,CARRYIN,P_hex
 *
 * P_hex is the P register after that row's clock edge; the register starts at 0 before
 * the first row (the golden trace's first row adds P through W and gets exactly PCIN).
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.ts';
import {
  decodeAlumode, decodeCarryin, decodeInmode, decodeOpmode, stepSlice, type SlicePorts,
} from './slice.ts';

/** A malformed trace: names the file, 1-based line and 1-based column. */
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
  cycle: number;
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

type ColumnName = (typeof COLUMNS)[number]['name'];

const DIGITS = { dec: /^[0-9]+$/, hex: /^[0-9a-fA-F]+$/, bin: /^[01]+$/ } as const;
const RADIX_NAME = { dec: 'a decimal integer', hex: 'hexadecimal', bin: 'binary' } as const;

function parseField(text: string, col: (typeof COLUMNS)[number]): bigint {
  if (!DIGITS[col.kind].test(text)) {
    throw new InputError(`${JSON.stringify(text)} is not ${RADIX_NAME[col.kind]}`);
  }
  const value = BigInt(col.kind === 'hex' ? `0x${text}` : col.kind === 'bin' ? `0b${text}` : text);
  if ('bits' in col && value >> BigInt(col.bits) !== 0n) {
    throw new InputError(`${text} is wider than the ${col.bits}-bit port`);
  }
  return value;
}

/** Parses a trace; `file` is only used in error messages. */
export function parseTrace(text: string, file: string): TraceRow[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const index = {} as Record<ColumnName, number>;
  for (const col of COLUMNS) {
    const i = header.indexOf(col.name);
    if (i < 0) throw new TraceFormatError(file, 1, null, `header has no column ${col.name}`);
    if (header.indexOf(col.name, i + 1) >= 0) throw new TraceFormatError(file, 1, header.indexOf(col.name, i + 1) + 1, `column ${col.name} appears twice`);
    index[col.name] = i;
  }
  if (lines.length < 2) throw new TraceFormatError(file, 1, null, 'no data rows after the header');

  const rows: TraceRow[] = [];
  for (let li = 1; li < lines.length; li++) {
    const line = li + 1;
    const fields = (lines[li] ?? '').split(',');
    if (fields.length !== header.length) {
      throw new TraceFormatError(file, line, null, `expected ${header.length} fields as in the header, found ${fields.length}`);
    }
    // Parse one column; `check` applies the slice model's own encoding rules to the value.
    const get = (name: ColumnName, check?: (v: number) => unknown): bigint => {
      const col = COLUMNS.find((c) => c.name === name)!;
      const i = index[name];
      try {
        const v = parseField((fields[i] ?? '').trim(), col);
        check?.(Number(v));
        return v;
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        throw new TraceFormatError(file, line, i + 1, `${name}: ${err.message}`);
      }
    };
    const cycle = Number(get('cycle'));
    const expected = rows.length === 0 ? cycle : rows[rows.length - 1]!.cycle + 1;
    if (cycle !== expected) {
      throw new TraceFormatError(file, line, index.cycle + 1, `cycle: expected ${expected} (one row per clock), found ${cycle}`);
    }
    rows.push({
      line,
      cycle,
      ports: {
        a: get('A_hex'),
        b: get('B_hex'),
        c: get('C_hex'),
        d: get('D_hex'),
        pcin: get('PCIN_hex'),
        inmode: Number(get('INMODE_bin', decodeInmode)),
        opmode: Number(get('OPMODE_hex', decodeOpmode)),
        alumode: Number(get('ALUMODE_bin', decodeAlumode)),
        carryin: Number(get('CARRYIN', decodeCarryin)),
      },
      p: get('P_hex'),
    });
  }
  return rows;
}

/** Reads and parses a trace file; an unreadable file is an InputError too. */
export function readTrace(path: string): TraceRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseTrace(text, path);
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

/**
 * Runs every row through the slice model. P feeds back from the previous row's *recorded*
 * value, so each row checks exactly one clock and one wrong row does not poison the rest.
 */
export function replayTrace(rows: readonly TraceRow[], pInitial = 0n): { rows: ReplayedRow[]; summary: ReplaySummary } {
  const out: ReplayedRow[] = [];
  let pPrev = pInitial;
  for (const row of rows) {
    const got = stepSlice(row.ports, pPrev);
    out.push({ row, pPrev, got, want: row.p, ok: got === row.p });
    pPrev = row.p;
  }
  const matches = out.filter((r) => r.ok).length;
  return { rows: out, summary: { rows: out.length, matches, mismatches: out.length - matches } };
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

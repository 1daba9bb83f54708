/**
 * CSV records with the line each one starts on and, when asked, where each field starts; the
 * parsing is csv-parse's (RFC 4180: quoted fields, doubled quotes inside them, LF, CRLF or CR
 * line ends, mixed in one file). A UTF-8 BOM is skipped and fields are trimmed. Blank lines,
 * and lines starting with '#' when `comments` is set, are skipped but counted, so every line
 * number is the file's. Rows may have any number of fields: the caller compares them with its
 * header and says what is missing.
 *
 *   parseCsv(text, 'net.csv', { comments: true, positions: true })   -> CsvRecord[]
 *   await readCsvStream(openInputStream(...), 'trace.csv', {}, (r) => ...)  (memory independent of length)
 *
 * A malformed file (an unclosed quote, text after a closing quote, a record longer than
 * `maxRecordBytes`) is a CsvFormatError naming file, line and, where known, column.
 */
import type { Readable } from 'node:stream';
import { type CsvError, type InfoRecord, type Options, parse as parseStreaming } from 'csv-parse';
import { parse as parseWhole } from 'csv-parse/sync';
import { InputError } from './errors.ts';
import { formatBytes, MiB } from './input-files.ts';

export interface CsvPos {
  line: number;
  col: number;
}

export interface CsvRecord {
  fields: string[];
  /** 1-based line the record starts on. */
  line: number;
  /**
   * Where field `k` starts (its first non-blank character; 1-based line and column); with
   * k = fields.length, just past the last field. Only when read with `positions`; otherwise
   * the record's line and column 1.
   */
  at(k: number): CsvPos;
}

export interface CsvReadOptions {
  /** Skip lines whose first non-blank character is '#'. @default false */
  comments?: boolean;
  /** Keep each record's text to locate its fields (costs time: for small files). @default false */
  positions?: boolean;
  /** Longest record accepted, in bytes: a file with no line ends is refused, not buffered. @default 1 MiB */
  maxRecordBytes?: number;
}

/** A malformed CSV file. `col` is the character column when known, `field` the 0-based field. */
export class CsvFormatError extends InputError {
  override name = 'CsvFormatError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number | null,
    readonly field: number | null,
    readonly detail: string,
  ) {
    super(`${file}:${line}${col === null ? '' : `:${col}`}: ${detail}`);
  }
}

interface ParsedRecord {
  record: string[];
  info: InfoRecord;
  raw?: string;
}

/**
 * csv-parse's own errors, by their code: loaded as CommonJS, csv-parse and csv-parse/sync are
 * two bundles with a CsvError class each, so `instanceof` cannot be trusted.
 */
function isCsvError(e: unknown): e is CsvError {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^(CSV_|INVALID_OPENING_QUOTE)/.test(code);
}

const isBreak = (c: string | undefined) => c === '\n' || c === '\r';

/** Index just past the line end at `k` (CRLF counts as one). */
const pastBreak = (text: string, k: number) => (text[k] === '\r' && text[k + 1] === '\n' ? k + 2 : k + 1);

/** The line and column of offset `end` in `text`, which starts at column 1 of `line`. */
function posIn(text: string, line: number, end: number): CsvPos {
  let l = line;
  let lineStart = 0;
  for (let k = 0; k < end; ) {
    if (isBreak(text[k])) {
      k = pastBreak(text, k);
      l++;
      lineStart = k;
    } else {
      k++;
    }
  }
  return { line: l, col: end - lineStart + 1 };
}

/**
 * Offsets where each field of a record's text starts (first non-blank character), and the
 * offset just past its end. The text has been accepted by csv-parse, or ends inside a field
 * where csv-parse stopped: quotes pair up as RFC 4180 says.
 */
function fieldOffsets(text: string): { starts: number[]; end: number } {
  const starts: number[] = [];
  let k = 0;
  for (;;) {
    while (text[k] === ' ' || text[k] === '\t') k++;
    starts.push(k);
    if (text[k] === '"') {
      for (k++; k < text.length; k++) {
        if (text[k] === '"') {
          if (text[k + 1] !== '"') break;
          k++;
        }
      }
      k++;
    }
    while (k < text.length && text[k] !== ',') k++;
    if (k >= text.length) return { starts, end: Math.min(k, text.length) };
    k++;
  }
}

/** A record's own text: the raw text csv-parse kept, without the lines skipped before it. */
function ownText(raw: string, skipped: number): string {
  let k = 0;
  for (let n = 0; n < skipped && k < raw.length; n++) {
    while (k < raw.length && !isBreak(raw[k])) k++;
    k = pastBreak(raw, k);
  }
  return raw.slice(k);
}

/** Line ends inside the fields of a record (quoted fields may span lines). */
function breaksIn(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) {
    if (!f.includes('\n') && !f.includes('\r')) continue;
    for (let k = 0; k < f.length; k = isBreak(f[k]) ? pastBreak(f, k) : k + 1) if (isBreak(f[k])) n++;
  }
  return n;
}

type Counts = { lines?: number; empty_lines?: number; comment_lines?: number };

/**
 * Turns csv-parse's records into CsvRecords and its errors into CsvFormatErrors, keeping track
 * of the line each record starts on. Two ways:
 *
 * - `exact`: csv-parse skips blank and comment lines and reports how many with each record
 *   (needed to skip comments; the report costs about as much as the parsing);
 * - counted: every line is a record (blank lines come as one empty field and are dropped
 *   here).
 *
 * Either way a record starts on the line after the previous one ended (plus the lines skipped),
 * and ends as many lines later as its quoted fields hold line ends.
 */
class RecordReader {
  private line = 0;
  private blank = 0;
  private comments = 0;

  constructor(
    private readonly file: string,
    private readonly opts: CsvReadOptions,
    readonly exact: boolean,
  ) {}

  /** Lines skipped since the previous record (exact mode). */
  private skipped(info: Counts): number {
    return this.exact ? (info.empty_lines ?? 0) - this.blank + ((info.comment_lines ?? 0) - this.comments) : 0;
  }

  private start(info: Counts): number {
    return this.line + 1 + this.skipped(info);
  }

  /** A record in exact mode, with its info (and its raw text when positions are kept). */
  located({ record, info, raw }: ParsedRecord): CsvRecord {
    const line = this.start(info);
    let at: (k: number) => CsvPos = () => ({ line, col: 1 });
    if (raw !== undefined) {
      const text = ownText(raw, this.skipped(info)).replace(/(\r\n|\n|\r)$/, '');
      let offsets: { starts: number[]; end: number } | undefined;
      at = (k) => {
        offsets ??= fieldOffsets(text);
        return posIn(text, line, offsets.starts[k] ?? offsets.end);
      };
    }
    // Line ends counted here, not csv-parse's count: that one counts a CRLF inside quotes twice.
    this.line = line + breaksIn(record);
    this.blank = info.empty_lines;
    this.comments = info.comment_lines;
    return { fields: record, line, at };
  }

  /** A record in counted mode; undefined for a blank line. */
  counted(fields: string[]): CsvRecord | undefined {
    const line = this.line + 1;
    this.line = line + breaksIn(fields);
    if (fields.length === 1 && fields[0] === '') return undefined;
    return { fields, line, at: () => ({ line, col: 1 }) };
  }

  /** csv-parse's error as a CsvFormatError with the line and column it concerns. */
  error(e: unknown): unknown {
    if (!isCsvError(e)) return e;
    const err = e as CsvError & Counts & { index?: number; raw?: string };
    // The line the record in progress starts on: records reach `counted` as csv-parse emits
    // them, before an error it meets later in the same chunk.
    const line = this.start(err);
    const field = typeof err.index === 'number' ? err.index : null;
    const text = err.raw === undefined ? undefined : ownText(err.raw, this.skipped(err));
    // Where csv-parse stopped: `raw` ends with the character it refused, or just before it.
    // Without the record's text (counted mode), csv-parse's line.
    const stop = (after: number) => (text === undefined ? { line: err.lines ?? line, col: null } : posIn(text, line, text.length - 1 + after));
    const fail = (pos: { line: number; col: number | null }, detail: string) => new CsvFormatError(this.file, pos.line, pos.col, field, detail);
    switch (err.code) {
      case 'CSV_QUOTE_NOT_CLOSED': {
        const pos = text === undefined ? { line, col: null } : posIn(text, line, fieldOffsets(text).starts[field ?? 0] ?? 0);
        return fail(pos, 'unterminated quoted field');
      }
      case 'CSV_INVALID_CLOSING_QUOTE':
        return fail(stop(1), 'text after a closing quote');
      case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
        return fail(stop(0), 'text after a closing quote');
      case 'INVALID_OPENING_QUOTE':
        return fail(stop(0), 'a quote inside an unquoted field (quote the whole field and double the quotes in it)');
      case 'CSV_MAX_RECORD_SIZE':
        return fail({ line, col: null }, `a record longer than ${formatBytes(this.opts.maxRecordBytes ?? MiB)} (is this a CSV file?)`);
      default:
        return fail({ line: err.lines ?? line, col: null }, err.message);
    }
  }

  /** csv-parse's options for this mode. */
  options(): Options {
    const opts = this.opts;
    const base: Options = {
      bom: true,
      trim: true,
      relax_column_count: true,
      // Every line end, not only the first one found: a file mixing them must not merge lines.
      record_delimiter: ['\r\n', '\n', '\r'],
      max_record_size: opts.maxRecordBytes ?? MiB,
    };
    if (!this.exact) return base;
    // Each record becomes a CsvRecord as csv-parse emits it, so that the line count is current
    // when an error stops it. csv-parse's types expect a string[] back; it passes on anything.
    // With `raw`, csv-parse passes { record, raw } instead of the fields.
    const onRecord = (r: string[] | { record: string[] }, info: InfoRecord) =>
      this.located({ record: Array.isArray(r) ? r : r.record, info, ...(info.raw === undefined ? {} : { raw: info.raw }) }) as unknown as string[];
    return {
      ...base,
      skip_empty_lines: true,
      raw: opts.positions === true,
      on_record: onRecord,
      ...(opts.comments ? { comment: '#', comment_no_infix: true } : {}),
    };
  }
}

/** Every record of a CSV text read whole; `file` names it in errors. */
export function parseCsv(text: string, file: string, opts: CsvReadOptions = {}): CsvRecord[] {
  const exact = opts.comments === true || opts.positions === true;
  const reader = new RecordReader(file, opts, exact);
  let parsed: unknown[];
  try {
    parsed = parseWhole(text, reader.options());
  } catch (e) {
    // Counted mode is the fast one; on an error, read again in exact mode to place it.
    if (!exact && isCsvError(e)) {
      const again = new RecordReader(file, { ...opts, positions: true }, true);
      try {
        parseWhole(text, again.options());
      } catch (e2) {
        throw again.error(e2);
      }
    }
    throw reader.error(e);
  }
  if (exact) return parsed as CsvRecord[];
  const out: CsvRecord[] = [];
  for (const fields of parsed as string[][]) {
    const rec = reader.counted(fields);
    if (rec) out.push(rec);
  }
  return out;
}

/**
 * Calls `onRecord` with each record of a CSV byte stream as it is parsed: memory does not grow
 * with the stream's length. Resolves at the end of the stream; rejects with the first error,
 * the parser's or one `onRecord` throws, and then closes the stream.
 */
export function readCsvStream(input: Readable, file: string, opts: CsvReadOptions, onRecord: (r: CsvRecord) => void): Promise<void> {
  // Without comments or positions, lines are counted here: twice as fast as csv-parse's report.
  const reader = new RecordReader(file, opts, opts.comments === true || opts.positions === true);
  const parser = parseStreaming(reader.options());
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      input.unpipe(parser);
      input.destroy();
      parser.destroy();
      reject(e);
    };
    parser.on('data', (r: CsvRecord | string[]) => {
      if (failed) return;
      try {
        const rec = reader.exact ? (r as CsvRecord) : reader.counted(r as string[]);
        if (rec) onRecord(rec);
      } catch (e) {
        fail(e);
      }
    });
    parser.on('error', (e) => fail(reader.error(e)));
    parser.on('end', () => {
      if (!failed) resolve();
    });
    input.on('error', (e) => fail(new InputError(`cannot read ${file}: ${e.message}`)));
    input.pipe(parser);
  });
}

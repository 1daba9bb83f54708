/**
 * The CSV readers on csv-parse: records with the lines and columns of the file (BOM, CRLF, mixed
 * line ends, blank and comment lines, quoted fields over several lines), the same records read
 * whole or streamed in any chunks; DSP traces streamed row for row as they are read whole,
 * cycle numbers as BigInts past 2^53, and replay memory that does not grow with the trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GOLDEN_DIR } from '../harness/exactness/datapath.ts';
import { parseTrace, readTrace, readTraceStream, replayTrace, replayTraceFile, TraceFormatError, type TraceRow } from '../harness/dsp/trace.ts';
import { type CsvRecord, CsvFormatError, parseCsv, readCsvStream } from '../harness/util/csv.ts';

const root = join(import.meta.dirname, '..');
const RAW = join(GOLDEN_DIR, 'dsp48e2_raw_random.csv');
const work = mkdtempSync(join(tmpdir(), 'fkb-csv-'));
const rawLines = readFileSync(RAW, 'utf8').trimEnd().split('\n');

const simple = (recs: CsvRecord[]) => recs.map((r) => ({ fields: r.fields, line: r.line }));

async function streamed(text: string, chunks: number[] = [], opts = {}): Promise<CsvRecord[]> {
  // Split the bytes at the given offsets: records, quotes and CRLF may straddle chunks.
  const bytes = Buffer.from(text);
  const cuts = [...new Set(chunks.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts = [0, ...cuts, bytes.length].slice(1).map((end, i, all) => bytes.subarray(i === 0 ? 0 : all[i - 1], end));
  const out: CsvRecord[] = [];
  await readCsvStream(Readable.from(parts.filter((p) => p.length > 0)), 'mem.csv', opts, (r) => out.push(r));
  return out;
}

function csvError(fn: () => unknown, line: number, col: number | null, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, CsvFormatError, String(e));
    const err = e as CsvFormatError;
    assert.equal([err.line, err.col], [line, col], err.message);
    assert.match(err.message, pattern);
    return;
  }
  assert.unreachable('accepted malformed CSV');
}

// ---------------------------------------------------------------------------------------------
// util/csv

test('csv: lines and columns of the file through BOM, CRLF, blank and comment lines, quotes and quoted line ends', () => {
  const text = '\uFEFFa,b\r\n\r\n# c "x\r\n  1 , "q,""x"" " \r\n2,"multi\nline",  3\n\nx,y';
  const recs = parseCsv(text, 'f.csv', { comments: true, positions: true });
  assert.equal(recs.map((r) => r.fields), [['a', 'b'], ['1', 'q,"x" '], ['2', 'multi\nline', '3'], ['x', 'y']]);
  assert.equal(recs.map((r) => r.line), [1, 4, 5, 8]);
  assert.equal(recs[1]!.at(1), { line: 4, col: 7 });
  assert.equal(recs[2]!.at(2), { line: 6, col: 9 });
  assert.equal(recs[2]!.at(3), { line: 6, col: 10 }); // just past the last field
});

test('csv: a file mixing LF, CRLF and CR keeps every line a record', () => {
  const recs = parseCsv('a,b\r\n1,2\n3,4\r5,6', 'mixed.csv');
  assert.equal(simple(recs), [{ fields: ['a', 'b'], line: 1 }, { fields: ['1', '2'], line: 2 }, { fields: ['3', '4'], line: 3 }, { fields: ['5', '6'], line: 4 }]);
});

test('csv: malformed quoting is a CsvFormatError with line and column', () => {
  const exact = (t: string) => () => parseCsv(t, 'f.csv', { positions: true });
  csvError(exact('a,b\n1,2\n\n"3,4\n'), 4, 1, /^f\.csv:4:1: unterminated quoted field/);
  csvError(exact('a,b\n1,"2"x,3\n'), 2, 6, /text after a closing quote/);
  csvError(exact('a,b\n1,"2" x,3\n'), 2, 7, /text after a closing quote/);
  csvError(exact('a,b\n1,2"3\n'), 2, 4, /a quote inside an unquoted field/);
  // Without positions the same line is named (the whole text is read again to place it).
  csvError(() => parseCsv('a,b\n1,2\n\n"3,4\n', 'f.csv'), 4, 1, /unterminated quoted field/);
  // A file with no line ends is refused at the record limit instead of being buffered whole.
  csvError(() => parseCsv(`a,b\n${'x'.repeat(5000)}`, 'f.csv', { maxRecordBytes: 4096 }), 2, null, /a record longer than 4 KiB/);
});

test('csv: streamed errors name the line too', async () => {
  for (const [text, line, pattern] of [
    ['a,b\n1,2\n\n"3,4\n', 4, /unterminated quoted field/],
    ['a,b\n1,2\n1,"2"x,3\n', 3, /text after a closing quote/],
    [`a,b\n1,2\n${'x'.repeat(5000)}\n`, 3, /a record longer than 4 KiB/],
  ] as const) {
    try {
      await streamed(text, [5, 7], { maxRecordBytes: 4096 });
      assert.unreachable('accepted malformed CSV');
    } catch (e) {
      assert.instance(e, CsvFormatError, String(e));
      assert.is((e as CsvFormatError).line, line, (e as Error).message);
      assert.match((e as Error).message, pattern);
    }
  }
});

/** A field as a writer would put it in a CSV file: quoted when it has to be, and sometimes anyway. */
const field = fc.tuple(fc.stringMatching(/^[a-z0-9,"\n\r]{0,6}$/), fc.boolean()).map(([s, quote]) => {
  const text = s.replace(/^[ ]+|[ ]+$/g, '');
  return quote || /[,"\n\r]/.test(text) || text === '' ? { text, csv: `"${text.replace(/"/g, '""')}"` } : { text, csv: text };
});
const table = fc.record({
  rows: fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
  eol: fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 1, maxLength: 8 }),
  blanks: fc.array(fc.nat(2), { minLength: 1, maxLength: 8 }),
  chunks: fc.array(fc.nat(400), { maxLength: 6 }),
  bom: fc.boolean(),
});

test('csv: whole or streamed in any chunks, exact or counted, the same fields on the lines they were written (fast-check)', async () => {
  await fc.assert(
    fc.asyncProperty(table, async ({ rows, eol, blanks, chunks, bom }) => {
      let text = bom ? '\uFEFF' : '';
      let line = 1;
      const want: { fields: string[]; line: number }[] = [];
      rows.forEach((row, i) => {
        // A CR followed by an LF would be one CRLF: write CRLF there instead of a lone LF.
        const pick = eol[i % eol.length]!;
        const nl = pick === '\n' && text.endsWith('\r') ? '\r\n' : pick;
        for (let b = 0; b < blanks[i % blanks.length]!; b++, line++) text += nl;
        want.push({ fields: row.map((f) => f.text), line });
        text += row.map((f) => f.csv).join(',') + nl;
        line += 1 + row.reduce((n, f) => n + (f.text.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
      });
      assert.equal(simple(parseCsv(text, 'p.csv', { positions: true })), want);
      assert.equal(simple(parseCsv(text, 'p.csv')), want);
      assert.equal(simple(await streamed(text, chunks)), want);
      assert.equal(simple(await streamed(text, chunks, { comments: true })), want);
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// DSP traces

async function streamRows(path: string): Promise<TraceRow[]> {
  const rows: TraceRow[] = [];
  await readTraceStream(path, (r) => rows.push(r));
  return rows;
}

test('trace: streamed row for row as read whole; the golden replay matches all 3000 rows either way', async () => {
  const whole = readTrace(RAW);
  assert.equal(await streamRows(RAW), whole);
  const { summary, mismatches } = await replayTraceFile(RAW, 10);
  assert.equal(summary, replayTrace(whole).summary);
  assert.equal(summary, { rows: 3000, matches: 3000, mismatches: 0 });
  assert.is(mismatches.length, 0);
});

const traceFile = (name: string, lines: string[]) => {
  const path = join(work, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};
const withCycles = (cycles: string[]) => [rawLines[0]!, ...cycles.map((c, i) => [c, ...rawLines[i + 1]!.split(',').slice(1)].join(','))];

async function traceError(path: string): Promise<TraceFormatError[]> {
  const errors: TraceFormatError[] = [];
  for (const read of [() => readTrace(path), () => streamRows(path)]) {
    try {
      await read();
      assert.unreachable(`accepted ${path}`);
    } catch (e) {
      assert.instance(e, TraceFormatError, String(e));
      errors.push(e as TraceFormatError);
    }
  }
  assert.is(errors[0]!.message, errors[1]!.message, 'read whole and streamed, the same error');
  return errors;
}

test('trace: malformed rows and malformed CSV name line and column, read whole or streamed', async () => {
  const bad = traceFile('bad-hex.csv', rawLines.slice(0, 4).map((l, i) => (i === 2 ? l.replace(/^(\d+),\w+/, '$1,zz') : l)));
  const [e] = await traceError(bad);
  assert.equal([e!.line, e!.column], [3, 2]);
  assert.match(e!.message, /A_hex: "zz" is not hexadecimal/);
  const quote = traceFile('quote.csv', [...rawLines.slice(0, 3), `"${rawLines[3]}`]);
  const [q] = await traceError(quote);
  assert.is(q!.line, 4);
  assert.match(q!.message, /unterminated quoted field/);
  const empty = traceFile('empty.csv', []);
  assert.match((await traceError(empty))[0]!.message, /empty\.csv: line 1: header has no column cycle/);
  const headerOnly = traceFile('header.csv', [rawLines[0]!, '', '']);
  assert.match((await traceError(headerOnly))[0]!.message, /no data rows after the header/);
});

test('trace: blank lines are skipped and counted; quoted fields are read', () => {
  const lines = [rawLines[0]!, '', rawLines[1]!, '', '', rawLines[2]!.replace(/^(\d+),(\w+)/, '"$1","$2"')];
  const rows = parseTrace(`${lines.join('\r\n')}\r\n`, 'blank.csv');
  assert.equal(rows.map((r) => r.line), [3, 6]);
  assert.equal(replayTrace(rows).summary.matches, 2);
});

const TWO_53 = 2n ** 53n;

test('trace: cycle numbers past 2^53 compare exactly (BigInt)', async () => {
  const consecutive = traceFile('big-cycles.csv', withCycles([TWO_53 + 1n, TWO_53 + 2n, TWO_53 + 3n].map(String)));
  const rows = readTrace(consecutive);
  assert.equal(rows.map((r) => r.cycle), [TWO_53 + 1n, TWO_53 + 2n, TWO_53 + 3n]);
  assert.equal((await streamRows(consecutive)).map((r) => r.cycle), rows.map((r) => r.cycle));
  // 2^53 twice: a double rounds 2^53 + 1 back to 2^53 and would accept the repeat.
  const repeated = traceFile('repeat-cycles.csv', withCycles([String(TWO_53), String(TWO_53)]));
  const [e] = await traceError(repeated);
  assert.equal([e!.line, e!.column], [3, 1]);
  assert.match(e!.message, `cycle: expected ${TWO_53 + 1n} (one row per clock), found ${TWO_53}`);
  const huge = `1${'0'.repeat(40)}`;
  assert.is(readTrace(traceFile('huge-cycle.csv', withCycles([huge])))[0]!.cycle, BigInt(huge));
});

test('cli: dsp replay --json lists a cycle past 2^53 as its exact integer', () => {
  const lines = withCycles([TWO_53 + 1n, TWO_53 + 2n, TWO_53 + 3n].map(String));
  const f = lines[2]!.split(',');
  f[10] = (BigInt(`0x${f[10]}`) ^ 1n).toString(16).padStart(12, '0');
  lines[2] = f.join(',');
  const path = traceFile('big-cycles-altered.csv', lines);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'fkb.js'), 'dsp', 'replay', path, '--json'], { encoding: 'utf8' });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stdout, `"cycle": ${TWO_53 + 2n},`);
  assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
});

// ---------------------------------------------------------------------------------------------
// replay memory

/** A trace of `n` rows: the golden rows over and over, cycle numbers counting on. */
function bigTrace(n: number): string {
  const path = join(work, `trace-${n}.csv`);
  const fd = openSync(path, 'w');
  const rows = rawLines.slice(1).map((l) => l.slice(l.indexOf(',')));
  let buf = `${rawLines[0]}\n`;
  for (let i = 0; i < n; i++) {
    buf += `${i}${rows[i % rows.length]}\n`;
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  return path;
}

/** Replays `path` in a child process; its row count and peak RSS in MiB. */
function replayInChild(path: string): Promise<{ rows: number; rssMiB: number }> {
  const script = join(work, 'replay.mts');
  writeFileSync(script, [
    `import { replayTraceFile } from ${JSON.stringify(join(root, 'harness', 'dsp', 'trace.ts'))};`,
    `const { summary } = await replayTraceFile(process.argv[2], 10);`,
    `console.log(JSON.stringify({ rows: summary.rows, rssMiB: process.resourceUsage().maxRSS / 1024 }));`,
  ].join('\n'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], { cwd: root });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { rows: number; rssMiB: number }) : reject(new Error(out))));
  });
}

test('replay: peak memory does not grow with the trace (2e4 against 2e5 rows)', async () => {
  const small = await replayInChild(bigTrace(20_000));
  const large = await replayInChild(bigTrace(200_000));
  assert.is(small.rows, 20_000);
  assert.is(large.rows, 200_000);
  // A TraceRow held in memory costs about 0.6 KiB (ports and P as BigInts, the line's text):
  // 180,000 more would add some 100 MiB. Streaming adds only garbage-collector slack.
  const growth = large.rssMiB - small.rssMiB;
  assert.ok(growth < 40, `peak RSS ${small.rssMiB.toFixed(0)} MiB for 2e4 rows, ${large.rssMiB.toFixed(0)} MiB for 2e5: grew ${growth.toFixed(0)} MiB`);
  console.log(`replay peak RSS: 2e4 rows ${small.rssMiB.toFixed(0)} MiB, 2e5 rows ${large.rssMiB.toFixed(0)} MiB`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();

/**
 * The DSP48E2 slice model against every row of every golden file in shared/golden/dsp48e2
 * (simulated with the vendor's unisim model; see its README), plus trace parsing and the CLI.
 *
 * For the packed files the ports are rebuilt from the operands by the scheme definitions in
 * harness/dsp/schemes.ts (`scheme.ports`, the README's "Packing semantics") and must equal the
 * row's hex columns; P then comes from the model with the previous P of the same chain, and the
 * schemes' decode (`decodeLanes`, `decodeInt4Naive`) must reproduce the lane columns.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GOLDEN_DIR } from '../harness/exactness/datapath.ts';
import { decodeInt4Naive, decodeLanes, SCHEMES, type PackingScheme } from '../harness/dsp/schemes.ts';
import { bits, sext, stepSlice, toHex48, wrap, type SlicePorts } from '../harness/dsp/slice.ts';
import { parseTrace, readTrace, replayTrace, TraceFormatError } from '../harness/dsp/trace.ts';
import { InputError } from '../harness/util/errors.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// CI checks the repo out with shared/ beside it: resolve from the repo, never absolutely.
const RAW = join(GOLDEN_DIR, 'dsp48e2_raw_random.csv');

// ---------------------------------------------------------------------------------------------
// helpers

interface CsvRow {
  line: number;
  /** A column as text; throws if the file has no such column. */
  s(col: string): string;
  /** A decimal column as BigInt. */
  n(col: string): bigint;
  /** A hex column as BigInt. */
  hex(col: string): bigint;
}

function readCsv(name: string): CsvRow[] {
  const [head, ...lines] = readFileSync(join(GOLDEN_DIR, name), 'utf8').trimEnd().split('\n');
  const cols = (head ?? '').split(',');
  return lines.map((text, i) => {
    const fields = text.split(',');
    assert.is(fields.length, cols.length, `${name} line ${i + 2}: field count`);
    const s = (col: string) => {
      const k = cols.indexOf(col);
      if (k < 0) throw new Error(`${name} has no column ${col}`);
      return fields[k]!;
    };
    return { line: i + 2, s, n: (col) => BigInt(s(col)), hex: (col) => BigInt(`0x${s(col)}`) };
  });
}

/** Collects every disagreement in a file, then fails once with the first few. */
class Mismatches {
  private list: string[] = [];
  checked = 0;
  constructor(private file: string) {}
  eq(row: CsvRow, what: string, got: bigint | number | string, want: bigint | number | string): void {
    this.checked++;
    if (got !== want) this.list.push(`${this.file} line ${row.line}: ${what}: got ${got}, want ${want}`);
  }
  assertNone(): void {
    const shown = this.list.slice(0, 12).join('\n');
    assert.ok(this.list.length === 0, `${this.list.length} mismatches in ${this.file}:\n${shown}`);
  }
}

/** Per-file summary, printed at the end of the run. */
const reproduced: Record<string, string> = {};

const ZERO_PORTS: SlicePorts = { a: 0n, b: 0n, c: 0n, d: 0n, pcin: 0n, inmode: 0, opmode: 0x005, alumode: 0, carryin: 0 };
const INMODE_A = 0b00000; // A·B
/** The README's OPMODEs: OPMODE_hex columns are checked against what scheme.ports chose, and it against these. */
const OPMODE = { M: 0x005, P_M: 0x025, PCIN_M: 0x015, C_M: 0x185, P_C_M: 0x1a5 } as const;
const bin5 = (v: number) => v.toString(2).padStart(5, '0');
/** Golden operand columns are decimal; scheme.ports takes numbers. */
const num = (v: bigint) => Number(v);

/** Checks P against the model, P_dec against P, and returns the model's P. */
function checkP(m: Mismatches, row: CsvRow, ports: SlicePorts, pPrev: bigint, hasDec = true): bigint {
  const got = stepSlice(ports, pPrev);
  m.eq(row, 'P_hex', toHex48(got), row.s('P_hex'));
  if (hasDec) m.eq(row, 'P_dec', sext(got, 48), row.n('P_dec'));
  return row.hex('P_hex'); // feed the recorded P forward so one bad row stays one failure
}

/** Checks each hex port column against the value built from the operands. */
function checkPorts(m: Mismatches, row: CsvRow, built: Record<string, bigint>): void {
  for (const [col, v] of Object.entries(built)) m.eq(row, col, v, row.hex(col));
}

/** Tracks chains (chain_id/step) so each row gets the previous P and running sums of its chain. */
function chainState<S>(m: Mismatches, fresh: () => S) {
  let id = '';
  let step = -1n;
  let state = fresh();
  return (row: CsvRow, idCol: string, stepCol: string): { first: boolean; state: S } => {
    const first = row.s(idCol) !== id;
    if (first) {
      id = row.s(idCol);
      step = -1n;
      state = fresh();
    }
    m.eq(row, `${stepCol} (consecutive within the chain)`, row.n(stepCol), step + 1n);
    step = row.n(stepCol);
    return { first, state };
  };
}

/**
 * The lane columns of an INT8-style file (two lanes, the low one L bits): the scheme's decode
 * (README: lo = sext_L(P[L-1:0]), hi = sext_{48-L}(P[47:L]) + P[L-1]), flags, and the README's
 * claim that past the bound P stays exact and k·2^L moves between lanes (lo = S_lo − k·2^L, hi = S_hi + k).
 */
function checkTwoLanes(m: Mismatches, row: CsvRow, p: bigint, scheme: PackingScheme, sLo: bigint, sHi: bigint): void {
  const L = scheme.lanes[0]!.width;
  const [lo, hi] = decodeLanes(scheme, p) as [bigint, bigint];
  m.eq(row, 'lo', lo, row.n('lo'));
  m.eq(row, 'hi', hi, row.n('hi'));
  const half = 1n << BigInt(L - 1);
  m.eq(row, 'lo_in_range', sLo >= -half && sLo < half ? 1n : 0n, row.n('lo_in_range'));
  m.eq(row, 'lo_ok', lo === sLo ? 1n : 0n, row.n('lo_ok'));
  m.eq(row, 'hi_ok', hi === sHi ? 1n : 0n, row.n('hi_ok'));
  const k = (sLo - lo) >> BigInt(L);
  m.eq(row, 'lo = S_lo - k*2^L', lo, sLo - (k << BigInt(L)));
  m.eq(row, 'hi = S_hi + k', hi, sHi + k);
}

// ---------------------------------------------------------------------------------------------
// golden files

test('dsp48e2_raw_random.csv: every clock of the port-level trace', () => {
  const rows = readTrace(RAW);
  const { rows: replayed, summary } = replayTrace(rows);
  assert.is(summary.rows, 3000);
  const bad = replayed.filter((r) => !r.ok).slice(0, 12);
  const detail = bad.map((r) => `dsp48e2_raw_random.csv line ${r.row.line} (cycle ${r.row.cycle}): got ${toHex48(r.got)}, want ${toHex48(r.want)}`);
  assert.is(summary.matches, summary.rows, `${summary.mismatches} mismatches:\n${detail.join('\n')}`);
  reproduced['dsp48e2_raw_random.csv'] = `${summary.matches}/${summary.rows}`;
});

test('dsp48e2_raw_random.csv exercises every encoding the model claims (no path left untested)', () => {
  const rows = readTrace(RAW);
  const seen = (f: (p: SlicePorts) => number) => new Set(rows.map((r) => f(r.ports)));
  const sorted = (f: (p: SlicePorts) => number) => [...seen(f)].sort((x, y) => x - y);
  assert.equal(sorted((p) => p.inmode), [0b00000, 0b00010, 0b00100, 0b00110, 0b01000, 0b01100, 0b01110]);
  assert.equal(sorted((p) => p.alumode), [0, 1, 2, 3]);
  assert.equal(sorted((p) => p.carryin), [0, 1]);
  assert.equal(sorted((p) => (p.opmode >> 4) & 7), [0, 1, 2, 3, 5, 6]); // Z: all but 100, 111
  assert.equal(sorted((p) => (p.opmode >> 7) & 3), [0, 1, 3]); // W: RND (10) never occurs
  assert.equal(sorted((p) => p.opmode & 0xf), [0b0101]); // X = Y = M throughout
  // The first row adds P through W (OPMODE 0x095) and the recorded P is exactly PCIN: P starts at 0.
  assert.is(rows[0]!.ports.opmode, 0x095);
  assert.is(rows[0]!.p, rows[0]!.ports.pcin);
});

test('int8_pack_acc.csv: INT8 double multiply, accumulated', () => {
  const file = 'int8_pack_acc.csv';
  const m = new Mismatches(file);
  const chain = chainState(m, () => ({ p: 0n, s1: 0n, s2: 0n }));
  const rows = readCsv(file);
  for (const row of rows) {
    const { first, state } = chain(row, 'chain_id', 'step');
    const [w1, w2, a] = [row.n('w1'), row.n('w2'), row.n('a')];
    // A = w1 << 18, D = w2, B = a (int8 sign-extended, uint8 zero-extended: same bit pattern for a >= 0)
    const scheme = row.s('a_kind') === 'u8' ? SCHEMES.int8xu8 : SCHEMES.int8x8;
    const ports = scheme.ports([num(w1), num(w2)], [num(a)], first ? 'first' : 'P');
    checkPorts(m, row, { A_hex: ports.a, D_hex: ports.d, B_hex: ports.b });
    m.eq(row, 'INMODE_bin', row.s('INMODE_bin'), '00100');
    m.eq(row, 'INMODE_bin (scheme)', row.s('INMODE_bin'), bin5(ports.inmode));
    m.eq(row, 'OPMODE_hex', row.hex('OPMODE_hex'), BigInt(ports.opmode));
    m.eq(row, 'OPMODE (README)', ports.opmode, first ? OPMODE.M : OPMODE.P_M);
    const p = checkP(m, row, ports, state.p);
    state.p = p;
    state.s1 += w1 * a;
    state.s2 += w2 * a;
    m.eq(row, 'sum_w1a', state.s1, row.n('sum_w1a'));
    m.eq(row, 'sum_w2a', state.s2, row.n('sum_w2a'));
    checkTwoLanes(m, row, p, scheme, state.s2, state.s1);
  }
  m.assertNone();
  assert.is(rows.length, 4170);
  reproduced[file] = `${rows.length}/${rows.length}`;
});

test('int8_cascade16.csv: 16-stage PCOUT->PCIN cascade', () => {
  const file = 'int8_cascade16.csv';
  const m = new Mismatches(file);
  const chain = chainState(m, () => ({ pcout: 0n, s1: 0n, s2: 0n }));
  const rows = readCsv(file);
  for (const row of rows) {
    const { first, state } = chain(row, 'set_id', 'stage');
    const [w1, w2, a] = [row.n('w1'), row.n('w2'), row.n('a')];
    // Stage 0: P = M; stage i: P = PCIN + M with PCIN = P of stage i-1 (each stage is its own DSP,
    // so its own P register is never selected and starts at 0).
    const scheme = row.s('a_kind') === 'u8' ? SCHEMES.int8xu8 : SCHEMES.int8x8;
    const ports = { ...scheme.ports([num(w1), num(w2)], [num(a)], first ? 'first' : 'PCIN'), pcin: first ? 0n : state.pcout };
    checkPorts(m, row, { A_hex: ports.a, D_hex: ports.d, B_hex: ports.b, PCIN_hex: ports.pcin });
    m.eq(row, 'OPMODE_hex', row.hex('OPMODE_hex'), BigInt(ports.opmode));
    m.eq(row, 'OPMODE (README)', ports.opmode, first ? OPMODE.M : OPMODE.PCIN_M);
    const p = checkP(m, row, ports, 0n);
    state.pcout = p;
    state.s1 += w1 * a;
    state.s2 += w2 * a;
    m.eq(row, 'sum_w1a', state.s1, row.n('sum_w1a'));
    m.eq(row, 'sum_w2a', state.s2, row.n('sum_w2a'));
    checkTwoLanes(m, row, p, scheme, state.s2, state.s1);
  }
  m.assertNone();
  assert.is(rows.length, 202 * 16);
  reproduced[file] = `${rows.length}/${rows.length}`;
});

test('uint8_wp487_acc.csv: WP487 UINT8 with the C-port sign correction', () => {
  const file = 'uint8_wp487_acc.csv';
  const m = new Mismatches(file);
  const chain = chainState(m, () => ({ p: 0n, s1: 0n, s2: 0n }));
  const rows = readCsv(file);
  for (const row of rows) {
    const { first, state } = chain(row, 'chain_id', 'step');
    const [u1, u2, w] = [row.n('u1'), row.n('u2'), row.n('w')];
    // A = {u1, 11'b0, u2}: A[26] = u1[7] makes the 27-bit multiplicand negative by 2^27, so
    // C = w << 27 is added through W exactly when u1[7] = 1. D is unused: INMODE = A·B.
    const fix = (u1 & 0x80n) !== 0n;
    const ports = SCHEMES.wp487u8.ports([num(w)], [num(u1), num(u2)], first ? 'first' : 'P');
    checkPorts(m, row, { A_hex: ports.a, B_hex: ports.b });
    // The file drives C = w << 27 on every row; the scheme drives it only when W selects it.
    // Where W != C the value on C must not matter.
    const wIsC = ((ports.opmode >> 7) & 0b11) === 0b11;
    if (wIsC) checkPorts(m, row, { C_hex: ports.c });
    else m.eq(row, 'C_hex (driven, not selected)', toHex48(stepSlice({ ...ports, c: row.hex('C_hex') }, state.p)), toHex48(stepSlice(ports, state.p)));
    m.eq(row, 'C_hex = w << 27', row.hex('C_hex'), wrap(w << 27n, 48));
    m.eq(row, 'W = C iff u1[7]', String(wIsC), String(fix));
    m.eq(row, 'INMODE (A)', ports.inmode, INMODE_A);
    m.eq(row, 'OPMODE_hex', row.hex('OPMODE_hex'), BigInt(ports.opmode));
    m.eq(row, 'OPMODE (README)', ports.opmode, first ? (fix ? OPMODE.C_M : OPMODE.M) : (fix ? OPMODE.P_C_M : OPMODE.P_M));
    const p = checkP(m, row, ports, state.p);
    state.p = p;
    state.s1 += u1 * w;
    state.s2 += u2 * w;
    m.eq(row, 'sum_u1w', state.s1, row.n('sum_u1w'));
    m.eq(row, 'sum_u2w', state.s2, row.n('sum_u2w'));
    checkTwoLanes(m, row, p, SCHEMES.wp487u8, state.s2, state.s1);
  }
  m.assertNone();
  assert.is(rows.length, 1984);
  reproduced[file] = `${rows.length}/${rows.length}`;
});

/** WP521 INT4 (README): A = w1, D = w2 << 22, B = a1 | a2 << 11; lanes w1a1, w1a2, w2a1, w2a2 from bit 0 up. */
const INT4 = SCHEMES.int4;
const int4Names = INT4.lanes.map((l) => `w${l.w + 1}a${l.a + 1}`);

test('int4_wp521_single.csv: every INT4 four-product multiply, naive and corrected decode', () => {
  const file = 'int4_wp521_single.csv';
  const m = new Mismatches(file);
  const combos = new Set<string>();
  const rows = readCsv(file);
  for (const row of rows) {
    const [w1, w2, a1, a2] = [row.n('w1'), row.n('w2'), row.n('a1'), row.n('a2')];
    combos.add(`${w1},${w2},${a1},${a2}`);
    const ports = INT4.ports([num(w1), num(w2)], [num(a1), num(a2)], 'first');
    checkPorts(m, row, { A_hex: ports.a, D_hex: ports.d, B_hex: ports.b });
    m.eq(row, 'OPMODE (README)', ports.opmode, OPMODE.M);
    const p = checkP(m, row, ports, 0n, false);
    const [w, a] = [[w1, w2], [a1, a2]];
    const exact = INT4.lanes.map((l) => w[l.w]! * a[l.a]!);
    const naive = decodeInt4Naive(p);
    const corr = decodeLanes(INT4, p);
    // README: corrected = naive + P[10], P[21], P[32] for fields 1..3 (the bit below each field).
    const carry = INT4.lanes.map((l) => (l.offset > 0 ? bits(p, l.offset - 1, l.offset - 1) : 0n));
    int4Names.forEach((name, k) => {
      m.eq(row, `exp_${name}`, exact[k]!, row.n(`exp_${name}`));
      m.eq(row, `naive_${name}`, naive[k]!, row.n(`naive_${name}`));
      m.eq(row, `corr_${name}`, corr[k]!, row.n(`corr_${name}`));
      m.eq(row, `corr_${name} = naive + carry`, corr[k]!, naive[k]! + carry[k]!);
      m.eq(row, `corr_${name} == exact`, corr[k]!, exact[k]!); // WP521: corrected decode is exact
    });
  }
  m.assertNone();
  assert.is(combos.size, 65536, 'exhaustive over w1, w2 in [-8, 7] and a1, a2 in [0, 15]');
  reproduced[file] = `${rows.length}/${rows.length}`;
});

test('int4_wp521_acc.csv: INT4 packed accumulation lanes', () => {
  const file = 'int4_wp521_acc.csv';
  const m = new Mismatches(file);
  const chain = chainState(m, () => ({ p: 0n, sums: [0n, 0n, 0n, 0n] }));
  const rows = readCsv(file);
  for (const row of rows) {
    const { first, state } = chain(row, 'chain_id', 'step');
    const [w1, w2, a1, a2] = [row.n('w1'), row.n('w2'), row.n('a1'), row.n('a2')];
    const ports = INT4.ports([num(w1), num(w2)], [num(a1), num(a2)], first ? 'first' : 'P');
    checkPorts(m, row, { A_hex: ports.a, D_hex: ports.d, B_hex: ports.b });
    m.eq(row, 'OPMODE_hex', row.hex('OPMODE_hex'), BigInt(ports.opmode));
    m.eq(row, 'OPMODE (README)', ports.opmode, first ? OPMODE.M : OPMODE.P_M);
    const p = checkP(m, row, ports, state.p, false);
    state.p = p;
    const [w, a] = [[w1, w2], [a1, a2]];
    const products = INT4.lanes.map((l) => w[l.w]! * a[l.a]!);
    state.sums = state.sums.map((s, k) => s + products[k]!);
    // README: sext11(P[10:0]), sext11(P[21:11]) + P[10], sext11(P[32:22]) + P[21], sext15(P[47:33]) + P[32]
    const lanes = decodeLanes(INT4, p);
    int4Names.map((n) => `sum_${n}`).forEach((col, k) => {
      m.eq(row, col, state.sums[k]!, row.n(col));
      m.eq(row, `lane${k}`, lanes[k]!, row.n(`lane${k}`));
    });
    m.eq(row, 'all_ok', lanes.every((l, k) => l === state.sums[k]) ? 1n : 0n, row.n('all_ok'));
  }
  m.assertNone();
  reproduced[file] = `${rows.length}/${rows.length}`;
});

test('wp487_table1.csv: the worked WP487 table (accumulating), incl. its misprint', () => {
  const file = 'wp487_table1.csv';
  const m = new Mismatches(file);
  const rows = readCsv(file);
  let [p, sab, sdb] = [0n, 0n, 0n];
  for (const row of rows) {
    const first = row.n('i') === 0n;
    const [a, d, b] = [row.n('a'), row.n('d'), row.n('b')];
    // WP487's a, d, b are the int8x8 scheme's w1, w2 and activation.
    const ports = SCHEMES.int8x8.ports([num(a), num(d)], [num(b)], first ? 'first' : 'P');
    m.eq(row, 'OPMODE (README)', ports.opmode, first ? OPMODE.M : OPMODE.P_M);
    p = checkP(m, row, ports, p);
    sab += a * b;
    sdb += d * b;
    m.eq(row, 'sum_ab', sab, row.n('sum_ab'));
    m.eq(row, 'sum_db', sdb, row.n('sum_db'));
    m.eq(row, 'P_35_18', sext(bits(p, 35, 18), 18), row.n('P_35_18'));
    m.eq(row, 'P_17_0', sext(bits(p, 17, 0), 18), row.n('P_17_0'));
    m.eq(row, 'upper_corrected', sext(bits(p, 35, 18), 18) + bits(p, 17, 17), row.n('upper_corrected'));
    // WP487 prints 65553599 for row 6 where the slice gives 6553599 (README); elsewhere they agree.
    m.eq(row, 'P_printed_in_WP487', row.n('P_printed_in_WP487'), row.n('i') === 6n ? 65553599n : sext(p, 48));
  }
  m.assertNone();
  assert.is(rows.length, 7);
  reproduced[file] = `${rows.length}/${rows.length}`;
});

// ---------------------------------------------------------------------------------------------
// slice semantics that the files pin down, stated directly

test('slice: ALUMODE definitions (UG579 Table 2-7) on small numbers', () => {
  // Z = C = 5 (OPMODE Z=011), W + X + Y + CIN = 3 via CARRYIN and M = 1·2.
  const ports = { ...ZERO_PORTS, c: 5n, a: 1n, b: 2n, inmode: INMODE_A, opmode: 0x035, carryin: 1 };
  const run = (alumode: number) => sext(stepSlice({ ...ports, alumode }, 0n), 48);
  assert.is(run(0b0000), 8n); // Z + 3
  assert.is(run(0b0001), -3n); // -Z + 3 - 1
  assert.is(run(0b0010), -9n); // -Z - 3 - 1
  assert.is(run(0b0011), 2n); // Z - 3
});

test('slice: pre-adder wraps at 27 bits, shifts are arithmetic, A[29:27] is ignored', () => {
  const dMax = (1n << 26n) - 1n;
  const m = (a: bigint, d: bigint, inmode: number) =>
    sext(stepSlice({ ...ZERO_PORTS, a, d, b: 1n, inmode }, 0n), 48);
  assert.is(m(1n, dMax, 0b00100), -(1n << 26n)); // (2^26 - 1) + 1 wraps to -2^26
  assert.is(m(5n, 7n, 0b01100), 2n); // D - A
  assert.is(m(5n, 7n, 0b01110), 7n); // A gated: D
  assert.is(m(5n | (7n << 27n), 0n, 0b00000), 5n); // A[29:27] do not reach the multiplier
  const pNeg = wrap(-(1n << 40n), 48);
  assert.is(sext(stepSlice({ ...ZERO_PORTS, opmode: 0x060 }, pNeg), 48), -(1n << 23n)); // P >> 17, sign kept
});

test('slice: unmodelled encodings are refused, naming the field and value', () => {
  const refuse = (patch: Partial<SlicePorts>, pattern: RegExp) =>
    assert.throws(() => stepSlice({ ...ZERO_PORTS, ...patch }, 0n), (e: unknown) => e instanceof InputError && pattern.test(e.message));
  refuse({ opmode: 0x007 }, /OPMODE 0x007: X=11 Y=01/);
  refuse({ opmode: 0x004 }, /OPMODE 0x004: .*M must be selected by X and Y together/);
  refuse({ opmode: 0x00d }, /OPMODE 0x00d: X=01 Y=11: M must be selected by X and Y together/);
  refuse({ opmode: 0x045 }, /OPMODE 0x045: Z mux code 100/);
  refuse({ opmode: 0x075 }, /OPMODE 0x075: Z mux code 111/);
  refuse({ opmode: 0x200 }, /OPMODE 512: not a 9-bit value/);
  refuse({ inmode: 0b00001 }, /INMODE 00001/);
  refuse({ inmode: 0b10000 }, /INMODE 10000/);
  refuse({ alumode: 0b0100 }, /ALUMODE 0100/);
  refuse({ carryin: 2 }, /CARRYIN 2/);
  refuse({ a: 1n << 30n }, /A 0x40000000: not an unsigned 30-bit pattern/);
  refuse({ d: -1n }, /D -1: not an unsigned 27-bit pattern/);
});

// ---------------------------------------------------------------------------------------------
// malformed traces

const tmp = mkdtempSync(join(tmpdir(), 'fkb-dsp-'));
const rawLines = readFileSync(RAW, 'utf8').trimEnd().split('\n');

/** Writes the header and the first 4 golden rows, with `edit` applied to line `line` (1-based). */
function traceWith(name: string, line: number, edit: (fields: string[]) => string[]): string {
  const lines = rawLines.slice(0, 5).map((l, i) => (i === line - 1 ? edit(l.split(',')).join(',') : l));
  const path = join(tmp, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
const setField = (k: number, v: string) => (f: string[]) => f.map((x, i) => (i === k ? v : x));

const MALFORMED: Array<[string, string, number, number | null, RegExp]> = [
  ['missing column', traceWith('no-d.csv', 1, (f) => f.filter((x) => x !== 'D_hex')), 1, null, /no column D_hex/],
  ['too few fields', traceWith('short.csv', 3, (f) => f.slice(0, 10)), 3, null, /expected 11 fields.*found 10/],
  ['too many fields', traceWith('long.csv', 4, (f) => [...f, '0']), 4, null, /expected 11 fields.*found 12/],
  ['non-hex digit', traceWith('nonhex.csv', 2, setField(2, '01fzf')), 2, 3, /B_hex: "01fzf" is not hexadecimal/],
  ['value wider than the port', traceWith('wide.csv', 3, setField(1, '40000000')), 3, 2, /A_hex: 40000000 is wider than the 30-bit port/],
  ['D wider than 27 bits', traceWith('wide-d.csv', 2, setField(4, '8000000')), 2, 5, /D_hex: .*27-bit/],
  ['bad binary', traceWith('bin.csv', 5, setField(6, '00200')), 5, 7, /INMODE_bin: "00200" is not binary/],
  ['bad CARRYIN', traceWith('cin.csv', 2, setField(9, '2')), 2, 10, /CARRYIN: "2" is not binary/],
  ['empty field', traceWith('empty.csv', 4, setField(10, '')), 4, 11, /P_hex: "" is not hexadecimal/],
  ['unmodelled OPMODE', traceWith('opmode.csv', 3, setField(7, '0a7')), 3, 8, /OPMODE_hex: OPMODE 0x0a7/],
  ['unmodelled INMODE', traceWith('inmode.csv', 2, setField(6, '00101')), 2, 7, /INMODE_bin: INMODE 00101/],
  ['logic ALUMODE', traceWith('alumode.csv', 2, setField(8, '1100')), 2, 9, /ALUMODE_bin: ALUMODE 1100/],
  ['cycle gap', traceWith('gap.csv', 4, setField(0, '7')), 4, 1, /cycle: expected 2 .*found 7/],
];

for (const [what, path, line, column, pattern] of MALFORMED) {
  test(`trace: ${what} is an InputError naming file, line ${line}${column ? ` and column ${column}` : ''}`, () => {
    try {
      readTrace(path);
      assert.unreachable('accepted a malformed trace');
    } catch (err) {
      assert.instance(err, InputError);
      assert.instance(err, TraceFormatError);
      const e = err as TraceFormatError;
      assert.is(e.file, path);
      assert.is(e.line, line);
      assert.is(e.column, column);
      assert.ok(e.message.startsWith(`${path}: line ${line}`), e.message);
      assert.match(e.message, pattern);
    }
  });
}

test('trace: an unreadable file is an InputError, a CRLF trace parses', () => {
  assert.throws(() => readTrace(join(tmp, 'missing.csv')), (e: unknown) => e instanceof InputError && /missing\.csv/.test(e.message));
  const rows = parseTrace(`${rawLines.slice(0, 4).join('\r\n')}\r\n`, 'crlf.csv');
  assert.is(rows.length, 3);
  assert.is(replayTrace(rows).summary.matches, 3);
});

// ---------------------------------------------------------------------------------------------
// CLI

function fkb(...args: string[]) {
  const res = spawnSync(process.execPath, ['bin/fkb.js', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test('cli: dsp replay of the golden raw trace exits 0 and prints the match count', () => {
  const r = fkb('dsp', 'replay', RAW);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, '3000/3000 rows match');
});

test('cli: one altered P value exits 1 and lists the mismatch', () => {
  // Row for cycle 10 is line 12; the next row only reads P when its OPMODE selects it.
  const path = join(tmp, 'altered.csv');
  const lines = rawLines.slice(0, 21);
  const f = lines[11]!.split(',');
  f[10] = toHex48(BigInt(`0x${f[10]}`) ^ 1n);
  lines[11] = f.join(',');
  writeFileSync(path, `${lines.join('\n')}\n`);

  const r = fkb('dsp', 'replay', path);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stdout, /rows match/);
  assert.match(r.stdout, /cycle 10 \(line 12\): P_hex got [0-9a-f]{12} want [0-9a-f]{12}/);
  assert.match(r.stderr, /rows differ/);

  const j = fkb('dsp', 'replay', path, '--json', '--max-mismatches', '1');
  assert.is(j.status, 1);
  const report = JSON.parse(j.stdout) as { rows: number; mismatches: number; listed: Array<{ cycle: number; ports: Record<string, string> }> };
  assert.is(report.rows, 20);
  assert.ok(report.mismatches >= 1);
  assert.is(report.listed.length, 1);
  assert.is(report.listed[0]!.cycle, 10);
  assert.is(report.listed[0]!.ports.OPMODE_hex, f[7]);
});

test('cli: a malformed or unreadable trace exits 2 naming the line and column', () => {
  const bad = fkb('dsp', 'replay', MALFORMED.find(([w]) => w === 'non-hex digit')![1]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /line 2, column 3/);
  assert.is(fkb('dsp', 'replay', join(tmp, 'missing.csv')).status, 2);
  assert.is(fkb('dsp', 'replay', RAW, '--max-mismatches', 'x').status, 2);
  assert.is(fkb('dsp', 'replay', RAW, '--bogus').status, 2);
  assert.is(fkb('no-such-command').status, 2);
});

test.after(() => {
  rmSync(tmp, { recursive: true, force: true });
  console.log('golden rows reproduced:', reproduced);
});

test.run();

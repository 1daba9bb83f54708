/**
 * The register-accurate DSP48E2 model (harness/dsp/slice-pipeline.ts) against the pipelined,
 * SIMD and cascade golden traces (shared/golden/dsp48e2/*_trace.csv, README "Pipelined, SIMD and
 * cascade traces"), the trace format's new columns, and `fkb dsp replay` on them.
 *
 * Every golden trace must replay with 0 mismatching rows (P, CARRYOUT, flags), with P fed back
 * from the file and with the model running free; changing one attribute or one CE/RST level
 * must make rows differ (so the files really pin those features down). Unit tests state reset
 * priority, CE hold, the M register's partial products and the SIMD lane carries directly.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GOLDEN_DIR } from '../harness/exactness/datapath.ts';
import { type SlicePorts, stepSlice, toHex48, wrap } from '../harness/dsp/slice.ts';
import {
  GOLDEN_COMBINATIONAL, type SliceConfig, UNISIM_DEFAULTS, parseAttributeAssignment, parseAttributeObject, resolveSliceConfig,
} from '../harness/dsp/slice-attributes.ts';
import { Dsp48e2, type PipelinePorts, type SliceControls } from '../harness/dsp/slice-pipeline.ts';
import { readTrace, replayTrace, replayTraceFile, TraceFormatError, traceAttributes, type TraceRow } from '../harness/dsp/trace.ts';
import { InputError } from '../harness/util/errors.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'fkb-dsp-pipe-'));
const golden = (name: string) => join(GOLDEN_DIR, `${name}_trace.csv`);

const TRACES = ['pipe_a1b1m1p1', 'pipe_a2b2m1p1c1', 'pipe_packedmac', 'pipe_allreg_patdet', 'simd_four12', 'simd_two24', 'cascade16_m1p1'] as const;

/** Per-file summary printed at the end. */
const reproduced: Record<string, string> = {};

function sidecarMeta(name: string): { rows: number; stages: number } {
  return (JSON.parse(readFileSync(`${golden(name)}.attrs.json`, 'utf8')) as { _meta: { rows: number; stages: number } })._meta;
}

// ---------------------------------------------------------------------------------------------
// the golden traces

for (const name of TRACES) {
  test(`${name}: every row replays (P, CARRYOUT, flags), P fed back and free-running`, async () => {
    const file = golden(name);
    const attrs = traceAttributes(file);
    assert.equal(attrs.sources, [`${file}.attrs.json`]);
    const meta = sidecarMeta(name);
    for (const syncP of [true, false]) {
      const { summary, mismatches, info } = await replayTraceFile(file, 5, { config: attrs.config, syncP });
      const detail = mismatches.map((r) => `line ${r.row.line} cycle ${r.row.cycle} stage ${r.row.stage}: ${JSON.stringify(r.diffs)}`).join('\n');
      assert.is(summary.mismatches, 0, `${name} (syncP ${syncP}): ${summary.mismatches} rows differ\n${detail}`);
      assert.is(summary.rows, meta.rows, 'rows replayed = _meta.rows');
      assert.is(info.stages, meta.stages);
    }
    reproduced[name] = `${meta.rows}/${meta.rows}`;
  });
}

test('the golden traces exercise what the model claims: CARRYOUT bits, flags, stalls, resets, INMODE[0]/[4], all X/Y/Z', () => {
  const seen = { carry0: 0, carry1: 0, overflow: 0, underflow: 0, pd: 0, pdb: 0, ceLow: 0, rstHigh: 0, a1: 0, b1: 0 };
  const muxes = { x: new Set<number>(), y: new Set<number>(), z: new Set<number>(), w: new Set<number>(), alumode: new Set<number>() };
  const lanes = new Map<string, Set<string>>(); // per file: CARRYOUT bit positions seen as 0 and as 1
  for (const name of TRACES) {
    const cfg = traceAttributes(golden(name)).config;
    const set = new Set<string>();
    for (const row of readTrace(golden(name), cfg)) {
      const co = row.carryout!;
      for (let k = 0; k < 4; k++) if ((co.known >> k) & 1) set.add(`${k}=${(co.value >> k) & 1}`);
      seen.carry1 += co.value & co.known ? 1 : 0;
      seen.carry0 += ~co.value & co.known & 0xf ? 1 : 0;
      const f = row.flags;
      if (f) {
        seen.overflow += f.OVERFLOW!;
        seen.underflow += f.UNDERFLOW!;
        seen.pd += f.PATTERNDETECT!;
        seen.pdb += f.PATTERNBDETECT!;
      }
      const levels = Object.entries(row.controls!);
      if (levels.some(([pin, v]) => pin.startsWith('CE') && v === 0)) seen.ceLow++;
      if (levels.some(([pin, v]) => pin.startsWith('RST') && v === 1)) seen.rstHigh++;
      seen.a1 += row.ports.inmode & 1;
      seen.b1 += (row.ports.inmode >> 4) & 1;
      const op = row.ports.opmode;
      muxes.x.add(op & 3);
      muxes.y.add((op >> 2) & 3);
      muxes.z.add((op >> 4) & 7);
      muxes.w.add((op >> 7) & 3);
      muxes.alumode.add(row.ports.alumode);
    }
    lanes.set(name, set);
  }
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `no row with ${k}`);
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  assert.equal(sorted(muxes.x), [0, 1, 2, 3]);
  assert.equal(sorted(muxes.y), [0, 1, 2, 3]);
  assert.equal(sorted(muxes.z), [0, 1, 2, 3, 5, 6]);
  assert.equal(sorted(muxes.w), [0, 1, 2, 3]);
  assert.equal(sorted(muxes.alumode), [0, 1, 2, 3]);
  // Each lane's CARRYOUT bit is seen as 0 and as 1; a bit no lane drives is 0 (after RSTP) or x.
  const ones = (name: string) => [...lanes.get(name)!].filter((s) => s.endsWith('=1')).sort();
  const zeros = (name: string) => [...lanes.get(name)!].filter((s) => s.endsWith('=0')).sort();
  assert.equal(ones('simd_four12'), ['0=1', '1=1', '2=1', '3=1']);
  assert.equal(zeros('simd_four12'), ['0=0', '1=0', '2=0', '3=0']);
  assert.equal(ones('simd_two24'), ['1=1', '3=1']);
  assert.equal(ones('pipe_a1b1m1p1'), ['3=1']);
  assert.ok(zeros('pipe_a1b1m1p1').includes('3=0'));
});

test('CARRYOUT[3] needs the M register\'s partial products: one sign-extended M gets multiply rows wrong', () => {
  // Replaying with the sum of U and V in place of U, V: P is unchanged, CARRYOUT[3] is not.
  // The model's answer for one product, stated directly: p >= 0 gives an unreduced sum p + 2^48.
  const dsp = new Dsp48e2(GOLDEN_COMBINATIONAL);
  const mul = (a: bigint, b: bigint) => dsp.clock({ ...ZERO, a: wrap(a, 30), b: wrap(b, 18), opmode: 0x005 });
  assert.equal([mul(3n, 5n).p, mul(3n, 5n).carryout], [15n, 0b1000]);
  assert.equal([mul(0n, 5n).p, mul(0n, 5n).carryout], [0n, 0b1000]);
  assert.equal([mul(-3n, 5n).p, mul(-3n, 5n).carryout], [wrap(-15n, 48), 0]);
  // After RSTM the M register holds U = V = 0: X + Y = 0 and no carry.
  const m = new Dsp48e2({ ...GOLDEN_COMBINATIONAL, MREG: 1 });
  m.clock({ ...ZERO, a: 3n, b: 5n }, { RSTM: 1 });
  assert.equal(m.clock({ ...ZERO, opmode: 0x005 }, { CEM: 0 }), { p: 0n, carryout: 0, carryoutKnown: 0b1000 });
});

// ---------------------------------------------------------------------------------------------
// mutations: the files pin each feature down

/** Copies a golden trace (and its sidecar) to tmp, `edit` applied to its data lines. */
function copyTrace(name: string, as: string, edit?: (fields: string[], lineNo: number, cols: string[]) => string[]): string {
  const path = join(tmp, `${as}.csv`);
  copyFileSync(`${golden(name)}.attrs.json`, `${path}.attrs.json`);
  const [head, ...lines] = readFileSync(golden(name), 'utf8').trimEnd().split('\n');
  const cols = head!.split(',');
  const out = lines.map((l, i) => (edit ? edit(l.split(','), i + 2, cols).join(',') : l));
  writeFileSync(path, `${[head, ...out].join('\n')}\n`);
  return path;
}

const MUTATIONS: Array<[string, string[], string]> = [
  ['pipe_a1b1m1p1', ['MREG=0'], 'P_hex'],
  ['pipe_a1b1m1p1', ['AREG=2', 'ACASCREG=2'], 'P_hex'],
  ['pipe_a2b2m1p1c1', ['CREG=0'], 'P_hex'],
  ['pipe_a2b2m1p1c1', ['RND=000000000000'], 'P_hex'],
  ['pipe_packedmac', ['ADREG=0'], 'P_hex'],
  ['pipe_packedmac', ['OPMODEREG=0'], 'P_hex'],
  ['pipe_allreg_patdet', ['MASK=3ffffffffffe'], 'PATTERNDETECT'],
  ['pipe_allreg_patdet', ['CARRYINREG=0'], 'P_hex'],
  ['simd_four12', ['USE_SIMD=TWO24'], 'CARRYOUT_bin'],
  ['simd_two24', ['USE_SIMD=ONE48'], 'CARRYOUT_bin'],
  ['cascade16_m1p1', ['MREG=0'], 'P_hex'],
];

for (const [name, assignments, column] of MUTATIONS) {
  test(`${name} with ${assignments.join(' ')}: rows differ (${column} among them)`, async () => {
    const file = golden(name);
    const { config } = traceAttributes(file, { assignments });
    const { summary, mismatches } = await replayTraceFile(file, 1000, { config });
    assert.ok(summary.mismatches > 0, `${name} still matches with ${assignments.join(' ')}`);
    assert.ok(mismatches.some((r) => r.diffs.some((d) => d.column === column)), `no ${column} difference`);
  });
}

/** The first data line where the recorded P changes while CEP=1 and no RSTP, after `from`. */
function loadingLine(name: string, from: number): number {
  const rows = readTrace(golden(name), traceAttributes(golden(name)).config);
  for (let i = from; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.controls!.CEP === 1 && r.controls!.RSTP === 0 && r.p !== rows[i - 1]!.p && r.p !== 0n) return r.line;
  }
  throw new Error('no loading row');
}

test('a flipped CEP level is a mismatch at exactly that line (P holds instead of loading)', async () => {
  const line = loadingLine('pipe_a1b1m1p1', 400);
  const path = copyTrace('pipe_a1b1m1p1', 'cep-flipped', (f, n, cols) => (n === line ? f.map((v, i) => (cols[i] === 'CEP' ? '0' : v)) : f));
  const { summary, mismatches } = await replayTraceFile(path, 10, { config: traceAttributes(path).config });
  assert.ok(summary.mismatches >= 1);
  const first = mismatches[0]!;
  assert.is(first.row.line, line);
  assert.is(first.diffs[0]!.column, 'P_hex');
  assert.is(first.got, first.pPrev, 'P held');
});

test('a flipped RSTP level is a mismatch at that line (P cleared), a flipped CEA2 two rows later', async () => {
  const line = loadingLine('pipe_allreg_patdet', 300);
  const rst = copyTrace('pipe_allreg_patdet', 'rstp-flipped', (f, n, cols) => (n === line ? f.map((v, i) => (cols[i] === 'RSTP' ? '1' : v)) : f));
  const r = await replayTraceFile(rst, 10, { config: traceAttributes(rst).config });
  assert.is(r.mismatches[0]!.row.line, line);
  assert.is(r.mismatches[0]!.got, 0n);
  // pipe_a1b1m1p1: A passes A2 (edge t), M (t+1), P (t+2). Find a MAC row whose A matters:
  // no stall or reset in rows t..t+2, a new A and a nonzero B, D+A at t+1 (X not A:B), P += M at t+2.
  const rows = readTrace(golden('pipe_a1b1m1p1'), traceAttributes(golden('pipe_a1b1m1p1')).config);
  const quiet = (r: TraceRow | undefined) => r !== undefined && Object.entries(r.controls!).every(([pin, v]) => v === (pin.startsWith('CE') ? 1 : 0));
  const low27 = (v: bigint) => v & ((1n << 27n) - 1n);
  const t = rows.findIndex((r, i) => i > 200 && quiet(r) && quiet(rows[i + 1]) && quiet(rows[i + 2]) && low27(r.ports.a) !== low27(rows[i - 1]!.ports.a)
    && r.ports.b !== 0n && rows[i + 1]!.ports.inmode === 0b00100 && (rows[i + 1]!.ports.opmode & 3) !== 3 && [0x025, 0x035].includes(rows[i + 2]!.ports.opmode));
  assert.ok(t > 0, 'a MAC row to stall');
  const ce = copyTrace('pipe_a1b1m1p1', 'cea2-flipped', (f, n, cols) => (n === rows[t]!.line ? f.map((v, i) => (cols[i] === 'CEA2' ? '0' : v)) : f));
  const c = await replayTraceFile(ce, 10, { config: traceAttributes(ce).config });
  assert.is(c.mismatches[0]?.row.line, rows[t + 2]!.line, 'the held A shows in P two clocks later');
});

// ---------------------------------------------------------------------------------------------
// unit tests: registers, resets, SIMD lanes, pattern detector

const ZERO: PipelinePorts = { a: 0n, b: 0n, c: 0n, d: 0n, pcin: 0n, inmode: 0, opmode: 0, alumode: 0, carryin: 0 };
const config = (patch: Partial<SliceConfig>): SliceConfig => ({ ...GOLDEN_COMBINATIONAL, ...patch });
/** X = A:B, Y = C: P = A:B + C. */
const AB_PLUS_C = 0x00f;
/** {A, B} of a 48-bit A:B value. */
const ab = (v: bigint) => ({ a: v >> 18n, b: v & 0x3ffffn });

test('reset has priority over CE; a register without CE holds; every register starts at 0', () => {
  const dsp = new Dsp48e2(config({ CREG: 1 }));
  const addC = { ...ZERO, opmode: 0x030 }; // Z = C
  assert.is(dsp.clock({ ...addC, c: 7n }).p, 0n, 'C register was 0 before the edge');
  assert.is(dsp.clock({ ...addC, c: 9n }).p, 7n);
  assert.is(dsp.clock({ ...addC, c: 11n }, { CEC: 0 }).p, 9n);
  assert.is(dsp.clock({ ...addC, c: 13n }, { CEC: 0, CEP: 0 }).p, 9n, 'P holds too');
  assert.is(dsp.clock({ ...addC, c: 15n }, { CEC: 1, RSTC: 1 }).p, 9n, 'C register still 9 before this edge');
  assert.is(dsp.clock({ ...addC, c: 17n }).p, 0n, 'RSTC cleared it despite CEC=1');
  assert.is(dsp.clock({ ...addC, c: 19n }, { CEP: 1, RSTP: 1 }).p, 0n, 'RSTP wins over CEP');
  assert.is(dsp.clock({ ...addC, c: 19n }, { CEP: 0, RSTP: 1 }).p, 0n);
  // A register (AREG=1): RSTA clears A1 and A2; CEA2=0 holds A2 for the A:B path.
  const a = new Dsp48e2(config({ AREG: 1, ACASCREG: 1 }));
  const x = { ...ZERO, opmode: 0x003 }; // X = A:B
  a.clock({ ...x, a: 5n });
  assert.is(a.clock({ ...x, a: 6n }, { CEA2: 0 }).p, 5n << 18n);
  assert.is(a.clock({ ...x, a: 7n }, { RSTA: 1, CEA2: 1 }).p, 5n << 18n);
  assert.is(a.clock({ ...x, a: 8n }).p, 0n);
});

test('AREG=2: A passes A1 then A2; INMODE[0] takes A1 (one stage) for the multiplier, A:B always A2', () => {
  const dsp = new Dsp48e2(config({ AREG: 2, ACASCREG: 2 }));
  const mult = (a: bigint, inmode: number) => dsp.clock({ ...ZERO, a, b: 1n, inmode, opmode: 0x005 }).p;
  assert.equal([mult(3n, 0), mult(4n, 0), mult(5n, 0)], [0n, 0n, 3n]);
  assert.is(mult(6n, 1), 5n, 'A1 holds the A of the previous row');
  // AREG=1: A1 and A2 both load A; INMODE[0] picks A1, which CEA1=0 can hold apart from A2.
  const one = new Dsp48e2(config({ AREG: 1, ACASCREG: 1 }));
  one.clock({ ...ZERO, a: 3n });
  one.clock({ ...ZERO, a: 4n }, { CEA1: 0 });
  assert.is(one.clock({ ...ZERO, a: 9n, b: 1n, inmode: 1, opmode: 0x005 }, { CEA1: 0, CEA2: 0 }).p, 3n);
  assert.is(new Dsp48e2(config({ AREG: 1, ACASCREG: 1 })).clock({ ...ZERO, a: 4n, b: 1n, inmode: 0, opmode: 0x005 }).p, 0n);
});

test('RSTD clears D and AD; D and AD registers exist only with the multiplier', () => {
  const dsp = new Dsp48e2(config({ DREG: 1, ADREG: 1 }));
  const mac = (d: bigint, ctrl: SliceControls = {}) => dsp.clock({ ...ZERO, d, b: 1n, inmode: 0b00100, opmode: 0x005 }, ctrl).p;
  assert.equal([mac(7n), mac(8n), mac(9n)], [0n, 0n, 7n]);
  assert.is(mac(10n, { RSTD: 1, CED: 1, CEAD: 1 }), 8n, 'AD loaded 8 before this edge');
  assert.is(mac(11n), 0n, 'AD cleared');
  assert.is(mac(12n), 0n, 'D was cleared: AD loaded 0');
  assert.is(mac(13n), 11n);
  // USE_MULT=NONE: DREG/ADREG have no register to drive; the file's CE/RST levels change nothing.
  const none = new Dsp48e2(config({ DREG: 1, ADREG: 1, USE_MULT: 'NONE' }));
  assert.is(none.clock({ ...ZERO, ...ab(5n), opmode: 0x003 }, { RSTD: 1 }).p, 5n);
});

test('a reset OPMODE register selects W=X=Y=Z=0: P = CIN under 0000, -1 + CIN under 0001', () => {
  const dsp = new Dsp48e2(config({ OPMODEREG: 1 }));
  dsp.clock({ ...ZERO, opmode: 0x030, c: 5n }); // loads OPMODE Z=C
  assert.is(dsp.clock({ ...ZERO, opmode: 0x030, c: 5n }, { RSTCTRL: 1 }).p, 5n);
  assert.is(dsp.clock({ ...ZERO, opmode: 0x030, c: 5n, carryin: 1 }, { CECTRL: 0 }).p, 1n);
  assert.is(dsp.clock({ ...ZERO, opmode: 0x030, c: 5n, alumode: 1, carryin: 0 }, { CECTRL: 0 }).p, wrap(-1n, 48));
  assert.is(dsp.clock({ ...ZERO, opmode: 0x030, c: 5n, alumode: 1, carryin: 1 }, { CECTRL: 0 }).p, 0n);
  assert.is(dsp.clock({ ...ZERO, opmode: 0x030, c: 6n }).p, 0n, 'CECTRL=1 loads OPMODE again; it acts one clock later');
  assert.is(dsp.clock({ ...ZERO, opmode: 0x030, c: 7n }).p, 7n);
});

test('FOUR12: carries stop at every 12-bit lane boundary, CIN enters lane 0 only, CARRYOUT[k] is lane k', () => {
  const dsp = new Dsp48e2(config({ USE_SIMD: 'FOUR12', USE_MULT: 'NONE' }));
  const add = (x: bigint, c: bigint, carryin = 0, alumode = 0) => dsp.clock({ ...ZERO, ...ab(x), c, carryin, alumode, opmode: AB_PLUS_C });
  for (let lane = 0; lane < 4; lane++) {
    const sh = BigInt(12 * lane);
    const r = add(0xfffn << sh, 1n << sh); // lane maximum + 1 wraps to 0, carries out of the lane only
    assert.equal([r.p, r.carryout, r.carryoutKnown], [0n, 1 << lane, 0b1111], `lane ${lane}`);
    const s = add(0x7ffn << sh, 1n << sh); // signed overflow is no carry
    assert.equal([s.p, s.carryout], [0x800n << sh, 0], `lane ${lane} 7ff + 1`);
  }
  assert.equal(add(0xfffn | (0xfffn << 12n), 0n, 1), { p: 0xfff000n, carryout: 0b0001, carryoutKnown: 0b1111 });
  // Z − (X + Y) per lane (ALUMODE 0011): CARRYOUT = not borrow.
  const sub = dsp.clock({ ...ZERO, c: 0x001_002_003_004n, ...ab(0x001_003_002_000n), alumode: 0b0011, opmode: 0x033 }); // Z = C, X = A:B
  assert.equal([sub.p, sub.carryout], [0x000_fff_001_004n, 0b1011]); // lane 2 borrows
});

test('TWO24: lanes at bit 24, CARRYOUT[1] and [3] driven, [0] and [2] are x; ONE48 drives CARRYOUT[3] only', () => {
  const two = new Dsp48e2(config({ USE_SIMD: 'TWO24', USE_MULT: 'NONE' }));
  const r = two.clock({ ...ZERO, ...ab(0xffffff_ffffffn), c: 0x000001_000001n, opmode: AB_PLUS_C });
  assert.equal(r, { p: 0n, carryout: 0b1010, carryoutKnown: 0b1010 });
  const one = new Dsp48e2(GOLDEN_COMBINATIONAL);
  assert.equal(one.clock({ ...ZERO, ...ab(0xffffff_ffffffn), c: 1n, opmode: AB_PLUS_C }), { p: 0n, carryout: 0b1000, carryoutKnown: 0b1000 });
});

test('the fixture dsp-four12-lanes.csv (P and CARRYOUT computed by hand) replays', async () => {
  const path = join(ROOT, 'test/fixtures/dsp-four12-lanes.csv');
  const { config: cfg } = traceAttributes(path);
  const { summary } = await replayTraceFile(path, 10, { config: cfg, syncP: false });
  assert.equal(summary, { rows: 6, matches: 6, mismatches: 0 });
});

test('pattern detector: flags registered with P; OVERFLOW/UNDERFLOW from the previous load; RSTP clears them', () => {
  // PATTERN 0, MASK 3fff...: PD = P[47:46] == 00, PDB = P[47:46] == 11.
  const dsp = new Dsp48e2(config({ USE_PATTERN_DETECT: 'PATDET' }));
  const load = (p: bigint, ctrl: SliceControls = {}) => dsp.clock({ ...ZERO, c: p, opmode: 0x030 }, ctrl).flags;
  const f = (pd: number, pdb: number, ov: number, un: number) => ({ PATTERNDETECT: pd, PATTERNBDETECT: pdb, OVERFLOW: ov, UNDERFLOW: un });
  assert.equal(load(5n), f(1, 0, 0, 0));
  assert.equal(load(1n << 46n), f(0, 0, 1, 0), 'left the positive range: overflow');
  assert.equal(load(1n << 46n), f(0, 0, 0, 0), 'the previous load had no detect');
  assert.equal(load(wrap(-1n, 48)), f(0, 1, 0, 0));
  assert.equal(load(1n << 47n, { CEP: 0 }), f(0, 1, 0, 0), 'CEP=0 holds the flags');
  assert.equal(load(1n << 47n), f(0, 0, 0, 1), 'left the negative range: underflow');
  assert.equal(load(5n, { RSTP: 1 }), f(0, 0, 0, 0));
  // SEL_MASK=C: the C register/port is the mask.
  const c = new Dsp48e2(config({ USE_PATTERN_DETECT: 'PATDET', SEL_MASK: 'C', PATTERN: 0x10n }));
  assert.is(c.clock({ ...ZERO, c: 0xfn, ...ab(0x1an), opmode: 0x003 }).flags!.PATTERNDETECT, 1);
  assert.is(c.clock({ ...ZERO, c: 0xfn, ...ab(0x2an), opmode: 0x003 }).flags!.PATTERNDETECT, 0);
});

test('PREG=0: P is the ALU output in the same clock; OPMODEs that read P are refused', () => {
  const dsp = new Dsp48e2(config({ PREG: 0 }));
  assert.is(dsp.clock({ ...ZERO, c: 42n, opmode: 0x030 }).p, 42n);
  assert.throws(() => dsp.clock({ ...ZERO, opmode: 0x020 }), (e: unknown) => e instanceof InputError && /OPMODE 0x020: selects P, which needs PREG=1/.test(e.message));
});

test('stepSlice is the model with GOLDEN_COMBINATIONAL: same P on the raw golden trace and on random ports (every X/Y/Z/W)', () => {
  const rows = readTrace(join(GOLDEN_DIR, 'dsp48e2_raw_random.csv'));
  const dsp = new Dsp48e2(GOLDEN_COMBINATIONAL);
  for (const row of rows) {
    const want = stepSlice(row.ports, dsp.p);
    assert.is(dsp.clock(row.ports).p, want, `line ${row.line}`);
  }
  let seed = 12345;
  const rnd = (bits: number) => {
    let v = 0n;
    for (let i = 0; i < bits; i += 16) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      v = (v << 16n) | BigInt(seed >>> 16);
    }
    return wrap(v, bits);
  };
  const codes = [0x000, 0x005, 0x00f, 0x003, 0x00e, 0x0aa, 0x1ba, 0x0b3, 0x155, 0x1e5, 0x0d2, 0x162, 0x19b];
  const model = new Dsp48e2(GOLDEN_COMBINATIONAL);
  for (let i = 0; i < 3000; i++) {
    const ports: SlicePorts = {
      a: rnd(30), b: rnd(18), c: rnd(48), d: rnd(27), pcin: rnd(48), inmode: Number(rnd(3)) << 1, opmode: codes[i % codes.length]!,
      alumode: Number(rnd(2)), carryin: Number(rnd(1)),
    };
    const want = stepSlice(ports, model.p, { rnd: 0n });
    assert.is(model.clock(ports).p, want, `random ports #${i} ${JSON.stringify(ports, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
  }
});

test('11-column traces: no sidecar means stepSlice\'s configuration, and replay is unchanged', async () => {
  const raw = join(GOLDEN_DIR, 'dsp48e2_raw_random.csv');
  const attrs = traceAttributes(raw);
  assert.equal(attrs.sources, []);
  assert.equal(attrs.config, GOLDEN_COMBINATIONAL);
  const { summary } = await replayTraceFile(raw, 0);
  assert.equal(summary, { rows: 3000, matches: 3000, mismatches: 0 });
  const row = readTrace(raw)[0]!;
  assert.is(row.controls, undefined);
  assert.is(row.carryout, undefined);
});

// ---------------------------------------------------------------------------------------------
// attributes

test('attributes: unknown keys, bad values and unmodelled settings are InputErrors naming source and key', () => {
  const refuse = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof InputError && pattern.test(e.message));
  refuse(() => parseAttributeObject('s.json', { MREGG: 1 }), /^s\.json: MREGG: unknown DSP48E2 parameter/);
  refuse(() => parseAttributeObject('s.json', { MREG: 3 }), /^s\.json: MREG: must be one of 0, 1, got 3/);
  refuse(() => parseAttributeObject('s.json', { MREG: '1' }), /s\.json: MREG: must be one of 0, 1, got "1"/);
  refuse(() => parseAttributeObject('s.json', { USE_SIMD: 'ONE24' }), /USE_SIMD: must be one of "ONE48", "TWO24", "FOUR12"/);
  refuse(() => parseAttributeObject('s.json', { RND: '1000000000000' }), /RND: must be a string of 1 to 12 hex digits/);
  refuse(() => parseAttributeObject('s.json', { IS_OPMODE_INVERTED: '0000' }), /IS_OPMODE_INVERTED: must be a string of 9 binary digits/);
  refuse(() => parseAttributeObject('s.json', [1]), /s\.json: expected a JSON object/);
  refuse(() => parseAttributeAssignment('MREG'), /--attr "MREG": expected KEY=VALUE/);
  refuse(() => parseAttributeAssignment('MREG=2'), /^--attr: MREG: must be one of 0, 1, got "2"/);
  assert.equal(parseAttributeAssignment('RND=1ffff'), ['RND', 0x1ffffn]);
  assert.equal(parseAttributeAssignment('AREG=2'), ['AREG', 2]);
  const unmodelled = (patch: Partial<SliceConfig>, pattern: RegExp) => refuse(() => resolveSliceConfig(GOLDEN_COMBINATIONAL, [patch], ['x.json']), pattern);
  unmodelled({ USE_WIDEXOR: 'TRUE' }, /x\.json: USE_WIDEXOR: USE_WIDEXOR=TRUE: the wide XOR .* not modelled/);
  unmodelled({ AUTORESET_PATDET: 'RESET_MATCH' }, /AUTORESET_PATDET=RESET_MATCH: .*not modelled/);
  unmodelled({ AMULTSEL: 'A' }, /AMULTSEL=A: not modelled with a multiplier/);
  unmodelled({ USE_SIMD: 'FOUR12' }, /USE_SIMD=FOUR12: SIMD needs USE_MULT="NONE"/);
  unmodelled({ AREG: 1 }, /ACASCREG: ACASCREG=0: must be 1 with AREG=1/);
  unmodelled({ USE_PATTERN_DETECT: 'PATDET', PREG: 0 }, /USE_PATTERN_DETECT=PATDET: .*PREG=0/);
  // The unisim defaults are a legal, modelled configuration but for AMULTSEL="A".
  unmodelled({ ...UNISIM_DEFAULTS }, /AMULTSEL/);
  resolveSliceConfig(UNISIM_DEFAULTS, [{ AMULTSEL: 'AD' }], ['x']);
});

test('attributes: ports the configuration cannot use are refused naming the port', () => {
  const refuse = (cfg: Partial<SliceConfig>, ports: Partial<PipelinePorts>, pattern: RegExp) =>
    assert.throws(() => new Dsp48e2(config(cfg)).clock({ ...ZERO, ...ports }), (e: unknown) => e instanceof InputError && pattern.test(e.message));
  refuse({}, { inmode: 0b00001 }, /INMODE 00001: INMODE\[0\] selects the A1 register, which AREG=0 does not have/);
  refuse({ AREG: 1, ACASCREG: 1 }, { inmode: 0b10000 }, /INMODE 10000: INMODE\[4\] selects the B1 register/);
  refuse({ USE_MULT: 'NONE' }, { opmode: 0x005 }, /OPMODE 0x005: X=Y=M but USE_MULT="NONE"/);
  refuse({}, { alumode: 0b1100 }, /ALUMODE 1100: only the arithmetic ALUMODEs/);
  refuse({}, { carryinsel: 0b110 }, /CARRYINSEL 110: the multiplier sign .* not modelled/);
  refuse({}, { opmode: 0x045 }, /OPMODE 0x045: Z mux code 100/);
  // Inverted pins: IS_OPMODE_INVERTED flips the pins before the decoder.
  const inv = new Dsp48e2(config({ IS_OPMODE_INVERTED: 0x1ff ^ 0x030 }));
  assert.is(inv.clock({ ...ZERO, c: 3n, opmode: 0x1ff }).p, 3n);
});

// ---------------------------------------------------------------------------------------------
// trace format

const RAW_HEADER = 'cycle,A_hex,B_hex,C_hex,D_hex,PCIN_hex,INMODE_bin,OPMODE_hex,ALUMODE_bin,CARRYIN,P_hex';

function traceError(text: string, cfg: SliceConfig = GOLDEN_COMBINATIONAL): TraceFormatError {
  const path = join(tmp, 'bad.csv');
  writeFileSync(path, text);
  try {
    readTrace(path, cfg);
  } catch (e) {
    assert.instance(e, TraceFormatError);
    return e as TraceFormatError;
  }
  throw new Error('accepted');
}

test('trace: bad CARRYOUT_bin, unknown control column, stage ordering: line and column named', () => {
  const row = (cycle: number, extra: string) => `${cycle},00000000,00000,000000000000,0000000,000000000000,00000,000,0000,0,000000000000,${extra}`;
  let e = traceError(`${RAW_HEADER},CEP,CARRYOUT_bin\n${row(0, '1,0xxx')}\n${row(1, '1,0x2x')}\n`);
  assert.equal([e.line, e.column], [3, 13]);
  assert.match(e.message, /CARRYOUT_bin: "0x2x" is not 4 characters of 0, 1 or x/);
  e = traceError(`${RAW_HEADER},CEPP\n${row(0, '1')}\n`);
  assert.equal([e.line, e.column], [1, 12]);
  assert.match(e.message, /unknown column CEPP/);
  e = traceError(`${RAW_HEADER},CEP\n${row(0, '2')}\n`);
  assert.match(e.message, /line 2, column 12: CEP: "2" is not binary|CEP: 2 is wider than the 1-bit port/);
  const staged = (pairs: Array<[number, number]>) => `${RAW_HEADER},stage\n${pairs.map(([c, s]) => row(c, String(s))).join('\n')}\n`;
  e = traceError(staged([[0, 0], [0, 1], [0, 2], [1, 0], [1, 2]]));
  assert.equal([e.line, e.column], [6, 12]);
  assert.match(e.message, /stage: expected 1 \(rows ordered by cycle, then stage, 3 stages per clock\), found 2/);
  e = traceError(staged([[0, 0], [0, 1], [1, 2]]));
  assert.equal([e.line, e.column], [4, 1]);
  assert.match(e.message, /cycle: expected 0 .*found 1/);
  e = traceError(staged([[0, 0], [0, 1], [1, 0]]));
  assert.match(e.message, /last clock \(cycle 1\) has stages 0\.\.0, not all 2/);
  e = traceError(staged([[0, 1]]));
  assert.match(e.message, /line 2, column 12: stage: expected 0/);
  // With the pattern-detect columns but NO_PATDET the replay refuses rather than ignoring them.
  const flags = readTrace(golden('pipe_allreg_patdet'), traceAttributes(golden('pipe_allreg_patdet')).config).slice(0, 2);
  const noPatdet: SliceConfig = { ...traceAttributes(golden('pipe_allreg_patdet')).config, USE_PATTERN_DETECT: 'NO_PATDET' };
  assert.throws(() => replayTrace(flags, { config: noPatdet }, 'f.csv'), (x: unknown) => x instanceof TraceFormatError && /NO_PATDET/.test(x.message));
});

test('trace: a cascade whose PCIN column disagrees with the chain is a mismatch in column PCIN_hex', async () => {
  const target = 30 * 16 + 5; // cycle 30, stage 5
  const path = copyTrace('cascade16_m1p1', 'pcin-altered', (f, n, cols) => (n === target + 2 ? f.map((v, i) => (cols[i] === 'PCIN_hex' ? toHex48(BigInt(`0x${v}`) ^ 1n) : v)) : f));
  const { summary, mismatches } = await replayTraceFile(path, 10, { config: traceAttributes(path).config });
  assert.is(summary.mismatches, 1);
  const m = mismatches[0]!;
  assert.equal([m.row.line, m.row.cycle, m.row.stage, m.diffs.map((d) => d.column)], [target + 2, 30n, 5, ['PCIN_hex']]);
});

// ---------------------------------------------------------------------------------------------
// CLI

function fkb(...args: string[]) {
  const res = spawnSync(process.execPath, ['bin/fkb.js', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test('cli: the cascade replays as a chain with its sidecar (exit 0), --json as before plus attributes and stages', () => {
  const r = fkb('dsp', 'replay', golden('cascade16_m1p1'), '--json');
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(Object.keys(j), ['file', 'rows', 'matches', 'mismatches', 'attributes', 'stages', 'listed']);
  assert.equal([j.rows, j.matches, j.mismatches, j.stages], [2720, 2720, 0, 16]);
});

test('cli: --attr overriding the sidecar gives mismatches (exit 1) listing line, cycle, column, got and want', () => {
  const r = fkb('dsp', 'replay', golden('pipe_a1b1m1p1'), '--attr', 'MREG=0', '--max-mismatches', '2');
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stdout, /rows match \(attributes: .*pipe_a1b1m1p1_trace\.csv\.attrs\.json \+ --attr\)/);
  assert.match(r.stdout, /cycle \d+ \(line \d+\): P_hex got [0-9a-f]{12} want [0-9a-f]{12}/);
  assert.match(r.stderr, /rows differ/);
  const j = fkb('dsp', 'replay', golden('simd_two24'), '--attr', 'USE_SIMD=ONE48', '--json', '--max-mismatches', '1');
  assert.is(j.status, 1);
  const listed = (JSON.parse(j.stdout) as { listed: Array<{ line: number; columns: Array<{ column: string }>; ports: Record<string, string> }> }).listed;
  assert.ok(listed[0]!.columns.some((c) => c.column === 'CARRYOUT_bin'));
  assert.is(listed[0]!.ports.CEP, '1');
});

test('cli: bad sidecar, bad --attr, missing column, stage order: exit 2 naming file, key, line or column', () => {
  const trace = copyTrace('simd_two24', 'bad-sidecar');
  writeFileSync(`${trace}.attrs.json`, '{"USE_SIMD": "TWO24", ');
  let r = fkb('dsp', 'replay', trace);
  assert.is(r.status, 2);
  assert.match(r.stderr, /bad-sidecar\.csv\.attrs\.json: not valid JSON/);
  writeFileSync(`${trace}.attrs.json`, '{"USE_SIMD": "TWO24", "USE_MULT": "NONE", "PREG": 1, "CREGG": 1}');
  r = fkb('dsp', 'replay', trace, '--attr', 'USE_WIDEXOR=TRUE');
  assert.is(r.status, 2);
  assert.match(r.stderr, /bad-sidecar\.csv\.attrs\.json: CREGG: unknown DSP48E2 parameter/);
  r = fkb('dsp', 'replay', golden('simd_two24'), '--attr', 'USE_WIDEXOR=TRUE');
  assert.is(r.status, 2);
  assert.match(r.stderr, /simd_two24_trace\.csv\.attrs\.json \+ --attr: USE_WIDEXOR: USE_WIDEXOR=TRUE: the wide XOR/);
  const noCol = copyTrace('pipe_packedmac', 'no-inmode', (f, _n, cols) => f.filter((_v, i) => cols[i] !== 'INMODE_bin'));
  writeFileSync(noCol, readFileSync(noCol, 'utf8').replace('INMODE_bin,', ''));
  r = fkb('dsp', 'replay', noCol);
  assert.is(r.status, 2);
  assert.match(r.stderr, /no-inmode\.csv: line 1: header has no column INMODE_bin/);
  const swapped = copyTrace('cascade16_m1p1', 'stage-swapped', (f, n, cols) => (n === 50 ? f.map((v, i) => (cols[i] === 'stage' ? '9' : v)) : f));
  r = fkb('dsp', 'replay', swapped);
  assert.is(r.status, 2);
  assert.match(r.stderr, /stage-swapped\.csv: line 50, column 36: stage: expected 0 \(rows ordered by cycle, then stage, 16 stages per clock\), found 9/);
});

test.after(() => {
  rmSync(tmp, { recursive: true, force: true });
  console.log('golden traces reproduced:', reproduced);
});

test.run();

/**
 * `fkb cosim --overpack`: the overpacking RTL (rtl/overpack_unit.v: pack -> the behavioural
 * DSP48E2 slice -> decode with the MR correction computed in the fabric) against
 * harness/dsp/overpack.ts, lane by lane in every decode mode, and its error statistics against
 * overpackStats (harness/exactness/overpack-stats.ts).
 *
 * Every layout of OVERPACK_CONFIGS x every decode on seeded random + boundary tuples (Verilator),
 * one layout exhaustively (and its figures against the paper's Table II), Icarus agreeing, two
 * decode mutants (test/fixtures/rtl/overpack_decode_mutant_*.v) caught at the first vector and
 * lane the slice model says they must fail, and the command line's exit codes.
 *
 * Builds are cached in .cache/cosim (cold: 12 Verilator models of ~4 s each on this machine).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  OVERPACK_LATENCY, type OverpackCosimReport, overpackModes, overpackStream, runOverpackCosim, streamTuple,
} from '../harness/cosim/overpack-cosim.ts';
import { type DecodeMode, OVERPACK_NAMES, getOverpack, mrCorrections, overpackP } from '../harness/dsp/overpack.ts';
import { PAPER_TABLE_II } from '../harness/exactness/overpack-stats.ts';
import { overpackCorrectionCosts } from '../harness/cosim/overpack-synth.ts';

const root = join(import.meta.dirname, '..');
const FIXTURES = join(root, 'test', 'fixtures', 'rtl');
const counts = { runs: 0, laneResults: 0 };

function check(r: OverpackCosimReport, what: string): void {
  assert.ok(r.equal, `${what}: ${r.mismatches} mismatches, first ${JSON.stringify(r.firstMismatch)}; stats ${r.modes.map((m) => `${m.mode}=${m.statsEqual}`).join(' ')}`);
  assert.is(r.mismatches, 0, what);
  for (const m of r.modes) assert.is(m.statsEqual, true, `${what} ${m.mode}: RTL statistics differ from overpackStats`);
  counts.runs++;
  counts.laneResults += r.laneResults;
}

test('every layout x every decode: random + boundary tuples, RTL == decodeOverpacked, statistics == overpackStats (Verilator)', () => {
  assert.is(OVERPACK_NAMES.length, 10);
  for (const [i, layout] of OVERPACK_NAMES.entries()) {
    const r = runOverpackCosim({ layout, sim: 'verilator', vectors: 300, seed: i + 1 });
    check(r, layout);
    const l = getOverpack(layout);
    assert.equal(r.modes.map((m) => m.mode), overpackModes(l));
    assert.is(r.modes.length, 6, `${layout}: all six decodes (unsigned activations)`);
    assert.is(r.randomVectors, 300);
    assert.ok(r.boundaryVectors >= 400, `${layout}: ${r.boundaryVectors} boundary tuples`);
    assert.is(r.laneResults, r.vectors * l.lanes.length * 6);
    assert.is(r.latency, OVERPACK_LATENCY);
    // the exact decode is a check: it never errs; MR bounds the error as the paper says
    assert.is(r.modes.find((m) => m.mode === 'exact')!.errorCount, 0, layout);
    if (l.delta >= 0) assert.is(r.modes.find((m) => m.mode === 'round')!.errorCount, 0, `${layout}: full correction is exact at δ >= 0`);
  }
});

test('int4-2x2-d1 exhaustively (65,536 tuples): 0 mismatches, and the RTL\'s own error figures reproduce the paper\'s Table II rows', () => {
  const r = runOverpackCosim({ layout: 'int4-2x2-d1', sim: 'verilator', exhaustive: true });
  check(r, 'int4-2x2-d1 exhaustive');
  assert.ok(r.exhaustive && r.vectors === 65536 && r.statsVectors === 65536);
  assert.ok(r.simulations >= 2, 'the stream spans more than one testbench memory');
  const rows = PAPER_TABLE_II.filter((x) => x.config === 'int4-2x2-d1');
  assert.is(rows.length, 2);
  for (const row of rows) {
    const m = r.modes.find((x) => x.mode === row.mode)!;
    const results = r.statsVectors * r.lanes;
    const ep = (100 * m.errorCount) / results;
    const mae = m.lanes.reduce((s, x) => s + x.sumAbsError, 0) / results;
    assert.is(m.maxAbsError, row.wce, `${row.row}: WCE`);
    assert.ok(Math.abs(ep - row.ep) < 0.01, `${row.row}: EP ${ep} vs ${row.ep}`);
    assert.ok(Math.abs(mae - row.mae) < 0.01, `${row.row}: MAE ${mae} vs ${row.mae}`);
  }
});

test('Icarus agrees with Verilator (int2-2x6-d1, 12 lanes)', () => {
  const i = runOverpackCosim({ layout: 'int2-2x6-d1', sim: 'icarus', vectors: 100, seed: 5, boundary: 64 });
  check(i, 'icarus');
  const v = runOverpackCosim({ layout: 'int2-2x6-d1', sim: 'verilator', vectors: 100, seed: 5, boundary: 64 });
  assert.equal(i.modes.map((m) => m.lanes), v.modes.map((m) => m.lanes));
});

// ---- mutants ---------------------------------------------------------------------------------

type Mutant = 'round' | 'no_mr';

/** Where a mutant must first fail, from the slice model alone: vector, mode, lane. */
function expectedFirst(layout: string, vectors: number, seed: number, mutant: Mutant): { vector: number; mode: DecodeMode; lane: number } | undefined {
  const l = getOverpack(layout);
  const s = overpackStream(l, false, vectors, seed);
  const K = l.lanes.length;
  for (let t = 0; t < s.count; t++) {
    const { w, a } = streamTuple(l, s, t);
    if (mutant === 'no_mr') {
      if (mrCorrections(l, w, a)[K - 2] !== 0n) return { vector: t, mode: 'mr', lane: K - 2 };
      continue;
    }
    const p = overpackP(l, w, a);
    const bit = (i: number) => (p >> BigInt(i)) & 1n;
    for (let k = 1; k < K; k++) if (bit(k * l.spacing - 1) !== bit(k * l.spacing - 2)) return { vector: t, mode: 'round', lane: k };
  }
  return undefined;
}

test('decode mutants (round bit one place too low; lane K-2\'s MR correction dropped) are caught at the first wrong vector, mode and lane', () => {
  let caught = 0;
  for (const [mutant, layout] of [['round', 'int4-2x3-d1'], ['no_mr', 'int8-2x2-d7']] as [Mutant, string][]) {
    for (const seed of [1, 2, 3]) {
      const where = `${mutant} ${layout} seed ${seed}`;
      const want = expectedFirst(layout, 200, seed, mutant);
      assert.ok(want, `${where}: the stimulus never exercises the fault`);
      const r = runOverpackCosim({ layout, sim: 'verilator', vectors: 200, seed, decodeFile: join(FIXTURES, `overpack_decode_mutant_${mutant}.v`) });
      assert.ok(!r.equal && r.firstMismatch, `${where}: not caught`);
      const m = r.firstMismatch!;
      assert.is(m.kind, 'value', where);
      assert.is(m.vector, want!.vector, `${where}: first vector`);
      assert.is(m.mode, want!.mode, `${where}: first mode`);
      assert.is(m.lane, want!.lane, `${where}: first lane`);
      assert.is(m.cycle, m.inCycle + OVERPACK_LATENCY, `${where}: result cycle`);
      assert.is(m.pGot, m.pWant, `${where}: P is right, the decode is not`);
      const hit = r.modes.filter((x) => x.mismatches > 0).map((x) => x.mode);
      assert.equal(hit, mutant === 'round' ? ['round', 'mr-round'] : ['mr', 'mr-round', 'exact'], where);
      caught++;
    }
  }
  assert.is(caught, 6);
});

test('Yosys: the naive decode is wiring; MR costs LUTs and the c_k delay (DSP latency x (K-1) x d FFs)', () => {
  const [naive, mr] = overpackCorrectionCosts('int4-2x2-d2', ['naive', 'mr']);
  assert.equal([naive!.lut, naive!.ff, naive!.carry], [0, 0, 0]);
  assert.is(mr!.ff, 4 * 3 * 2);
  assert.ok(mr!.lut > 0 && mr!.lut <= 3 * 8, `${mr!.lut} LUTs for three 2x2-bit products`);
});

// ---- the command line ------------------------------------------------------------------------

function fkb(args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin', 'fkb.js'), 'cosim', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
}

test('fkb cosim --overpack: exit 0 equal, 1 with the first mismatch named, 2 bad input', () => {
  const ok = fkb(['--overpack', 'int4-2x2-d2', '--decode', 'mr,mr-round', '--vectors', '100', '--json']);
  assert.is(ok.status, 0, ok.stderr + ok.stdout);
  const r = JSON.parse(ok.stdout) as OverpackCosimReport;
  assert.ok(r.equal && r.modes.length === 2 && r.modes.every((m) => m.statsEqual));

  const bad = fkb(['--overpack', 'int4-2x3-d1', '--decode', 'round', '--vectors', '200', '--rtl', join(FIXTURES, 'overpack_decode_mutant_round.v')]);
  assert.is(bad.status, 1, bad.stderr + bad.stdout);
  const want = expectedFirst('int4-2x3-d1', 200, 1, 'round')!;
  assert.match(bad.stdout, new RegExp(`first mismatch: vector ${want.vector} \\(random, presented in cycle \\d+, result in cycle \\d+\\) w=\\[-?\\d+,-?\\d+\\] a=\\[\\d+,\\d+,\\d+\\]: round lane ${want.lane} \\(w\\d\\*a\\d\\) got -?\\d+ want -?\\d+; P got 0x[0-9a-f]{12} want 0x[0-9a-f]{12}`));
  assert.match(bad.stderr, /differs from decodeOverpacked/);

  for (const [args, re] of [
    [['--overpack', 'int5-2x2'], /unknown overpack config 'int5-2x2'/],
    [['--overpack', 'int4-2x2-d1', '--exhaustive', '--vectors', '10'], /--vectors does not apply/],
  ] as [string[], RegExp][]) {
    const r = fkb(args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test.after(() => console.log(`cosim-overpack: ${counts.runs} runs, ${counts.laneResults} lane results compared`));
test.run();

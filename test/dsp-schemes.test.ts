/**
 * The packing schemes of harness/dsp/schemes.ts, exhaustively and at their bounds:
 *
 * - the WebAssembly datapath (assembly/dsp/exhaustive.ts) equals the BigInt slice model on
 *   boundary and seeded operands, and the golden single-multiply rows;
 * - every operand tuple of one packed multiply decodes exactly (2^24 INT8, 2^16 INT4), and the
 *   naive INT4 decode is wrong exactly as often as the golden file says;
 * - the bound found by enumerating worst-case chains through stepSlice equals accumulationBound,
 *   one product more corrupts the decode as the golden README describes, and random chains of
 *   `bound` products decode exactly;
 * - bad operands and scheme names are InputErrors; the CLI subcommands.
 *
 * Replay another seed with DSP_TEST_SEED=<n>.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chainReport, decodeChain, emptyChain, findBound, stepChain, type ChainState,
} from '../harness/dsp/bounds.ts';
import {
  checkDatapath, formatFirstMismatch, goldenInt4NaiveMismatches, int4NaiveExhaustive,
  sampleTuples, verifyExhaustive, wasmDecode, wasmPackedP, type ExhaustiveResult,
} from '../harness/exactness/datapath.ts';
import { formatOperands, laneName } from '../harness/dsp/operand-names.ts';
import {
  accumulationBound, decodeInt4Naive, decodeLanes, getScheme, SCHEME_NAMES, SCHEMES,
} from '../harness/dsp/schemes.ts';
import { stepSlice, toHex48 } from '../harness/dsp/slice.ts';
import { InputError } from '../harness/util/errors.ts';
import { Rng } from '../harness/util/rng.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SEED = Number(process.env['DSP_TEST_SEED'] ?? 0xd5948);
const ALL = Object.values(SCHEMES);

/** Printed at the end: per scheme, the exhaustive timings and the bounds. */
const summary: Record<string, string> = {};

/** Collects disagreements and fails once with the first few. */
function expectNone(what: string, list: string[]): void {
  assert.ok(list.length === 0, `${list.length} ${what}:\n${list.slice(0, 12).join('\n')}`);
}

// ---------------------------------------------------------------------------------------------
// the WebAssembly datapath against the slice model

test('datapath: WebAssembly P and lane decode equal stepSlice/decodeLanes on boundary + seeded operands', () => {
  for (const s of ALL) {
    const tuples = sampleTuples(s, 1000, SEED);
    const bad: string[] = [];
    for (const { w, a } of tuples) {
      const want = stepSlice(s.ports(w, a, 'first'), 0n);
      const got = wasmPackedP(s, w, a);
      const where = `${s.name} ${formatOperands(s, w, a)} (seed ${SEED})`;
      if (got !== want) bad.push(`${where}: P got ${toHex48(got)}, want ${toHex48(want)}`);
      const lanes = wasmDecode(s, got);
      decodeLanes(s, want).forEach((v, i) => {
        if (lanes[i] !== v) bad.push(`${where}: lane ${laneName(s, i)} got ${lanes[i]}, want ${v}`);
      });
      if (s.name === 'int4') {
        const naive = wasmDecode(s, got, 'naive');
        decodeInt4Naive(want).forEach((v, i) => {
          if (naive[i] !== v) bad.push(`${where}: naive lane ${laneName(s, i)} got ${naive[i]}, want ${v}`);
        });
      }
    }
    expectNone(`${s.name} tuples differ`, bad);
    // 1000 random tuples plus every combination of boundary values (min, min+1, -1, 0, 1, max-1, max).
    assert.ok(tuples.length >= 1100, `${s.name}: only ${tuples.length} tuples sampled`);
    const extremes = [s.weightRange[0], s.weightRange[1]];
    assert.ok(tuples.some((t) => t.w.every((v) => v === extremes[0])) && tuples.some((t) => t.w.every((v) => v === extremes[1])), `${s.name}: extremes not sampled`);
  }
});

test('datapath: checkDatapath passes, incl. every row of int4_wp521_single.csv and the single-multiply golden rows', () => {
  const r = checkDatapath({ seed: SEED, random: 500 });
  assert.is(r.golden['int4_wp521_single.csv'], 65536);
  assert.ok((r.golden['uint8_wp487_acc.csv'] ?? 0) > 100, JSON.stringify(r.golden));
  assert.ok((r.golden['int8_pack_acc.csv'] ?? 0) > 100, JSON.stringify(r.golden));
  for (const name of SCHEME_NAMES) assert.ok(r.sampled[name] > 500, `${name}: ${r.sampled[name]} sampled`);
});

// ---------------------------------------------------------------------------------------------
// exhaustive

const FULL: Record<string, number> = { int8x8: 2 ** 24, int8xu8: 2 ** 24, wp487u8: 2 ** 24, int4: 2 ** 16 };

for (const s of ALL) {
  test(`exhaustive ${s.name}: all ${FULL[s.name]} operand tuples of one packed multiply decode exactly`, () => {
    const r = verifyExhaustive(s);
    assert.is(r.scheme, s.name);
    assert.is(r.cases, FULL[s.name], `${s.name}: enumerated ${r.cases} tuples`);
    assert.is(r.mismatches, 0, `${s.name}: ${r.mismatches} tuples decode wrongly, first ${formatFirstMismatch(r)}`);
    summary[`exhaustive ${s.name}`] = `${r.cases} cases, ${r.mismatches} mismatches, ${r.ms.toFixed(1)} ms`;
  });
}

test('exhaustive int4, naive decode: as many wrong multiplies as the golden file, first one reproduced by the slice model', () => {
  const r: ExhaustiveResult = int4NaiveExhaustive();
  const golden = goldenInt4NaiveMismatches();
  assert.is(golden, 48000, 'int4_wp521_single.csv: rows whose naive_* column differs from exp_*');
  assert.is(r.cases, 65536);
  assert.is(r.mismatches, golden, `int4 naive: got ${r.mismatches} wrong multiplies, want ${golden} (golden file)`);
  // The loop really ran and reports a real case: recompute it with the BigInt model.
  const f = r.first!;
  const p = stepSlice(SCHEMES.int4.ports(f.w, f.a, 'first'), 0n);
  const lane = SCHEMES.int4.lanes[f.lane]!;
  assert.is(toHex48(p), f.p, `int4 ${formatOperands(SCHEMES.int4, f.w, f.a)}: P`);
  assert.is(decodeInt4Naive(p)[f.lane], BigInt(f.got), `int4 ${formatOperands(SCHEMES.int4, f.w, f.a)} naive lane ${f.laneName}`);
  assert.is(f.w[lane.w]! * f.a[lane.a]!, f.want);
  assert.is.not(f.got, f.want);
  summary['exhaustive int4 naive'] = `${r.mismatches} of ${r.cases} wrong (golden ${golden}), ${r.ms.toFixed(1)} ms`;
});

// ---------------------------------------------------------------------------------------------
// bounds

for (const s of ALL) {
  test(`bound ${s.name}: enumeration through stepSlice (P and PCIN cascade) == accumulationBound`, () => {
    const b = findBound(s);
    assert.is(b.bound, accumulationBound(s), `${s.name}: enumerated bound ${b.bound}, formula ${accumulationBound(s)}`);
    assert.ok(b.failing.length > 0 && b.failing.every((f) => f.n === b.bound + 1), `${s.name}: failing chains`);
    summary[`bound ${s.name}`] = `${b.bound} (${b.chainsPerN} worst-case chains per N, ${b.clocks} clocks)`;
  });

  test(`bound ${s.name}: at N = bound + 1 P stays exact and the decode moves k*2^width into the next lane`, () => {
    const { bound, failing } = findBound(s);
    for (const f of failing) {
      const d = f.decode;
      const where = `${s.name} ${f.n} x (${formatOperands(s, f.w, f.a)})`;
      assert.ok(d.pExact, `${where}: P ${d.p} is not the exact packed sum`);
      assert.ok(d.carries !== null, `${where}: got ${d.got} vs exact ${d.exact} is not a k*2^width move`);
      const k = d.carries!;
      assert.ok(k.some((x) => x !== 0n), `${where}: no carry`);
      s.lanes.forEach((l, i) => {
        const kIn = i > 0 ? k[i - 1]! : 0n;
        assert.is(d.got[i], d.exact[i]! - (k[i]! << BigInt(l.width)) + kIn, `${where}: lane ${laneName(s, i)}: got ${d.got[i]}, want ${d.exact[i]} - ${k[i]}*2^${l.width} + ${kIn}`);
      });
    }
    const r = chainReport(s, bound + 1);
    assert.not.ok(r.safe, `${s.name}: chains of ${bound + 1} reported safe`);
    assert.ok(r.worst.overflow > 0, `${s.name}: worst overflow ${r.worst.overflow}`);
    assert.ok(r.corruption && !r.corruption.decode.ok && r.corruption.decode.pExact, `${s.name}: corruption`);
    const atBound = chainReport(s, bound);
    assert.ok(atBound.safe && atBound.corrupted === 0 && atBound.worst.overflow <= 0 && !atBound.corruption, `${s.name}: chains of ${bound}`);
  });
}

test('bound int8x8: 8 x (w1=-128, w2=-128, a=-128) gives lo = S2 - k*2^18, hi = S1 + k with k = 1 (golden README)', () => {
  const s = SCHEMES.int8x8;
  const r = chainReport(s, 8);
  const c = r.corruption!;
  assert.equal([c.w, c.a], [[-128, -128], [-128]]);
  const [s2, s1] = c.decode.exact as [bigint, bigint]; // lane 0 = w2*a (lo), lane 1 = w1*a (hi)
  const [lo, hi] = c.decode.got as [bigint, bigint];
  const k = 1n;
  assert.is(s2, 8n * 16384n);
  assert.is(lo, s2 - k * 2n ** 18n, `int8x8 lo: got ${lo}, want ${s2 - k * 2n ** 18n}`);
  assert.is(hi, s1 + k, `int8x8 hi: got ${hi}, want ${s1 + k}`);
  assert.is(r.worst.name, 'w2*a');
  assert.is(r.worst.overflow, 1); // 8 * 16384 = 2^17, one past 2^17 - 1
  // The same chain as a PCOUT -> PCIN cascade of 8 slices: same P.
  let cascade: ChainState = emptyChain(s);
  for (let i = 0; i < 8; i++) cascade = stepChain(s, cascade, { w: c.w, a: c.a }, 'PCIN');
  assert.is(decodeChain(s, cascade).p, c.decode.p);
});

test('random chains of `bound` products decode exactly, accumulated in P and as a cascade (seeded)', () => {
  const rng = new Rng(SEED);
  for (const s of ALL) {
    const bound = accumulationBound(s);
    const bad: string[] = [];
    // Half the operands at a range end, so sums come close to the lane edges.
    const pickIn = (r: readonly [number, number]) => (rng.next() < 0.5 ? rng.pick(r) : rng.int(r[0], r[1]));
    for (let c = 0; c < 150; c++) {
      let inP = emptyChain(s);
      let cascade = emptyChain(s);
      const steps: string[] = [];
      for (let i = 0; i < bound; i++) {
        const ops = { w: Array.from({ length: s.weights }, () => pickIn(s.weightRange)), a: Array.from({ length: s.activations }, () => pickIn(s.activationRange)) };
        steps.push(formatOperands(s, ops.w, ops.a));
        inP = stepChain(s, inP, ops, 'P');
        cascade = stepChain(s, cascade, ops, 'PCIN');
      }
      const d = decodeChain(s, inP);
      if (!d.ok || !d.pExact || cascade.p !== inP.p) {
        bad.push(`${s.name} seed ${SEED} chain ${c} [${steps.join(' | ')}]: lanes got ${d.got}, want ${d.exact}; P ${d.p}, cascade ${toHex48(cascade.p)}`);
      }
    }
    expectNone(`${s.name} random chains of ${bound} decode wrongly (DSP_TEST_SEED=${SEED})`, bad);
  }
});

// ---------------------------------------------------------------------------------------------
// input errors

function throwsInput(fn: () => unknown, pattern: RegExp, what: string): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, InputError, `${what}: not an InputError: ${String(err)}`);
    assert.match((err as Error).message, pattern, what);
    return;
  }
  assert.unreachable(`${what}: accepted`);
}

for (const s of ALL) {
  test(`ports ${s.name}: out-of-range operands are InputErrors naming the scheme and operand`, () => {
    const w = Array<number>(s.weights).fill(0);
    const a = Array<number>(s.activations).fill(0);
    const [wLo, wHi] = s.weightRange;
    const [aLo, aHi] = s.activationRange;
    for (const v of [wLo - 1, wHi + 1, 0.5]) {
      throwsInput(() => s.ports([...w.slice(1), v], a, 'first'), new RegExp(`^${s.name}: weight ${v} is outside \\[${wLo}, ${wHi}\\]`), `${s.name} weight ${v}`);
    }
    for (const v of [aLo - 1, aHi + 1, 2.5]) {
      throwsInput(() => s.ports(w, [v, ...a.slice(1)], 'P'), new RegExp(`^${s.name}: activation ${v} is outside \\[${aLo}, ${aHi}\\]`), `${s.name} activation ${v}`);
    }
    throwsInput(() => s.ports([...w, 0], a, 'first'), new RegExp(`^${s.name}: takes ${s.weights} weight`), `${s.name} operand count`);
    throwsInput(() => wasmPackedP(s, [...w.slice(1), wHi + 1], a), new RegExp(`^${s.name}: weight`), `${s.name} wasmPackedP`);
  });
}

test('unknown scheme names are InputErrors', () => {
  throwsInput(() => getScheme('int9'), /unknown packing scheme 'int9' \(one of int8x8, int8xu8, wp487u8, int4\)/, 'getScheme');
  throwsInput(() => verifyExhaustive('uint8'), /unknown packing scheme 'uint8'/, 'verifyExhaustive');
  // Names of Object.prototype members too (getScheme alone would return Object.prototype.toString).
  throwsInput(() => getScheme('toString'), /unknown packing scheme 'toString'/, 'getScheme(toString)');
  throwsInput(() => verifyExhaustive('constructor'), /unknown packing scheme 'constructor'/, 'verifyExhaustive(constructor)');
});

// ---------------------------------------------------------------------------------------------
// CLI

function fkb(...args: string[]) {
  const res = spawnSync(process.execPath, ['bin/fkb.js', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The same, without blocking: independent invocations run side by side. */
function fkbAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/fkb.js', ...args], { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

test('cli: dsp exhaustive --scheme int4 --json reports cases, mismatches and the naive count', () => {
  const r = fkb('dsp', 'exhaustive', '--scheme', 'int4', '--json');
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { results: ExhaustiveResult[]; int4Naive: ExhaustiveResult & { golden: number } };
  assert.equal(j.results.map((x) => [x.scheme, x.cases, x.mismatches]), [['int4', 65536, 0]]);
  assert.is(j.int4Naive.mismatches, 48000);
  assert.is(j.int4Naive.golden, 48000);
  const t = fkb('dsp', 'exhaustive', '--scheme', 'int8xu8');
  assert.is(t.status, 0, t.stderr);
  assert.match(t.stdout, /int8xu8\s+corrected\s+16777216\s+0\s+[0-9.]+ ms/);
});

test('cli: dsp bound prints every bound; --chain reports safety, overflow and corruption', () => {
  const all = fkb('dsp', 'bound');
  assert.is(all.status, 0, all.stderr);
  for (const s of ALL) assert.match(all.stdout, new RegExp(`${s.name}\\s+${accumulationBound(s)}\\s+${accumulationBound(s)}\\s`));
  const r = fkb('dsp', 'bound', '--scheme', 'int8x8', '--chain', '8');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'int8x8, chains of 8 products: UNSAFE (bound 7)');
  assert.match(r.stdout, 'overflows by 1');
  assert.match(r.stdout, 'w2*a got -131072 want 131072 (k=1 out); w1*a got 131073 want 131072');
  const j = fkb('dsp', 'bound', '--scheme', 'int4', '--chain', '8', '--json');
  assert.is(j.status, 0, j.stderr);
  const report = JSON.parse(j.stdout) as Array<{ scheme: string; bound: number; chain: { safe: boolean; length: number } }>;
  assert.equal(report.map((x) => [x.scheme, x.bound, x.chain.length, x.chain.safe]), [['int4', 8, 8, true]]);
});

test('cli: bad --scheme and --chain values exit 2 naming the option', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['exhaustive', '--scheme', 'int9'], /--scheme: unknown packing scheme 'int9'/],
    [['bound', '--scheme', 'nope'], /--scheme: unknown packing scheme 'nope'/],
    [['bound', '--scheme', 'toString'], /--scheme: unknown packing scheme 'toString'/],
    [['bound', '--chain', '0'], /--chain must be an integer in \[1, 4096\].*'0'/],
    [['bound', '--chain', '2.5'], /--chain must be an integer.*'2.5'/],
    [['bound', '--chain', 'x'], /--chain must be an integer.*'x'/],
    [['bound', '--chain', '-3'], /--chain/],
  ];
  const runs = await Promise.all(cases.map(([args]) => fkbAsync('dsp', ...args)));
  cases.forEach(([args, pattern], i) => {
    const r = runs[i]!;
    assert.is(r.status, 2, `fkb dsp ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, pattern, `fkb dsp ${args.join(' ')}`);
  });
  const help = fkb('dsp', 'bound', '--help');
  assert.is(help.status, 0);
  assert.match(help.stdout, 'fkb dsp bound --scheme int8x8 --chain 8');
});

test.after(() => {
  console.log('dsp schemes:', summary);
});

test.run();

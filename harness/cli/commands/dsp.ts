/**
 * `fkb dsp replay <trace.csv> [--attrs f.json] [--attr K=V]...`: replays a port-level DSP48E2
 * trace (pipelined, SIMD, cascaded) through the register-accurate slice model with the
 * parameters of its `.attrs.json` sidecar and the options, and compares P, CARRYOUT and the
 * pattern flags row by row. Exit 0 all rows match, 1 some differ, 2 malformed file or attributes.
 *
 * `fkb dsp exhaustive [--scheme <name>|all] [--json]`: every operand tuple of one packed
 * multiply of each scheme (2^24 INT8, 2^16 INT4) through the WebAssembly datapath, after
 * checking it against the slice model; exit 1 on any mismatch of the corrected decode.
 *
 * `fkb dsp bound [--scheme <name>|all] [--chain <L>] [--json]`: the accumulation bound of each
 * scheme found by enumerating worst-case chains through the slice model, and with --chain the
 * safety of chains of L products; exit 1 when enumeration and formula disagree.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError, VerificationError } from '../../util/errors.ts';
import { toHex48 } from '../../dsp/slice.ts';
import { formatPorts, replayTraceFile, traceAttributes, type ReplayedRow } from '../../dsp/trace.ts';
import { SCHEME_NAMES, SCHEMES, getScheme, type PackingScheme } from '../../dsp/schemes.ts';
import {
  ensureDatapathChecked, formatFirstMismatch, goldenInt4NaiveMismatches, int4NaiveExhaustive,
  verifyExhaustive, type ExhaustiveResult,
} from '../../exactness/datapath.ts';
import { formatOperands } from '../../dsp/operand-names.ts';
import { chainReport, findBound, formatCorruption, type ChainReport } from '../../dsp/bounds.ts';

/** Longest chain `fkb dsp bound --chain` drives through the BigInt slice model. */
const MAX_CHAIN = 4096;

function parseCount(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(text);
}

/** `--attr` may be given many times. */
const collect = (value: string, previous: string[]) => [...previous, value];

/** A mismatching row for the report: P got/want as before, plus every differing column. */
function mismatchReport(r: ReplayedRow) {
  return {
    cycle: r.row.cycle,
    ...(r.row.stage === undefined ? {} : { stage: r.row.stage }),
    line: r.row.line,
    got: toHex48(r.got),
    want: toHex48(r.want),
    pPrev: toHex48(r.pPrev),
    columns: r.diffs,
    ports: formatPorts(r.row.ports, r.row.controls),
  };
}

/** `--scheme` value: one scheme name or 'all'. */
function parseSchemeOption(value: string): PackingScheme[] {
  if (value === 'all') return Object.values(SCHEMES);
  try {
    return [getScheme(value)];
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`--scheme: unknown packing scheme '${value}' (one of ${SCHEME_NAMES.join(', ')}, or all)`);
    throw err;
  }
}

/** `--chain` value: products per P before decode, an integer in [1, MAX_CHAIN]. */
function parseChainOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || n < 1 || n > MAX_CHAIN) {
    throw new InputError(`--chain must be an integer in [1, ${MAX_CHAIN}] (products per P), got '${text}'`);
  }
  return n;
}

/** JSON with BigInt lane values as numbers (they are far below 2^53). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2);
}

/**
 * JSON with BigInt values written as exact integer literals (cycle numbers may pass 2^53, where
 * a double would round them).
 */
function toExactJson(value: unknown): string {
  const tag = `bigint-${randomUUID()}:`;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${tag}${v}` : v), 2);
  return text.replace(new RegExp(`"${tag}(-?\\d+)"`, 'g'), '$1');
}

const fmtMs = (ms: number) => (ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);

function printExhaustive(r: ExhaustiveResult, note = ''): void {
  const line = `${r.scheme.padEnd(8)} ${r.decode.padEnd(9)} ${String(r.cases).padStart(9)} ${String(r.mismatches).padStart(10)} ${fmtMs(r.ms).padStart(10)}`;
  console.log(`${line}${note}`);
  if (r.first) console.log(`  first: ${formatFirstMismatch(r)}`);
}

function printChainReport(s: PackingScheme, r: ChainReport): void {
  const w = r.worst;
  console.log(`${r.scheme}, chains of ${r.length} products: ${r.safe ? 'safe' : 'UNSAFE'} (bound ${r.bound})`);
  const sum = w.side === 'max' ? w.sumMax : w.sumMin;
  const edge = w.overflow > 0 ? `overflows by ${w.overflow}` : `headroom ${-w.overflow}`;
  console.log(`  worst lane ${w.name} (${w.width} bits, [${w.range[0]}, ${w.range[1]}]): worst-case sum ${sum} (${w.side} side), ${edge}`);
  console.log(`  ${r.chains} worst-case chains through the slice model, ${r.corrupted} decode inexactly`);
  const c = r.corruption;
  if (c) {
    console.log(`  worst chain ${c.n} x (${formatOperands(s, c.w, c.a)}): P ${c.decode.p} (${c.decode.pExact ? 'exact' : 'NOT exact'})`);
    console.log(`    ${formatCorruption(s, c)}`);
  }
}

export function registerDspCommand(program: Command): void {
  const dsp = program.command('dsp').description('DSP48E2 slice reference model');

  dsp
    .command('replay')
    .description('replay a port-level trace CSV (one row per clock) through the slice model and compare P, CARRYOUT and the flags')
    .argument('<trace.csv>', 'columns cycle,A_hex,B_hex,C_hex,D_hex,PCIN_hex,INMODE_bin,OPMODE_hex,ALUMODE_bin,CARRYIN,P_hex [CE*,RST*,CARRYOUT_bin,flags,stage]')
    .option('--attrs <file.json>', 'DSP48E2 parameters (JSON object, as the .attrs.json sidecars), applied after the sidecar')
    .option('--attr <KEY=VALUE>', 'one DSP48E2 parameter, e.g. MREG=1 (repeatable; applied last)', collect, [])
    .option('--no-sidecar', 'ignore <trace.csv>.attrs.json')
    .option('--json', 'print the report as JSON')
    .option('--max-mismatches <n>', 'how many mismatching rows to list', parseCount, 10)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fkb dsp replay ../shared/golden/dsp48e2/dsp48e2_raw_random.csv',
        '  fkb dsp replay ../shared/golden/dsp48e2/pipe_allreg_patdet_trace.csv',
        '  fkb dsp replay my-trace.csv --attrs my-slice.json --attr MREG=0 --json --max-mismatches 50',
        '',
        'Parameters: stepSlice\'s configuration (every register 0 but PREG), overridden by <trace.csv>.attrs.json',
        'when it exists, then --attrs, then each --attr. Missing CE columns read 1, missing RST columns 0;',
        "CARRYOUT bits written 'x' are not compared. A trace with a stage column replays as a cascade:",
        'stage s gets PCIN = P of stage s-1 in the previous clock, and its PCIN_hex column must agree.',
        'P feeds back from the recorded value (each row checks one clock).',
        'The trace is read as a stream (any length, constant memory); cycle numbers may have any number of digits.',
        'Exit code 1 when any row differs, 2 on a malformed file or bad attributes (file, line, column or key named).',
      ].join('\n'),
    )
    .action(async (file: string, opts: { attrs?: string; attr: string[]; sidecar: boolean; json?: boolean; maxMismatches: number }) => {
      const attributes = traceAttributes(file, { attrsFile: opts.attrs, assignments: opts.attr, sidecar: opts.sidecar });
      const { summary, mismatches, info } = await replayTraceFile(file, opts.maxMismatches, { config: attributes.config });
      const listed = mismatches.map(mismatchReport);
      const expectedRows = attributes.meta?.rows;
      const rowsNote = expectedRows !== undefined && expectedRows !== summary.rows ? `the sidecar's _meta.rows is ${expectedRows}, the trace has ${summary.rows} rows` : undefined;

      if (opts.json) {
        const extra = { attributes: attributes.sources, ...(info.stages > 1 ? { stages: info.stages } : {}), ...(rowsNote ? { note: rowsNote } : {}) };
        console.log(toExactJson({ file, ...summary, ...extra, listed }));
      } else {
        const from = attributes.sources.length > 0 ? ` (attributes: ${attributes.sources.join(' + ')})` : '';
        const stages = info.stages > 1 ? `, ${info.stages}-stage cascade` : '';
        console.log(`${file}: ${summary.matches}/${summary.rows} rows match${stages}${from}`);
        if (rowsNote) console.log(`note: ${rowsNote}`);
        if (listed.length > 0) console.log(`first ${listed.length} of ${summary.mismatches} mismatches:`);
        for (const m of listed) {
          const ports = Object.entries(m.ports).map(([k, v]) => `${k}=${v}`).join(' ');
          const where = `cycle ${m.cycle}${m.stage === undefined ? '' : ` stage ${m.stage}`} (line ${m.line})`;
          console.log(`  ${where}: ${m.columns.map((d) => `${d.column} got ${d.got} want ${d.want}`).join('; ')}`);
          console.log(`    ${ports} P_prev=${m.pPrev}`);
        }
      }
      if (summary.mismatches > 0) {
        throw new VerificationError(`${summary.mismatches} of ${summary.rows} rows differ from the DSP48E2 model`);
      }
    });

  dsp
    .command('exhaustive')
    .description('decode every operand tuple of one packed multiply (2^24 INT8, 2^16 INT4) and compare with the exact products')
    .option('--scheme <name>', `packing scheme: ${SCHEME_NAMES.join(', ')} or all`, 'all')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', [
      '',
      'The loop runs in WebAssembly (build/scalar.wasm); its datapath is first compared with the',
      'BigInt slice model on boundary and seeded operands and with the golden single-multiply rows.',
      'For int4 the naive (uncorrected) WP521 decode is counted too and must match the golden file.',
      '',
      'Examples:',
      '  fkb dsp exhaustive',
      '  fkb dsp exhaustive --scheme int8x8',
      '  fkb dsp exhaustive --scheme int4 --json',
      '',
      'Exit code 1 when any tuple decodes wrongly, 2 for a bad option.',
    ].join('\n'))
    .action((opts: { scheme: string; json?: boolean }) => {
      const schemes = parseSchemeOption(opts.scheme);
      const datapath = ensureDatapathChecked();
      const results = schemes.map((s) => verifyExhaustive(s));
      const naive = schemes.some((s) => s.name === 'int4') ? { ...int4NaiveExhaustive(), golden: goldenInt4NaiveMismatches() } : undefined;

      if (opts.json) {
        console.log(toJson({ datapath, results, int4Naive: naive }));
      } else {
        const sampled = Object.values(datapath.sampled).reduce((x, y) => x + y, 0);
        const golden = Object.entries(datapath.golden).map(([f, n]) => `${f} ${n}`).join(', ');
        console.log(`datapath = slice model on ${sampled} sampled tuples (seed ${datapath.seed}) and golden rows (${golden}), ${fmtMs(datapath.ms)}`);
        console.log(`${'scheme'.padEnd(8)} ${'decode'.padEnd(9)} ${'cases'.padStart(9)} ${'mismatches'.padStart(10)} ${'time'.padStart(10)}`);
        for (const r of results) printExhaustive(r);
        if (naive) printExhaustive(naive, `  (golden int4_wp521_single.csv: ${naive.golden}; expected, no borrow correction)`);
      }
      const bad = results.filter((r) => r.mismatches > 0);
      if (bad.length > 0) {
        throw new VerificationError(bad.map((r) => `${r.scheme}: ${r.mismatches} of ${r.cases} tuples decode wrongly, first ${formatFirstMismatch(r)}`).join('; '));
      }
      if (naive && naive.mismatches !== naive.golden) {
        throw new VerificationError(`int4 naive decode: ${naive.mismatches} wrong multiplies, the golden file has ${naive.golden}`);
      }
    });

  dsp
    .command('bound')
    .description('find each scheme\'s accumulation bound by driving worst-case chains through the slice model')
    .option('--scheme <name>', `packing scheme: ${SCHEME_NAMES.join(', ')} or all`, 'all')
    .option('--chain <L>', `also report chains of L products per P (1..${MAX_CHAIN}): safe or not, lane overflow, corruption`)
    .option('--json', 'print the results as JSON')
    .addHelpText('after', [
      '',
      'For N = 1, 2, ... every lane\'s chain of N largest and of N smallest products (corner operands)',
      'is accumulated in P and as a PCIN cascade; the bound is the last N at which all decode exactly.',
      'It must equal the formula in harness/dsp/schemes.ts (accumulationBound).',
      '',
      'Examples:',
      '  fkb dsp bound',
      '  fkb dsp bound --scheme int8x8 --chain 8',
      '  fkb dsp bound --scheme all --chain 4 --json',
      '',
      'Exit code 1 when enumeration and formula disagree, 2 for a bad option.',
    ].join('\n'))
    .action((opts: { scheme: string; chain?: string; json?: boolean }) => {
      const schemes = parseSchemeOption(opts.scheme);
      const chain = parseChainOption(opts.chain);
      const found = schemes.map((s) => {
        const b = findBound(s);
        return { search: b, report: chain === undefined ? undefined : chainReport(s, chain) };
      });

      if (opts.json) {
        console.log(toJson(found.map(({ search, report }) => ({
          scheme: search.scheme, bound: search.bound, formula: search.formula, chainsPerN: search.chainsPerN, clocks: search.clocks,
          firstInexact: search.failing[0], ...(report ? { chain: report } : {}),
        }))));
      } else {
        console.log(`${'scheme'.padEnd(8)} ${'bound'.padStart(5)} ${'formula'.padStart(7)}  first inexact worst-case chain (N = bound + 1)`);
        for (const { search: b } of found) {
          const s = SCHEMES[b.scheme];
          const f = b.failing[0]!;
          console.log(`${b.scheme.padEnd(8)} ${String(b.bound).padStart(5)} ${String(b.formula).padStart(7)}  ${f.n} x (${formatOperands(s, f.w, f.a)}): ${formatCorruption(s, f)}`);
        }
        for (const { report } of found) if (report) printChainReport(SCHEMES[report.scheme], report);
      }
      const off = found.filter(({ search: b }) => b.bound !== b.formula);
      if (off.length > 0) {
        throw new VerificationError(off.map(({ search: b }) => `${b.scheme}: enumeration gives ${b.bound}, accumulationBound ${b.formula}`).join('; '));
      }
    });
}

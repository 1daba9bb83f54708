/**
 * Exhaustive exactness of the packing schemes: every operand tuple of ONE packed multiply
 * (2^24 for the INT8 schemes, 2^16 for INT4) through the slice datapath, lanes decoded with the
 * scheme's rule and compared with the exact products. The loop runs in WebAssembly
 * (assembly/dsp/exhaustive.ts, scalar module, i64 arithmetic); before its counts are trusted,
 * checkDatapath() compares its P with the BigInt slice model (stepSlice) on boundary and seeded
 * random operands of every scheme, and with the single-multiply rows of the golden files.
 *
 *   verifyExhaustive('int8x8')  -> { scheme, cases: 16777216, mismatches: 0, ms }
 *   int4NaiveExhaustive()        -> the same for WP521's uncorrected INT4 fields (mismatches > 0)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../util/csv.ts';
import { InputError, VerificationError } from '../util/errors.ts';
import { MiB, readInputText } from '../util/input-files.ts';
import { Rng } from '../util/rng.ts';
import { loadModules, type KernelExports } from '../wasm/modules.ts';
import { decodeInt4Naive, decodeLanes, getScheme, SCHEMES, type PackingScheme, type SchemeName } from '../dsp/schemes.ts';
import { stepSlice, toHex48 } from '../dsp/slice.ts';
import { formatOperands, laneName } from '../dsp/operand-names.ts';
import { DSP_LAYOUT_CODES, SCHEME_LAYOUT } from '../registry/codes.ts';

/** Port layout id of a scheme in assembly/dsp/exhaustive.ts. */
const LAYOUT = Object.fromEntries(Object.entries(SCHEME_LAYOUT).map(([s, l]) => [s, DSP_LAYOUT_CODES[l]])) as Record<SchemeName, number>;

/**
 * The golden vectors: $FKB_GOLDEN_DIR, else ../shared/golden/dsp48e2/ beside the repo (where
 * shared/ is checked out).
 */
export const GOLDEN_DIR = process.env.FKB_GOLDEN_DIR || fileURLToPath(new URL('../../../shared/golden/dsp48e2/', import.meta.url));

export type Decode = 'corrected' | 'naive';

/** The first operand tuple whose decode differs from the exact products. */
export interface FirstMismatch {
  /** Weights and activations as `scheme.ports` takes them. */
  w: number[];
  a: number[];
  /** Index of the first wrong lane in scheme.lanes, and its name (e.g. "w2*a"). */
  lane: number;
  laneName: string;
  /** P as 12 hex digits. */
  p: string;
  got: number;
  want: number;
}

export interface ExhaustiveResult {
  scheme: SchemeName;
  decode: Decode;
  /** Operand tuples enumerated: the product of the operand range sizes. */
  cases: number;
  /** Tuples with at least one wrong lane. */
  mismatches: number;
  first?: FirstMismatch;
  /** Wall time of the WebAssembly enumeration. */
  ms: number;
}

function schemeOf(scheme: PackingScheme | string): PackingScheme {
  return typeof scheme === 'string' ? getScheme(scheme) : scheme;
}

// ---------------------------------------------------------------------------------------------
// the WebAssembly side

interface DspExports extends KernelExports {
  dsp_packed_p(layout: number, w0: number, w1: number, a0: number, a1: number): bigint;
  dsp_decode_lane(p: bigint, desc: number, lane: number): bigint;
  dsp_exhaustive(layout: number, desc: number, out: number): number;
}

let instance: DspExports | undefined;

function wasm(): DspExports {
  if (instance) return instance;
  const status = loadModules().get('scalar');
  if (!status?.kernel) throw new InputError(`the scalar WebAssembly module is not usable: ${status?.reason ?? 'not loaded'}`);
  const ex = status.kernel.instantiate() as DspExports;
  if (typeof ex.dsp_exhaustive !== 'function') {
    throw new InputError('build/scalar.wasm has no dsp_exhaustive: run npx tsx scripts/gen-kernels.ts and npm run build');
  }
  instance = ex;
  return ex;
}

/** Descriptor and result block in linear memory (layout drawn in assembly/dsp/exhaustive.ts). */
const DESC_OFFSET = 0;
const OUT_OFFSET = 128;

/** Writes the scheme's ranges and lane rule (or the naive INT4 fields) as a descriptor; returns its address. */
function writeDescriptor(ex: DspExports, s: PackingScheme, decode: Decode): number {
  const base = ex.heapBase() + DESC_OFFSET;
  const lanes = s.lanes.map((l) => (decode === 'naive'
    ? [l.offset, 8, 0, l.w, l.a] // decodeInt4Naive: sext8 of the 8-bit field, no borrow
    : [l.offset, l.width, l.offset > 0 ? 1 : 0, l.w, l.a]));
  const words = [s.weights, s.activations, ...s.weightRange, ...s.activationRange, s.lanes.length, ...lanes.flat()];
  const view = new DataView(ex.memory.buffer);
  words.forEach((v, i) => view.setInt32(base + 4 * i, v, true));
  return base;
}

/** P of one packed multiply as the WebAssembly datapath computes it (48-bit pattern). */
export function wasmPackedP(scheme: PackingScheme | string, w: readonly number[], a: readonly number[]): bigint {
  const s = schemeOf(scheme);
  s.ports(w, a, 'first'); // same operand checks as the slice model
  return BigInt.asUintN(48, wasm().dsp_packed_p(LAYOUT[s.name], w[0]!, w[1] ?? 0, a[0]!, a[1] ?? 0));
}

/** The WebAssembly lane decode of P (corrected, or the naive INT4 fields). */
export function wasmDecode(scheme: PackingScheme | string, p: bigint, decode: Decode = 'corrected'): bigint[] {
  const s = schemeOf(scheme);
  const ex = wasm();
  const desc = writeDescriptor(ex, s, decode);
  return s.lanes.map((_, i) => ex.dsp_decode_lane(p, desc, i));
}

// ---------------------------------------------------------------------------------------------
// checking the datapath before trusting it

/** Boundary values of a range: min, min+1, -1, 0, 1, max-1, max (those inside it). */
export function boundaryValues([lo, hi]: readonly [number, number]): number[] {
  return [...new Set([lo, lo + 1, -1, 0, 1, hi - 1, hi])].filter((v) => v >= lo && v <= hi).sort((x, y) => x - y);
}

/** Every combination of boundary operands plus `random` seeded tuples. */
export function sampleTuples(s: PackingScheme, random: number, seed: number): Array<{ w: number[]; a: number[] }> {
  const wb = boundaryValues(s.weightRange);
  const ab = boundaryValues(s.activationRange);
  const slots = [...Array(s.weights).fill(wb), ...Array(s.activations).fill(ab)] as number[][];
  let combos: number[][] = [[]];
  for (const values of slots) combos = combos.flatMap((c) => values.map((v) => [...c, v]));
  const rng = new Rng(seed);
  for (let i = 0; i < random; i++) {
    combos.push(slots.map((_, k) => (k < s.weights ? rng.int(...s.weightRange) : rng.int(...s.activationRange))));
  }
  return combos.map((c) => ({ w: c.slice(0, s.weights), a: c.slice(s.weights) }));
}

export interface DatapathCheck {
  seed: number;
  /** Tuples compared with stepSlice, per scheme. */
  sampled: Record<SchemeName, number>;
  /** Golden single-multiply rows compared (file -> rows). */
  golden: Record<string, number>;
  ms: number;
}

interface GoldenCsv {
  path: string;
  cols: string[];
  /** Data rows with the file line each one is on. */
  rows: { fields: string[]; line: number }[];
}

/** The largest golden file is 6 MB; 64 MiB leaves room without reading anything endless. */
const MAX_GOLDEN_BYTES = 64 * MiB;

function readGolden(file: string, dir: string): GoldenCsv {
  const path = join(dir, file);
  if (!existsSync(path)) throw new InputError(`golden file ${path} not found (check out shared/golden/dsp48e2 beside the repo, or set FKB_GOLDEN_DIR to its folder)`);
  const [head, ...rows] = parseCsv(readInputText(path, { what: 'golden file', maxBytes: MAX_GOLDEN_BYTES }), path);
  if (!head) throw new InputError(`golden file ${path} is empty`);
  for (const r of rows) {
    if (r.fields.length !== head.fields.length) {
      throw new InputError(`${path}: line ${r.line}: expected ${head.fields.length} fields as in the header, found ${r.fields.length}`);
    }
  }
  return { path, cols: head.fields, rows };
}

function column(csv: GoldenCsv, file: string, name: string): number {
  const k = csv.cols.indexOf(name);
  if (k < 0) throw new InputError(`golden file ${file} has no column ${name}`);
  return k;
}

/** Field `k` of a golden row as an integer in `range`: a damaged file is an InputError, never NaN. */
function goldenInt(csv: GoldenCsv, row: { fields: string[]; line: number }, k: number, range: readonly [number, number]): number {
  const text = row.fields[k]!;
  const v = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!(v >= range[0] && v <= range[1])) {
    throw new InputError(`${csv.path}: line ${row.line}, column ${k + 1} (${csv.cols[k]}): expected an integer in [${range[0]}, ${range[1]}], found ${JSON.stringify(text)}`);
  }
  return v;
}

/**
 * Compares the WebAssembly datapath and lane decode with the BigInt slice model on every
 * boundary combination and `random` seeded tuples of every scheme, and its P with every
 * single-multiply row of the golden files (all 65536 rows of int4_wp521_single.csv, the first
 * step of each chain in int8_pack_acc.csv and uint8_wp487_acc.csv). Throws VerificationError
 * naming scheme, operands, got and want on the first disagreement.
 */
export function checkDatapath(opts: { seed?: number; random?: number; goldenDir?: string } = {}): DatapathCheck {
  const seed = opts.seed ?? 0x5eed48;
  const random = opts.random ?? 2000;
  const dir = opts.goldenDir ?? GOLDEN_DIR;
  const t0 = performance.now();
  const sampled = {} as Record<SchemeName, number>;
  for (const s of Object.values(SCHEMES)) {
    const tuples = sampleTuples(s, random, seed);
    for (const { w, a } of tuples) {
      const want = stepSlice(s.ports(w, a, 'first'), 0n);
      const got = wasmPackedP(s, w, a);
      const where = () => `${s.name} ${formatOperands(s, w, a)} (seed ${seed})`;
      if (got !== want) throw new VerificationError(`WebAssembly datapath differs from stepSlice: ${where()}: P got ${toHex48(got)}, want ${toHex48(want)}`);
      const lanes = wasmDecode(s, got);
      const ref = decodeLanes(s, want);
      lanes.forEach((v, i) => {
        if (v !== ref[i]) throw new VerificationError(`WebAssembly lane decode differs from decodeLanes: ${where()} lane ${laneName(s, i)}: got ${v}, want ${ref[i]}`);
      });
      if (s.name === 'int4') {
        const naive = wasmDecode(s, got, 'naive');
        const refNaive = decodeInt4Naive(want);
        naive.forEach((v, i) => {
          if (v !== refNaive[i]) throw new VerificationError(`WebAssembly naive decode differs from decodeInt4Naive: ${where()} lane ${laneName(s, i)}: got ${v}, want ${refNaive[i]}`);
        });
      }
    }
    sampled[s.name] = tuples.length;
  }

  const golden: Record<string, number> = {};
  const against = (file: string, s: PackingScheme, names: { w: string[]; a: string[] }, only?: (row: string[], csv: GoldenCsv) => boolean) => {
    const csv = readGolden(file, dir);
    const wk = names.w.map((n) => column(csv, file, n));
    const ak = names.a.map((n) => column(csv, file, n));
    const pk = column(csv, file, 'P_hex');
    const ex = wasm();
    let n = 0;
    for (const row of csv.rows) {
      if (only && !only(row.fields, csv)) continue;
      const w = wk.map((k) => goldenInt(csv, row, k, s.weightRange));
      const a = ak.map((k) => goldenInt(csv, row, k, s.activationRange));
      // Golden operands are in range (checked above): the raw export, without ports()' checks.
      const got = toHex48(BigInt.asUintN(48, ex.dsp_packed_p(LAYOUT[s.name], w[0]!, w[1] ?? 0, a[0]!, a[1] ?? 0)));
      if (got !== row.fields[pk]) {
        throw new VerificationError(`WebAssembly datapath differs from ${file} line ${row.line}: ${s.name} ${formatOperands(s, w, a)}: P got ${got}, want ${row.fields[pk]}`);
      }
      n++;
    }
    golden[file] = n;
  };
  against('int4_wp521_single.csv', SCHEMES.int4, { w: ['w1', 'w2'], a: ['a1', 'a2'] });
  const firstStep = (row: string[], csv: GoldenCsv) => row[column(csv, csv.path, 'step')] === '0';
  against('uint8_wp487_acc.csv', SCHEMES.wp487u8, { w: ['w'], a: ['u1', 'u2'] }, firstStep);
  // int8_pack_acc.csv mixes int8 and uint8 activations (a_kind): each through its own scheme.
  const kind = (k: string) => (row: string[], csv: GoldenCsv) => firstStep(row, csv) && row[column(csv, csv.path, 'a_kind')] === k;
  against('int8_pack_acc.csv', SCHEMES.int8x8, { w: ['w1', 'w2'], a: ['a'] }, kind('s8'));
  const s8 = golden['int8_pack_acc.csv'] ?? 0;
  against('int8_pack_acc.csv', SCHEMES.int8xu8, { w: ['w1', 'w2'], a: ['a'] }, kind('u8'));
  golden['int8_pack_acc.csv'] = s8 + (golden['int8_pack_acc.csv'] ?? 0);
  return { seed, sampled, golden, ms: performance.now() - t0 };
}

let checked: DatapathCheck | undefined;

/** checkDatapath() once per process. */
export function ensureDatapathChecked(): DatapathCheck {
  checked ??= checkDatapath();
  return checked;
}

// ---------------------------------------------------------------------------------------------
// the exhaustive runs

function run(s: PackingScheme, decode: Decode): ExhaustiveResult {
  ensureDatapathChecked();
  const ex = wasm();
  const desc = writeDescriptor(ex, s, decode);
  const out = ex.heapBase() + OUT_OFFSET;
  const t0 = performance.now();
  const mismatches = ex.dsp_exhaustive(LAYOUT[s.name], desc, out);
  const ms = performance.now() - t0;
  const view = new DataView(ex.memory.buffer);
  const cases = Number(view.getBigInt64(out + 8, true));
  const size = (r: readonly [number, number]) => r[1] - r[0] + 1;
  const expected = size(s.weightRange) ** s.weights * size(s.activationRange) ** s.activations;
  if (cases !== expected || Number(view.getBigInt64(out, true)) !== mismatches) {
    throw new VerificationError(`${s.name}: the WebAssembly enumeration covered ${cases} tuples, want ${expected}`);
  }
  const result: ExhaustiveResult = { scheme: s.name, decode, cases, mismatches, ms };
  if (mismatches > 0) {
    const ops = [0, 4, 8, 12].map((o) => view.getInt32(out + 16 + o, true));
    const lane = view.getInt32(out + 32, true);
    result.first = {
      w: ops.slice(0, s.weights),
      a: ops.slice(2, 2 + s.activations),
      lane,
      laneName: laneName(s, lane),
      p: toHex48(view.getBigInt64(out + 40, true)),
      got: Number(view.getBigInt64(out + 48, true)),
      want: Number(view.getBigInt64(out + 56, true)),
    };
  }
  return result;
}

/**
 * Every operand tuple of one packed multiply of `scheme`, corrected decode. The datapath is
 * checked against stepSlice and the golden rows first (once per process).
 */
export function verifyExhaustive(scheme: PackingScheme | string): ExhaustiveResult {
  return run(schemeOf(scheme), 'corrected');
}

/** All 2^16 INT4 multiplies decoded with WP521's naive fields (decodeInt4Naive). */
export function int4NaiveExhaustive(): ExhaustiveResult {
  return run(SCHEMES.int4, 'naive');
}

/**
 * How many rows of int4_wp521_single.csv the naive decode gets wrong (any of the four
 * naive_* columns differs from its exp_* column): the count int4NaiveExhaustive must give.
 */
export function goldenInt4NaiveMismatches(goldenDir = GOLDEN_DIR): number {
  const file = 'int4_wp521_single.csv';
  const csv = readGolden(file, goldenDir);
  const pairs = ['w1a1', 'w1a2', 'w2a1', 'w2a2'].map((n) => [column(csv, file, `naive_${n}`), column(csv, file, `exp_${n}`)] as const);
  return csv.rows.filter((row) => pairs.some(([nk, ek]) => row.fields[nk] !== row.fields[ek])).length;
}

/** "w1=-8 w2=-8 a1=0 a2=1: lane w2*a1 got -1, want 0 (P ffefffffc000)". */
export function formatFirstMismatch(r: ExhaustiveResult): string {
  if (!r.first) return 'none';
  const s = SCHEMES[r.scheme];
  const f = r.first;
  return `${formatOperands(s, f.w, f.a)}: lane ${f.laneName} got ${f.got}, want ${f.want} (P ${f.p})`;
}

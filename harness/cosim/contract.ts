/**
 * The check of a user's packed dot-product cascade unit against the port contract of
 * rtl/CONTRACT.md: seeded random and boundary operands, then the operand stream the engine feeds
 * its cascades on the embedded model's conv layers, every result compared with the TypeScript
 * slice model (stepSlice through L stages) and its corrected lane decode.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ConvProblem, outputSize } from '../conv/layer.ts';
import { activationOffset } from '../dsp/packed-conv.ts';
import { SCHEMES } from '../dsp/schemes.ts';
import { stepSlice } from '../dsp/slice.ts';
import type { EngineScheme } from '../fpga/models/splitconv.ts';
import { dspFunction } from '../fpga/sim/dsp-function.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { SCHEME_IDS } from './engine-files.ts';
import { RTL_DIR, type SimulatorName, buildSimulation } from './simulators.ts';

/** One issue: stage j's weights w[j] and activations a[j], as codes the DSP sees. */
export interface ContractIssue {
  w: number[][];
  a: number[][];
  /** Where it comes from: 'random', 'boundary', 'min', 'max' or the model layer. */
  source: string;
}

export interface ContractMismatch {
  kind: 'value' | 'latency' | 'missing' | 'extra';
  /** Cycle of the output (0 = first stimulus cycle). */
  cycle: number;
  issue: number;
  /** The cycle its in_valid was presented. */
  inCycle: number;
  source: string;
  /** First differing decoded lane, -1 when only P differs (or for latency/missing/extra). */
  lane: number;
  pGot: string;
  pWant: string;
  laneGot?: string;
  laneWant?: string;
  /** Per stage: "w=[w0,w1] a=[a0,a1]". */
  operands: string[];
}

export interface ContractReport {
  top: string;
  files: string[];
  scheme: EngineScheme;
  sim: SimulatorName;
  L: number;
  seed: number;
  issues: number;
  randomIssues: number;
  modelIssues: number;
  cycles: number;
  /** Measured on the first issue; null when no output came. */
  latency: number | null;
  mismatches: number;
  /** Mismatching issues per lane (index = lane, the last entry counts P-only differences). */
  perLane: number[];
  firstMismatch?: ContractMismatch;
  equal: boolean;
  build: { cached: boolean; ms: number };
  ms: number;
}

export interface ContractOptions {
  files: string[];
  top: string;
  scheme: EngineScheme;
  L: number;
  sim: SimulatorName;
  /** @default 1 */
  seed?: number;
  /** Random and boundary issues. @default 2000 */
  vectors?: number;
  /** The embedded model's layers as ConvProblems (fitted to the scheme's operands), with names. */
  modelLayers?: { name: string; problem: ConvProblem }[];
  /** Issues taken from each model layer. @default 500 */
  modelIssues?: number;
  cacheDir?: string;
}

/** Operand ranges (codes the DSP sees) of a scheme. */
function ranges(scheme: EngineScheme) {
  const s = SCHEMES[dspFunction(scheme).operands];
  return { w: s.weightRange, a: s.activationRange };
}

const boundary = ([lo, hi]: readonly [number, number]) => [...new Set([lo, lo + 1, -1, 0, 1, hi - 1, hi].filter((v) => v >= lo && v <= hi))];

/** Seeded random issues: a third of the operands at a boundary value, plus all-min / all-max issues. */
export function randomIssues(scheme: EngineScheme, L: number, n: number, seed: number): ContractIssue[] {
  const fn = dspFunction(scheme);
  const r = ranges(scheme);
  const rng = new Rng(seed);
  const bw = boundary(r.w);
  const ba = boundary(r.a);
  const out: ContractIssue[] = [];
  const corner = (wv: number, av: number, source: string): ContractIssue => ({
    w: Array.from({ length: L }, () => Array.from({ length: fn.weights }, () => wv)),
    a: Array.from({ length: L }, () => Array.from({ length: fn.activations }, () => av)),
    source,
  });
  const corners = [corner(r.w[0], r.a[1], 'min weights x max activations'), corner(r.w[1], r.a[1], 'max'), corner(r.w[0], r.a[0], 'min')];
  while (out.length < n - corners.length) {
    const pickW = () => (rng.next() < 1 / 3 ? rng.pick(bw) : rng.int(r.w[0], r.w[1]));
    const pickA = () => (rng.next() < 1 / 3 ? rng.pick(ba) : rng.int(r.a[0], r.a[1]));
    out.push({
      w: Array.from({ length: L }, () => Array.from({ length: fn.weights }, pickW)),
      a: Array.from({ length: L }, () => Array.from({ length: fn.activations }, pickA)),
      source: 'random',
    });
  }
  // the worst-case issues at seeded places in the stream
  for (const c of corners) if (out.length < n) out.splice(rng.int(0, out.length), 0, c);
  return out.slice(0, Math.max(n, 0));
}

/**
 * The engine's cascade operands on a layer (splitconv-clock.ts's operand rule): one issue per
 * (pixel slot, output-channel group, tap, channel tile), sampled evenly up to `max` issues.
 */
export function layerIssues(name: string, p: ConvProblem, scheme: EngineScheme, L: number, max: number): ContractIssue[] {
  const fn = dspFunction(scheme);
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const off = activationOffset(SCHEMES[fn.operands]);
  const spr = Math.ceil(outW / fn.activations);
  const slots = outH * spr;
  const groups = Math.ceil(s.outC / fn.weights);
  const taps = s.kH * s.kW;
  const Tc = Math.ceil(s.inC / L);
  const total = slots * groups * taps * Tc;
  const stride = Math.max(1, Math.ceil(total / max));
  const out: ContractIssue[] = [];
  for (let i = 0; i < total && out.length < max; i += stride) {
    let r = i;
    const ct = r % Tc; r = Math.floor(r / Tc);
    const tap = r % taps; r = Math.floor(r / taps);
    const g = r % groups; r = Math.floor(r / groups);
    const slot = r;
    const oh = Math.floor(slot / spr);
    const ow0 = (slot % spr) * fn.activations;
    const w: number[][] = [];
    const a: number[][] = [];
    for (let j = 0; j < L; j++) {
      const ch = ct * L + j;
      w.push(Array.from({ length: fn.weights }, (_, k) => {
        const oc = g * fn.weights + k;
        return oc < s.outC && ch < s.inC ? p.weights[(oc * taps + tap) * s.inC + ch]! : 0;
      }));
      a.push(Array.from({ length: fn.activations }, (_, k) => {
        const ow = ow0 + k;
        if (ch >= s.inC || ow >= outW) return 0;
        const ih = oh * s.strideH + Math.floor(tap / s.kW) - s.padTop;
        const iw = ow * s.strideW + (tap % s.kW) - s.padLeft;
        const inside = ih >= 0 && ih < s.inH && iw >= 0 && iw < s.inW;
        return (inside ? p.input[(ih * s.inW + iw) * s.inC + ch]! : p.inputZeroPoint) + off;
      }));
    }
    out.push({ w, a, source: name });
  }
  return out;
}

/** P of an issue through L slice-model stages, and its decoded lanes. */
export function expectedResult(scheme: EngineScheme, issue: ContractIssue): { p: bigint; lanes: bigint[] } {
  const fn = dspFunction(scheme);
  let p = 0n;
  issue.w.forEach((w, j) => {
    p = stepSlice({ ...fn.ports(w, issue.a[j]!, j === 0 ? 'first' : 'PCIN'), pcin: p }, 0n);
  });
  return { p, lanes: fn.decode(p) };
}

const byte = (v: number) => (v & 0xff).toString(16).padStart(2, '0');

/** One stimulus line: {valid nibble, w_in, a_in}, fields most significant first. */
function stimLine(valid: boolean, w: number[][], a: number[][], L: number): string {
  let ws = '';
  let as = '';
  for (let j = L - 1; j >= 0; j--) {
    for (let k = 1; k >= 0; k--) {
      ws += byte(w[j]?.[k] ?? 0);
      as += byte(a[j]?.[k] ?? 0);
    }
  }
  return `${valid ? '1' : '0'}${ws}${as}`;
}

const hex48 = (v: bigint) => `0x${BigInt.asUintN(48, v).toString(16).padStart(12, '0')}`;

export function checkUserRtl(o: ContractOptions): ContractReport {
  const t0 = performance.now();
  const seed = o.seed ?? 1;
  const L = requireInt('L', o.L, 1, 256);
  if (!o.top || !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(o.top)) throw new InputError(`--top must name the design's top module, got '${o.top ?? ''}'`);
  if (!o.files.length) throw new InputError('--rtl: give at least one Verilog file');
  const files = o.files.map((f) => resolve(f));
  const sources = files.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      throw new InputError(`--rtl ${f}: no such file`);
    }
  });
  const all = sources.join('\n');
  if (!new RegExp(`\\bmodule\\s+${o.top}\\b`).test(all) && !/`include/.test(all)) throw new InputError(`--top ${o.top}: no module of that name in ${o.files.join(', ')}`);
  const hasScheme = /\bparameter\b[^;)]*\bSCHEME\b/.test(all) || /`include/.test(all);
  const fn = dspFunction(o.scheme);
  const rng = new Rng(seed ^ 0x5eed);

  const random = randomIssues(o.scheme, L, o.vectors ?? 2000, seed);
  const model = (o.modelLayers ?? []).flatMap((l) => layerIssues(l.name, l.problem, o.scheme, L, o.modelIssues ?? 500));
  const issues = [...random, ...model];
  const r = ranges(o.scheme);
  const garbageW = () => Array.from({ length: L }, () => [rng.int(-128, 127), rng.int(-128, 127)]);
  const garbageA = () => Array.from({ length: L }, () => [rng.int(0, 255), rng.int(0, 255)]);
  const lines: string[] = [];
  const inCycles: number[] = [];
  for (const is of issues) {
    // unused fields carry random values too
    const w = is.w.map((ws) => (ws.length === 2 ? ws : [ws[0]!, rng.int(r.w[0], r.w[1])]));
    const a = is.a.map((as) => (as.length === 2 ? as : [as[0]!, rng.int(0, 255)]));
    inCycles.push(lines.length);
    lines.push(stimLine(true, w, a, L));
    if (rng.next() < 0.25) {
      const n = rng.int(1, 3);
      for (let b = 0; b < n; b++) lines.push(stimLine(false, garbageW(), garbageA(), L));
    }
  }
  const drain = 256;
  const build = buildSimulation({
    sim: o.sim,
    sources: [...files, join(RTL_DIR, 'tb', 'contract_tb.v')],
    tb: 'contract_tb',
    params: { L, SCHEME: SCHEME_IDS[o.scheme], DEPTH: 2 ** Math.ceil(Math.log2(Math.max(lines.length, 1024))) },
    defines: [`FKB_USER_TOP=${o.top}`, ...(hasScheme ? ['FKB_USER_HAS_SCHEME'] : [])],
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
  });
  const dir = mkdtempSync(join(tmpdir(), 'fkb-contract-'));
  let outText: string;
  try {
    writeFileSync(join(dir, 'tb.hex'), `${lines.length.toString(16)}\n${drain.toString(16)}\n`);
    writeFileSync(join(dir, 'stim.hex'), `${lines.join('\n')}\n`);
    build.run(dir);
    outText = readFileSync(join(dir, 'out.txt'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const outs = outText.split('\n').filter(Boolean).map((l) => {
    const [c, p, lanes] = l.split(' ');
    return { cycle: Number(c), p: BigInt(`0x${p}`), lanes: lanes! };
  });
  const laneOf = (hex: string, i: number) => BigInt.asIntN(48, BigInt(`0x${hex.slice(48 - 12 * (i + 1), 48 - 12 * i)}`));
  const latency = outs.length ? outs[0]!.cycle - inCycles[0]! : null;
  const nl = fn.lanes.length;
  const perLane = new Array<number>(nl + 1).fill(0);
  let mismatches = 0;
  let first: ContractMismatch | undefined;
  const operands = (is: ContractIssue) => is.w.map((w, j) => `w=[${w.join(',')}] a=[${is.a[j]!.join(',')}]`);
  for (let i = 0; i < Math.max(issues.length, outs.length); i++) {
    const is = issues[i];
    const out = outs[i];
    if (!is) {
      mismatches++;
      first ??= { kind: 'extra', cycle: out!.cycle, issue: i, inCycle: -1, source: 'none', lane: -1, pGot: hex48(out!.p), pWant: 'no result', operands: [] };
      continue;
    }
    const want = expectedResult(o.scheme, is);
    if (!out) {
      mismatches++;
      first ??= { kind: 'missing', cycle: -1, issue: i, inCycle: inCycles[i]!, source: is.source, lane: -1, pGot: 'no result', pWant: hex48(want.p), operands: operands(is) };
      continue;
    }
    const lane = want.lanes.findIndex((v, li) => laneOf(out.lanes, li) !== v);
    const pDiff = out.p !== BigInt.asUintN(48, want.p);
    const late = latency !== null && out.cycle - inCycles[i]! !== latency;
    if (lane < 0 && !pDiff && !late) continue;
    mismatches++;
    perLane[lane >= 0 ? lane : nl]!++;
    first ??= {
      kind: late && lane < 0 && !pDiff ? 'latency' : 'value',
      cycle: out.cycle, issue: i, inCycle: inCycles[i]!, source: is.source, lane,
      pGot: hex48(out.p), pWant: hex48(want.p),
      ...(lane >= 0 ? { laneGot: laneOf(out.lanes, lane).toString(), laneWant: want.lanes[lane]!.toString() } : {}),
      operands: operands(is),
    };
  }
  return {
    top: o.top, files: o.files, scheme: o.scheme, sim: o.sim, L, seed,
    issues: issues.length, randomIssues: random.length, modelIssues: model.length, cycles: lines.length,
    latency, mismatches, perLane, ...(first ? { firstMismatch: first } : {}), equal: mismatches === 0,
    build: { cached: build.cached, ms: build.buildMs }, ms: performance.now() - t0,
  };
}

/**
 * One layer on three engines that must agree bit for bit: the RTL of rtl/splitconv_pe.v under
 * Verilator or Icarus, the cycle simulator simulateSplitConv (harness/fpga/sim), and the packed-
 * DSP engine (the WASM packed kernel of the same configuration; 'unpacked': the exact
 * convolution). Cycle counts must equal simulateSplitConv's exactly.
 *
 * On a difference the layer runs again with the per-cycle trace on both sides (every stage's P
 * when the layer is small enough, else each cascade's last stage), and the first difference is
 * reported as cycle, pixel lane, cascade, stage, the ports the stage computed with, P and the
 * decoded lanes got/want. When every traced P agrees, the difference is after the cascades
 * (accumulation, bias, write-back) and is reported as the first output (oh, ow, oc).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConvProblem, describeShape, outputSize } from '../conv/layer.ts';
import { requantizePacked } from '../dsp/packed-conv.ts';
import type { SlicePorts } from '../dsp/slice.ts';
import { packedKernelFor } from '../exactness/layer-exactness.ts';
import type { EngineScheme } from '../fpga/models/splitconv.ts';
import { dspFunction } from '../fpga/sim/dsp-function.ts';
import { engineLanes, splitconvTiling } from '../fpga/models/splitconv.ts';
import { expectedStallCycles, layerSpecOf, resolveArch } from '../fpga/sim/splitconv-arch.ts';
import { type SplitConvArch, type SplitConvSimResult, simulateSplitConv } from '../fpga/sim/splitconv-sim.ts';
import { referenceConv } from '../reference/conv.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { type TraceLevel, engineConfig, engineFiles } from './engine-files.ts';
import type { Build } from './simulators.ts';
import type { CosimDifference, LayerCosim } from './types.ts';

export interface LayerCosimOptions {
  /** The built testbench (buildSimulation with testbenchParams of this scheme and architecture). */
  build: Build;
  arch: SplitConvArch;
  scheme: EngineScheme;
  /** Trace on a difference ('auto'), always, or never. @default 'auto' */
  trace?: 'auto' | 'always' | 'never';
  /** Keep the run directory (operand files, outputs, trace) and report its path. @default false */
  keep?: boolean;
  /**
   * What the RTL's cycles and outputs are held against: simulateSplitConv and the packed engine
   * ('sim'), or model (a)'s cycle formula (+ the documented loader stalls) and the packed engine
   * ('model'): test/fpga-sim.test.ts proves the two cycle counts equal, and the TypeScript
   * simulator takes about 15 minutes on the reference layer. A difference is traced against
   * simulateSplitConv either way. @default 'sim'
   */
  against?: 'sim' | 'model';
  /** Largest traced stage writes for an every-stage trace, else only last stages. @default 4_000_000 */
  maxTraceEntries?: number;
}

/** The packed-DSP engine's accumulators: the WASM packed kernel, or the exact convolution for 'unpacked'. */
export function packedEngineAccumulators(p: ConvProblem, scheme: EngineScheme, L: number): { acc: Int32Array; engine: string } {
  const raw = { ...p, requant: { ...p.requant, mode: 'raw' as const } };
  if (scheme === 'unpacked') return { acc: referenceConv(raw) as Int32Array, engine: 'exact convolution (harness/reference)' };
  const config = { scheme, chain: L, decode: 'cascade' as const };
  const variant = packedKernelFor(p, config);
  const kernel = modulesFor(variant).find((k) => k.name === variant.module);
  if (!kernel) throw new Error(`the ${variant.module} WASM module is not usable on this engine (${variant.name})`);
  const r = new KernelRunner(variant, kernel, raw, config);
  r.run();
  return { acc: r.output() as Int32Array, engine: `WASM ${variant.name}` };
}

interface RtlRun {
  cycles: number;
  stalls: number;
  acc: Int32Array;
  trace?: string;
  ms: number;
  dir: string;
}

function runRtl(build: Build, p: ConvProblem, arch: Required<SplitConvArch>, scheme: EngineScheme, level: TraceLevel, keep: boolean): RtlRun {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-cosim-'));
  try {
    const c = engineConfig(p, arch, scheme);
    const limit = 16 + c.tileWords + (c.To * c.Tp * c.tileWords) * (arch.weightWordCycles + 1) + c.tileWords * arch.weightWordCycles + arch.L + arch.dspLatency + arch.accLatency + 16;
    for (const [name, text] of Object.entries(engineFiles(p, arch, scheme, level, limit))) writeFileSync(join(dir, name), text);
    const { ms } = build.run(dir);
    const result = readFileSync(join(dir, 'result.txt'), 'utf8');
    const timeout = /timeout (\d+)/.exec(result);
    if (timeout) throw new Error(`the RTL did not finish within ${timeout[1]} clocks (${describeShape(p.shape)})`);
    const cycles = Number(/cycles (\d+)/.exec(result)?.[1]);
    const stalls = Number(/stalls (\d+)/.exec(result)?.[1]);
    const words = readFileSync(join(dir, 'out.hex'), 'utf8').trim().split('\n');
    const acc = Int32Array.from(words, (w) => parseInt(w, 16) | 0);
    const trace = level ? readFileSync(join(dir, 'trace.txt'), 'utf8') : undefined;
    return { cycles, stalls, acc, ...(trace !== undefined ? { trace } : {}), ms, dir };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

const differing = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let n = 0;
  let first = -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      n++;
      if (first < 0) first = i;
    }
  }
  return { n, first };
};

const hex = (v: bigint, digits: number) => `0x${BigInt.asUintN(digits * 4, v).toString(16).padStart(digits, '0')}`;

function portsSummary(ports: SlicePorts): Record<string, string> {
  return {
    A: hex(ports.a, 8), B: hex(ports.b, 5), C: hex(ports.c, 12), D: hex(ports.d, 7), PCIN: hex(ports.pcin, 12),
    INMODE: ports.inmode.toString(2).padStart(5, '0'), OPMODE: `0x${ports.opmode.toString(16).padStart(3, '0')}`,
  };
}

/** The first traced P write that differs, or undefined when the traces agree. */
function firstTraceDifference(p: ConvProblem, arch: Required<SplitConvArch>, scheme: EngineScheme, rtlTrace: string, level: TraceLevel): CosimDifference | undefined {
  const want = new Map<string, { p: bigint; ports: Record<string, string>; issue: number }>();
  simulateSplitConv(p, arch, scheme, {
    stages: level === 2 ? 'all' : 'last',
    onP: (cycle, lane, cascade, stage, P, ports, issue) => want.set(`${cycle} ${lane} ${cascade} ${stage}`, { p: P, ports: portsSummary(ports), issue }),
  });
  const got = new Map<string, bigint>();
  for (const line of rtlTrace.split('\n')) {
    if (!line) continue;
    const [c, l, o, s, P] = line.split(' ');
    got.set(`${c} ${l} ${o} ${s}`, BigInt(`0x${P}`));
  }
  const keys = new Set([...want.keys(), ...got.keys()]);
  const order = (k: string) => k.split(' ').map(Number);
  let first: string | undefined;
  for (const k of keys) {
    const w = want.get(k);
    const g = got.get(k);
    if (w && g !== undefined && w.p === g) continue;
    if (!first) first = k;
    else {
      const a = order(k);
      const b = order(first);
      for (let i = 0; i < 4; i++) {
        if (a[i] !== b[i]) {
          if (a[i]! < b[i]!) first = k;
          break;
        }
      }
    }
  }
  if (!first) return undefined;
  const [cycle, lane, cascade, stage] = order(first) as [number, number, number, number];
  const w = want.get(first);
  const g = got.get(first);
  const fn = dspFunction(scheme);
  const gl = g !== undefined ? fn.decode(g) : undefined;
  const wl = w ? fn.decode(w.p) : undefined;
  const laneIndex = gl && wl ? wl.findIndex((v, i) => v !== gl[i]) : -1;
  return {
    where: 'cascade',
    cycle, pixelLane: lane, cascade, stage,
    ...(w ? { issue: w.issue, operands: w.ports } : {}),
    got: g === undefined ? 'no P written' : hex(g, 12),
    want: w ? hex(w.p, 12) : 'no P written',
    ...(laneIndex >= 0 && gl && wl ? { lane: laneIndex, gotLane: gl[laneIndex]!.toString(), wantLane: wl[laneIndex]!.toString() } : {}),
  };
}

/** Co-simulates one layer: RTL vs simulateSplitConv (outputs, cycles) vs the packed-DSP engine (outputs). */
export function cosimLayer(name: string, p: ConvProblem, o: LayerCosimOptions): LayerCosim {
  const arch = resolveArch(o.arch);
  const t0 = performance.now();
  const useSim = (o.against ?? 'sim') === 'sim';
  const sim: SplitConvSimResult | undefined = useSim ? simulateSplitConv(p, arch, o.scheme) : undefined;
  const tsMs = performance.now() - t0;
  const tiling = splitconvTiling(layerSpecOf(p.shape, o.scheme), arch, engineLanes(o.scheme));
  const wantCycles = sim ? sim.cycles : tiling.computeCycles + expectedStallCycles(p.shape, arch, o.scheme);
  const wantStalls = sim ? sim.stats.stallCycles : expectedStallCycles(p.shape, arch, o.scheme);
  const packed = packedEngineAccumulators(p, o.scheme, arch.L);
  const wantTrace = o.trace === 'always';
  const rtl = runRtl(o.build, p, arch, o.scheme, wantTrace ? 1 : 0, Boolean(o.keep));
  const vsSim = sim ? differing(rtl.acc, sim.accumulators) : { n: 0, first: -1 };
  const vsPacked = differing(rtl.acc, packed.acc);
  const outVsPacked = differing(requantizePacked(p, rtl.acc), requantizePacked(p, packed.acc)).n;
  const cyclesEqual = rtl.cycles === wantCycles;
  const equal = vsSim.n === 0 && vsPacked.n === 0 && cyclesEqual && rtl.stalls === wantStalls;

  let firstDifference: CosimDifference | undefined;
  if (!equal && o.trace !== 'never') {
    const entries = tiling.issues * arch.Pp * arch.Po * arch.L;
    const level: TraceLevel = entries <= (o.maxTraceEntries ?? 4_000_000) ? 2 : 1;
    const traced = runRtl(o.build, p, arch, o.scheme, level, false);
    firstDifference = firstTraceDifference(p, arch, o.scheme, traced.trace ?? '', level);
  }
  if (!equal && !firstDifference) {
    const first = vsSim.n ? vsSim.first : vsPacked.first;
    if (first >= 0) {
      const { outW } = outputSize(p.shape);
      const oc = p.shape.outC;
      firstDifference = {
        where: 'accumulator', oh: Math.floor(first / oc / outW), ow: Math.floor(first / oc) % outW, oc: first % oc,
        got: String(rtl.acc[first]), want: String(vsSim.n && sim ? sim.accumulators[first] : packed.acc[first]),
      };
    } else {
      firstDifference = { where: 'cycles', got: `${rtl.cycles} (${rtl.stalls} stalls)`, want: `${wantCycles} (${wantStalls} stalls)` };
    }
  }
  return {
    layer: name,
    shape: describeShape(p.shape),
    scheme: o.scheme,
    sim: o.build.sim,
    arch,
    outputs: packed.acc.length,
    issues: tiling.issues,
    dsp: arch.Pp * arch.Po * arch.L,
    cycles: { rtl: rtl.cycles, sim: wantCycles, from: sim ? 'simulateSplitConv' : 'model (a)', equal: cyclesEqual },
    stallCycles: { rtl: rtl.stalls, sim: wantStalls },
    mismatches: { vsSim: sim ? vsSim.n : null, vsPacked: vsPacked.n, outputsVsPacked: outVsPacked },
    packedEngine: packed.engine,
    equal,
    ...(firstDifference ? { firstDifference } : {}),
    ms: { rtl: rtl.ms, tsSim: sim ? tsMs : null },
    ...(o.keep ? { runDir: rtl.dir } : {}),
  };
}

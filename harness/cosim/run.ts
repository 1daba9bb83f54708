/**
 * The co-simulation jobs (`fkb cosim`), top to bottom:
 *
 *   runCosim          the engine's RTL (rtl/splitconv_pe.v) on a set of layers, per scheme: one
 *                     build per scheme and architecture (cached), every layer against
 *                     simulateSplitConv (outputs, cycles) and the packed-DSP engine (outputs);
 *   runContractCheck  a user's cascade unit (rtl/CONTRACT.md) against the slice model, on random
 *                     and boundary operands and the embedded model's operand stream.
 */
import type { ConvProblem, ConvShape, RequantMode } from '../conv/layer.ts';
import { referenceLayer } from '../bench/shapes.ts';
import type { EngineScheme } from '../fpga/models/splitconv.ts';
import { graphLayers } from '../fpga/graph-layers.ts';
import { dspFunction } from '../fpga/sim/dsp-function.ts';
import { resolveArch } from '../fpga/sim/splitconv-arch.ts';
import type { SplitConvArch } from '../fpga/sim/splitconv-sim.ts';
import { foldBatchNorm } from '../model/fold.ts';
import { loadModel } from '../pipelines/compress.ts';
import type { Operands } from '../problems/problem-builder.ts';
import { schemeProblem } from '../problems/scheme-problem.ts';
import { Rng } from '../util/rng.ts';
import { type ContractReport, checkUserRtl } from './contract.ts';
import { cosimLayer } from './engine-cosim.ts';
import { engineConfig, testbenchParams } from './engine-files.ts';
import { ENGINE_SOURCES, RTL_DIR, type SimulatorName, buildSimulation, requireSimulator } from './simulators.ts';
import type { LayerCosim } from './types.ts';
import { join } from 'node:path';

export interface CosimLayerSpec {
  name: string;
  shape: ConvShape;
}

/** The reference layer (56x56x64 -> 64, 3x3). */
export function referenceLayers(): CosimLayerSpec[] {
  const r = referenceLayer();
  return [{ name: r.name, shape: r.shape }];
}

/** Every ungrouped conv layer of the embedded Fashion-MNIST model (BatchNorm folded), the classifier included (a 1x1 conv). */
export function embeddedLayers(): CosimLayerSpec[] {
  const folded = foldBatchNorm(loadModel().graph).graph;
  return graphLayers(folded)
    .filter((l) => l.groups === 1)
    .map((l) => ({
      name: `fashion-mnist ${l.name.split('/')[1] ?? l.name}`,
      shape: { inH: l.inH, inW: l.inW, inC: l.inC, outC: l.outC, kH: l.kH, kW: l.kW, strideH: l.strideH, strideW: l.strideW, padTop: l.padTop, padBottom: l.padBottom, padLeft: l.padLeft, padRight: l.padRight },
    }));
}

/** `n` seeded small shapes with remainders everywhere (kernel 1 or 3, stride 1 or 2, padding). */
export function randomLayers(n: number, seed: number): CosimLayerSpec[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const k = rng.pick([1, 3]);
    const pad = k === 3 ? rng.int(0, 1) : 0;
    const stride = rng.int(1, 2);
    const inH = rng.int(Math.max(1, k - 2 * pad), 7);
    const inW = rng.int(Math.max(1, k - 2 * pad), 9);
    const shape = { inH, inW, inC: rng.int(1, 20), outC: rng.int(1, 9), kH: k, kW: k, strideH: stride, strideW: stride, padTop: pad, padBottom: pad, padLeft: pad, padRight: pad };
    return { name: `random ${i} (seed ${seed})`, shape };
  });
}

export interface CosimOptions {
  layers: CosimLayerSpec[];
  schemes: EngineScheme[];
  /** @default 'verilator' */
  sim?: SimulatorName;
  arch: SplitConvArch;
  /** @default 'random' */
  operands?: Operands;
  /** Seed of every layer's operands. @default 1 */
  seed?: number;
  /** @default 'gemmlowp' */
  mode?: RequantMode;
  /** See LayerCosimOptions.against. @default 'sim' */
  against?: 'sim' | 'model';
  /** @default 'auto' */
  trace?: 'auto' | 'always' | 'never';
  keep?: boolean;
  cacheDir?: string;
  onProgress?: (label: string, done: number, total: number) => void;
}

export interface CosimSchemeSummary {
  scheme: EngineScheme;
  layers: number;
  outputs: number;
  /** Accumulators differing from simulateSplitConv or the packed engine, summed over layers. */
  mismatches: number;
  /** Layers whose cycle count differs from simulateSplitConv's. */
  cycleMismatches: number;
  cyclesRtl: number;
  cyclesSim: number;
  dspCycles: number;
  build: { cached: boolean; ms: number };
  rtlMs: number;
  tsSimMs: number;
}

export interface CosimReport {
  sim: SimulatorName;
  simulator: string;
  arch: Required<SplitConvArch>;
  operands: Operands;
  seed: number;
  schemes: CosimSchemeSummary[];
  layers: LayerCosim[];
  equal: boolean;
  ms: number;
}

/** The operands of a layer as every engine gets them ('unpacked' takes int8x8's). */
export function layerProblem(shape: ConvShape, scheme: EngineScheme, operands: Operands, mode: RequantMode, seed: number): ConvProblem {
  return schemeProblem(shape, dspFunction(scheme).operands, operands, mode, seed);
}

export function runCosim(o: CosimOptions): CosimReport {
  const t0 = performance.now();
  const sim = o.sim ?? 'verilator';
  const simulator = requireSimulator(sim);
  const arch = resolveArch(o.arch);
  const operands = o.operands ?? 'random';
  const seed = o.seed ?? 1;
  const mode = o.mode ?? 'gemmlowp';
  const total = o.layers.length * o.schemes.length;
  const layers: LayerCosim[] = [];
  const schemes: CosimSchemeSummary[] = [];
  for (const scheme of o.schemes) {
    const problems = o.layers.map((l) => layerProblem(l.shape, scheme, operands, mode, seed));
    o.onProgress?.(`${scheme}: ${sim} build`, layers.length, total);
    const build = buildSimulation({
      sim,
      sources: [...ENGINE_SOURCES, join(RTL_DIR, 'tb', 'cosim_tb.v')],
      tb: 'cosim_tb',
      params: testbenchParams(arch, scheme, problems.map((p) => engineConfig(p, arch, scheme)), Math.max(...problems.map((p) => p.shape.outC)), sim === 'icarus'),
      ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    });
    const rows = o.layers.map((l, i) => {
      o.onProgress?.(`${scheme}: ${l.name}`, layers.length + i, total);
      return cosimLayer(l.name, problems[i]!, { build, arch, scheme, against: o.against ?? 'sim', ...(o.trace ? { trace: o.trace } : {}), ...(o.keep ? { keep: true } : {}) });
    });
    layers.push(...rows);
    const sum = (f: (r: LayerCosim) => number) => rows.reduce((s, r) => s + f(r), 0);
    schemes.push({
      scheme, layers: rows.length, outputs: sum((r) => r.outputs),
      mismatches: sum((r) => Math.max(r.mismatches.vsSim ?? 0, r.mismatches.vsPacked)),
      cycleMismatches: rows.filter((r) => !r.cycles.equal).length,
      cyclesRtl: sum((r) => r.cycles.rtl), cyclesSim: sum((r) => r.cycles.sim), dspCycles: sum((r) => r.cycles.rtl * r.dsp),
      build: { cached: build.cached, ms: build.buildMs }, rtlMs: sum((r) => r.ms.rtl), tsSimMs: sum((r) => r.ms.tsSim ?? 0),
    });
  }
  o.onProgress?.('done', total, total);
  return { sim, simulator, arch, operands, seed, schemes, layers, equal: layers.every((l) => l.equal), ms: performance.now() - t0 };
}

export interface ContractCheckOptions {
  files: string[];
  top: string;
  scheme: EngineScheme;
  L: number;
  sim?: SimulatorName;
  seed?: number;
  vectors?: number;
  /** Operands of the embedded model's layers too. @default true */
  model?: boolean;
  modelIssues?: number;
  cacheDir?: string;
}

/** A user's cascade unit against the contract: random + boundary operands, then the embedded model's. */
export function runContractCheck(o: ContractCheckOptions): ContractReport {
  const sim = o.sim ?? 'verilator';
  requireSimulator(sim);
  const modelLayers = o.model === false
    ? []
    : embeddedLayers().map((l) => ({ name: l.name, problem: layerProblem(l.shape, o.scheme, 'random', 'gemmlowp', o.seed ?? 1) }));
  return checkUserRtl({
    files: o.files, top: o.top, scheme: o.scheme, L: o.L, sim, modelLayers,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.vectors !== undefined ? { vectors: o.vectors } : {}),
    ...(o.modelIssues !== undefined ? { modelIssues: o.modelIssues } : {}),
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
  });
}

/**
 * Co-simulation speed: the engine's RTL (rtl/splitconv_pe.v) under Verilator and Icarus, and the
 * TypeScript cycle simulator simulateSplitConv, on the same layer (the embedded model's conv2,
 * 14x14x16 -> 32 3x3, int8x8, L=4 Po=2 Pp=2: 16 DSPs). Reported in DSP-cycles per second
 * (cycles x DSPs / wall time of one run, operand files and output parsing included), p50 ± MAD
 * over the runs. Not a test: `npx tsx bench/cosim-speed.ts [runs]`.
 */
import { cosimLayer } from '../harness/cosim/engine-cosim.ts';
import { engineConfig, testbenchParams } from '../harness/cosim/engine-files.ts';
import { embeddedLayers, layerProblem } from '../harness/cosim/run.ts';
import { ENGINE_SOURCES, RTL_DIR, buildSimulation } from '../harness/cosim/simulators.ts';
import { resolveArch } from '../harness/fpga/sim/splitconv-arch.ts';
import { simulateSplitConv } from '../harness/fpga/sim/splitconv-sim.ts';
import { join } from 'node:path';
import { p50Mad } from '../harness/util/stats.ts';

const runs = Number(process.argv[2] ?? 5);
const arch = resolveArch({ L: 4, Po: 2, Pp: 2 });
const scheme = 'int8x8' as const;
const layer = embeddedLayers().find((l) => l.name.endsWith('conv2'))!;
const p = layerProblem(layer.shape, scheme, 'random', 'gemmlowp', 1);
const dsp = arch.L * arch.Po * arch.Pp;

const fmt = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });

console.log(`${layer.name} ${layer.shape.inH}x${layer.shape.inW}x${layer.shape.inC}->${layer.shape.outC}, ${scheme}, L=${arch.L} Po=${arch.Po} Pp=${arch.Pp} (${dsp} DSPs), ${runs} runs`);
const rows: [string, number[], string][] = [];
for (const sim of ['verilator', 'icarus'] as const) {
  const t0 = performance.now();
  const build = buildSimulation({
    sim, sources: [...ENGINE_SOURCES, join(RTL_DIR, 'tb', 'cosim_tb.v')], tb: 'cosim_tb',
    params: testbenchParams(arch, scheme, [engineConfig(p, arch, scheme)], p.shape.outC, sim === 'icarus'),
  });
  const buildNote = build.cached ? 'build cached' : `build ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const rates: number[] = [];
  let cycles = 0;
  for (let i = 0; i < (sim === 'icarus' ? Math.min(runs, 3) : runs); i++) {
    const r = cosimLayer(layer.name, p, { build, arch, scheme, against: 'model' });
    if (!r.equal) throw new Error(`${sim}: the RTL differs: ${JSON.stringify(r.firstDifference)}`);
    cycles = r.cycles.rtl;
    rates.push((r.cycles.rtl * dsp) / (r.ms.rtl / 1000));
  }
  rows.push([`${sim} RTL`, rates, `${fmt(cycles)} cycles; ${buildNote}`]);
}
const ts: number[] = [];
let tsCycles = 0;
for (let i = 0; i < Math.min(runs, 3); i++) {
  const t = performance.now();
  const r = simulateSplitConv(p, arch, scheme);
  tsCycles = r.cycles;
  ts.push((r.cycles * dsp) / ((performance.now() - t) / 1000));
}
rows.push(['simulateSplitConv (TS)', ts, `${fmt(tsCycles)} cycles`]);
for (const [name, rates, note] of rows) {
  const { p50, mad } = p50Mad(rates);
  console.log(`${name.padEnd(24)} ${fmt(p50).padStart(12)} ± ${fmt(mad).padStart(9)} DSP-cycles/s  (${rates.length} runs; ${note})`);
}

/**
 * Where the time of each SIMD kernel goes on the reference layer, beside its instruction path's
 * peak (docs/peak.md). Per kernel, from public entry points only (KernelRunner.run):
 *
 *   % peak       GMAC/s over the path's resident peak (weights in registers, fkb bench's column)
 *   % loads      GMAC/s over the path's peak with all operands loaded from L1 (2 + 4 vectors per 8 groups)
 *   requant      (t[fp32] - t[raw]) / t[fp32]: requantization to int8 (raw still copies the int32 rows)
 *   fixed        the part of t that does not grow with the output channels: t at OC = 64 and at
 *                OC = NR fitted as fixed + OC * c, over t[64]; mostly packing the activations
 *                (every call) and, for the relaxed kernels, the per-pixel window sums
 *   inner        the layer's MACs at the loads peak, over t: the inner loop if it ran at its ceiling
 *   rest         1 - requant - fixed - inner: reduction, bias, tile and loop overhead, short inner
 *                loops (24 steps of 8 channels, 12 of 16 per kernel row on this layer), spills
 *
 * Not a test: `npx tsx bench/peak-shares.ts [ms per timing]` (Node 24: run it with that node).
 */
import { referenceLayer } from '../harness/bench/shapes.ts';
import { measurePeaks } from '../harness/bench/peak.ts';
import { p50Mad } from '../harness/util/stats.ts';
import { type ConvProblem, type ConvShape, macs } from '../harness/conv/layer.ts';
import { DEFAULT_PACKED_CONFIG } from '../harness/dsp/packed-conv.ts';
import { fitToScheme } from '../harness/problems/scheme-problem.ts';
import { DSPCONV_VARIANTS } from '../harness/registry/dspconv.ts';
import { pathOf } from '../harness/registry/paths.ts';
import { SPLITCONV_VARIANTS } from '../harness/registry/splitconv.ts';
import { KernelTester } from '../harness/testers/kernel-tester.ts';
import { KernelRunner, type KernelVariant, modulesFor } from '../harness/wasm/kernel-runner.ts';

const timeMs = Number(process.argv[2] ?? 400);
const layer = referenceLayer();
const peaks = measurePeaks({ timeMs });

function problem(v: KernelVariant, shape: ConvShape, mode: 'fp32' | 'raw'): ConvProblem {
  const p = new KernelTester().shape(shape).inputZeroPoint(-5).outputZeroPoint(3).mode(mode).seed(1).scales(2e-4, 2e-3).problem(v.weightRange);
  return 'schemes' in v ? fitToScheme(p, DEFAULT_PACKED_CONFIG.scheme) : p;
}

/** p50 of one run, ms, over `timeMs` of runs after a warm-up. */
function time(v: KernelVariant, shape: ConvShape, mode: 'fp32' | 'raw'): { p50: number; mad: number } {
  const kernel = modulesFor(v).find((k) => k.name !== 'debug')!;
  const r = new KernelRunner(v, kernel, problem(v, shape, mode), 'schemes' in v ? DEFAULT_PACKED_CONFIG : undefined);
  const warm = performance.now();
  while (performance.now() - warm < 100) r.run();
  const ms: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < timeMs || ms.length < 10) {
    const t = performance.now();
    r.run();
    ms.push(performance.now() - t);
  }
  return p50Mad(ms);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}`.padStart(6);
console.log(`${layer.name} (${layer.shape.inH}x${layer.shape.inW}x${layer.shape.inC}->${layer.shape.outC} ${layer.shape.kH}x${layer.shape.kW}), Node ${process.version}`);
for (const p of peaks.peaks) console.log(`peak ${p.path.padEnd(14)} ${p.operands.padEnd(9)} ${p.gmacs.toFixed(2)} ± ${p.madGmacs.toFixed(2)} GMAC/s`);
for (const s of peaks.skipped) console.log(`peak ${s.path}: ${s.reason}`);
console.log(['kernel'.padEnd(56), 'ms p50 ± MAD'.padStart(16), 'GMAC/s', '% peak', '% loads', 'requant', ' fixed', ' inner', '  rest'].join(' '));
const variants: KernelVariant[] = [...SPLITCONV_VARIANTS.filter((v) => v.module !== 'scalar'), ...DSPCONV_VARIANTS.filter((v) => v.schemes.includes(DEFAULT_PACKED_CONFIG.scheme))];
for (const v of variants) {
  const path = pathOf(v);
  const reg = peaks.peaks.find((p) => p.path === path && p.operands === 'resident');
  const loads = peaks.peaks.find((p) => p.path === path && p.operands === 'loads');
  if (!reg || !loads || !modulesFor(v).some((k) => k.name !== 'debug')) continue;
  const full = time(v, layer.shape, 'fp32');
  const raw = time(v, layer.shape, 'raw');
  const small = time(v, { ...layer.shape, outC: v.nr }, 'fp32');
  const n = layer.shape.outC;
  const perChannel = (full.p50 - small.p50) / (n - v.nr);
  const fixed = (small.p50 - v.nr * perChannel) / full.p50;
  const gmacs = macs(layer.shape) / full.p50 / 1e6;
  const requant = (full.p50 - raw.p50) / full.p50;
  const inner = macs(layer.shape) / (loads.gmacs * 1e6) / full.p50;
  console.log(
    [v.name.padEnd(56), `${full.p50.toFixed(3)} ± ${full.mad.toFixed(3)}`.padStart(16), gmacs.toFixed(2).padStart(6), pct(gmacs / reg.gmacs), pct(gmacs / loads.gmacs).padStart(7),
      pct(requant).padStart(7), pct(fixed), pct(inner), pct(1 - requant - fixed - inner)].join(' '),
  );
}

/**
 * The sweep of a pipelined dataflow (FINN, Umuroglu et al., FPGA 2017, Sec. 4; the same rule
 * as `finnNetwork`): every layer has its own engine and all run concurrently, so
 *   cycles/frame = the slowest layer's,  DSP and BRAM = the sum over layers,
 *   throughput   = f / (cycles/frame)  [frames/s].
 *
 * Folding rule (balances the layers for a target T in cycles per frame): for each layer take
 * the (PE, SIMD) with PE | MH and SIMD | MW whose cycles pixels*MH*MW/(PE*SIMD) are at most T
 * with the fewest multipliers PE*SIMD (then the least BRAM, then the smallest PE). Every layer
 * then runs as close to T as its divisors allow. The targets are every cycle count a layer can
 * reach, from the slowest layer's fully parallel count up: each distinct design once. The
 * swept dimensions are the targets and the model's other parameters (packing, res).
 */
import type { Device } from './devices.ts';
import { bramMessage, dspMessage, newLayerCost, type PreparedLayer } from './models/common.ts';
import { finnCore, finnMatrix, type FinnConfig } from './models/finn.ts';
import { Points } from './sweep-points.ts';
import type { RunInput, RunResult } from './sweep-run.ts';
import { configAt, sampler, spaceSize } from './sweep-sampling.ts';
import { divisorsUpTo, layerKey } from './sweep-space.ts';
import { PROGRESS_EVERY, type SweepDim, type SweepPoint } from './sweep-types.ts';

interface FinnCandidates {
  /** Per option, by multipliers ascending (cycles descending). */
  cycles: Float64Array;
  dsp: Float64Array;
  bram: Float64Array;
  PE: Int32Array;
  SIMD: Int32Array;
}

/** Every (PE, SIMD) of a layer, one per multiplier count PE*SIMD: the least BRAM, then the smallest PE. */
function finnCandidates(g: PreparedLayer, cfg: FinnConfig, device: Device): FinnCandidates {
  const { rows, cols } = finnMatrix(g);
  const best = new Map<number, { cycles: number; dsp: number; bram: number; PE: number; SIMD: number }>();
  const out = newLayerCost();
  for (const PE of divisorsUpTo(rows, rows)) {
    for (const SIMD of divisorsUpTo(cols, cols)) {
      finnCore.cost(g, { ...cfg, PE, SIMD }, device, out);
      const k = PE * SIMD;
      const b = best.get(k);
      if (!b || out.bram < b.bram) best.set(k, { cycles: out.computeCycles, dsp: out.dsp, bram: out.bram, PE, SIMD });
    }
  }
  const sorted = [...best.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  return {
    cycles: Float64Array.from(sorted, (s) => s.cycles),
    dsp: Float64Array.from(sorted, (s) => s.dsp),
    bram: Float64Array.from(sorted, (s) => s.bram),
    PE: Int32Array.from(sorted, (s) => s.PE),
    SIMD: Int32Array.from(sorted, (s) => s.SIMD),
  };
}

/** First option whose cycles are at most `target` (cycles are descending). */
function pick(c: FinnCandidates, target: number): number {
  let lo = 0;
  let hi = c.cycles.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.cycles[mid]! <= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Evaluates every (other dimensions, target) pair, or `limit` of them at an even stride. */
export function sweepFinn({ opts, device, layers, dims, base, tally, limit }: RunInput): RunResult {
  // The candidates of every layer under every combination of the other dimensions.
  const otherSpace = spaceSize(dims);
  const options: (FinnCandidates[] | { error: unknown; where: string })[] = [];
  for (let o = 0; o < otherSpace; o++) {
    const cfg = finnCore.config(configAt(o, dims, base).params, device);
    const per: FinnCandidates[] = [];
    let failed: { error: unknown; where: string } | undefined;
    for (const u of layers) {
      try {
        per.push(finnCandidates(u.g, cfg, device));
      } catch (error) {
        failed = { error, where: u.names[0]! };
        break;
      }
    }
    options.push(failed ?? per);
  }
  // Targets: every cycle count some layer reaches, from the slowest layer's fastest up.
  const reach = new Set<number>();
  let floor = 0;
  const anyOk = options.find((o): o is FinnCandidates[] => Array.isArray(o));
  if (anyOk) {
    for (const c of anyOk) {
      floor = Math.max(floor, c.cycles[c.cycles.length - 1]!);
      for (const v of c.cycles) reach.add(v);
    }
  }
  const targets = [...reach].filter((t) => t >= floor).sort((a, b) => a - b);
  if (targets.length === 0) targets.push(0); // every option failed: one (infeasible) target per option
  const allDims: SweepDim[] = [...dims, { name: 'targetCycles', values: targets }];
  const space = otherSpace * targets.length;
  const { count, at } = sampler(space, limit);
  const points = new Points(count);
  const fClock = opts.clockMHz * 1e6;
  for (let k = 0; k < count; k++) {
    const index = at(k);
    const o = Math.floor(index / targets.length);
    const target = targets[index % targets.length]!;
    const opt = options[o]!;
    if (!Array.isArray(opt)) tally.addError(opt.error, opt.where);
    else {
      let slowest = 0;
      let dsp = 0;
      let bram = 0;
      for (let l = 0; l < layers.length; l++) {
        const c = opt[l]!;
        const i = pick(c, target);
        if (c.cycles[i]! > slowest) slowest = c.cycles[i]!;
        dsp += c.dsp[i]! * layers[l]!.count;
        bram += c.bram[i]! * layers[l]!.count;
      }
      if (dsp > device.dsp) tally.add('dsp', () => dspMessage(dsp, 'FINN: sum of the per-layer DSPs', device));
      else if (bram > device.bram36) tally.add('bram', () => bramMessage(bram, 'FINN: sum of the per-layer weight memories', device));
      else points.push(index, slowest, fClock / slowest, dsp, bram, 0);
    }
    if (opts.onProgress && (k + 1) % PROGRESS_EVERY === 0) opts.onProgress(k + 1, count);
  }
  opts.onProgress?.(count, count);
  return {
    dims: allDims,
    points,
    space,
    evaluated: count,
    materialise(index) {
      const o = Math.floor(index / targets.length);
      const target = targets[index % targets.length]!;
      const { config, params } = configAt(o, dims, base);
      config['targetCycles'] = target;
      const opt = options[o] as FinnCandidates[];
      const foldings: NonNullable<SweepPoint['foldings']> = [];
      opts.network.layers.forEach((l, idx) => {
        const u = layers.findIndex((x) => x.g.layer === l || layerKey(x.g.layer) === layerKey(l));
        const c = opt[u]!;
        const i = pick(c, target);
        foldings.push({ layer: l.name ?? `layer${idx}`, PE: c.PE[i]!, SIMD: c.SIMD[i]!, cycles: c.cycles[i]! });
      });
      return { config, params, cores: 1, foldings };
    },
  };
}

/**
 * The objectives of `fkb search`, all minimised: top-1 error on the search images, engine (a)'s
 * latency per image, its DSP slices, and the model's size in bits; the scalarisations the
 * strategies optimise; Pareto fronts; and the hypervolume that compares two strategies' fronts.
 *
 * Scalarisation k (SCALARIZATIONS[k] = { lat, dsp, size }) of a feasible point p, against the
 * reference candidate r (all 8-bit, unpruned, engine L=16 Po=8 Pp=1):
 *
 *     s_k(p) = error(p) + lat * log2(latency(p) / latency(r)) + dsp * log2(dsp(p) / dsp(r))
 *                       + size * log2(size(p) / size(r))
 *
 * so a weight of 0.01 on latency trades one point of top-1 for halving the latency. An
 * infeasible point scores +Infinity.
 *
 * Hypervolume: each objective is mapped to [0, 1] (error / 0.5, clipped; the costs as
 * log(v / min) / log(max / min) with min and max over all points compared, so two strategies are
 * measured in the same box), and the volume dominated by the front inside the unit box is
 * computed exactly by slicing along the last objective (recursively; fine for fronts of a few
 * hundred points).
 */
import { paretoFront } from '../fpga/pareto.ts';
import type { EvalResult } from './job.ts';

export interface Weights {
  lat: number;
  dsp: number;
  size: number;
}

/** Six trade-offs from accuracy-first to cost-first, alternating which cost leads. */
export const SCALARIZATIONS: readonly Weights[] = [0.002, 0.004, 0.008, 0.016, 0.032, 0.064].map((s, k) => {
  const mix = [{ lat: 1, dsp: 0.2, size: 0.2 }, { lat: 0.6, dsp: 0.6, size: 0.2 }, { lat: 0.6, dsp: 0.2, size: 0.6 }][k % 3]!;
  return { lat: s * mix.lat, dsp: s * mix.dsp, size: s * mix.size };
});

export const feasible = (r: EvalResult): r is EvalResult & { latencyUs: number; dsp: number; cycles: number } => r.latencyUs !== undefined && r.dsp !== undefined;

export function scalarize(r: EvalResult, w: Weights, ref: EvalResult): number {
  if (!feasible(r) || !feasible(ref)) return Infinity;
  return 1 - r.top1 + w.lat * Math.log2(r.latencyUs / ref.latencyUs) + w.dsp * Math.log2(r.dsp / ref.dsp) + w.size * Math.log2(r.sizeBits / ref.sizeBits);
}

/** [error, latency, dsp, size] of a feasible result. */
export const objectives = (r: EvalResult): number[] => [1 - r.top1, r.latencyUs!, r.dsp!, r.sizeBits];

/** Indices of the non-dominated feasible results (accuracy max, costs min), best top-1 first. */
export function front(results: readonly EvalResult[]): number[] {
  const idx = results.map((_, i) => i).filter((i) => feasible(results[i]!));
  const pick = (f: (r: EvalResult) => number) => idx.map((i) => f(results[i]!));
  return paretoFront(idx.length, pick((r) => r.top1), [pick((r) => r.latencyUs!), pick((r) => r.dsp!), pick((r) => r.sizeBits)]).map((k) => idx[k]!);
}

/** Exact hypervolume of points (minimised, each in [0, 1]) below the reference point (1, ..., 1). */
export function hypervolume(points: readonly number[][]): number {
  const inBox = points.filter((p) => p.every((v) => v < 1));
  const rec = (ps: number[][], d: number): number => {
    if (ps.length === 0) return 0;
    if (d === 1) return 1 - Math.min(...ps.map((p) => p[0]!));
    const sorted = [...ps].sort((a, b) => a[d - 1]! - b[d - 1]!);
    let volume = 0;
    for (let i = 0; i < sorted.length; i++) {
      const top = i + 1 < sorted.length ? sorted[i + 1]![d - 1]! : 1;
      const height = top - sorted[i]![d - 1]!;
      if (height > 0) volume += height * rec(sorted.slice(0, i + 1), d - 1);
    }
    return volume;
  };
  return inBox.length ? rec(inBox, inBox[0]!.length) : 0;
}

/** The normalisation of the file comment, fixed by every result of every strategy compared. */
export function normalizer(all: readonly EvalResult[]): (r: EvalResult) => number[] {
  const ok = all.filter(feasible);
  const bounds = [1, 2, 3].map((k) => {
    const v = ok.map((r) => objectives(r)[k]!);
    return [Math.min(...v), Math.max(...v)] as const;
  });
  return (r) => {
    const o = objectives(r);
    return [Math.min(1, o[0]! / 0.5), ...bounds.map(([lo, hi], k) => (hi > lo ? Math.log(o[k + 1]! / lo) / Math.log(hi / lo) : 0) * (1 - 1e-9))];
  };
}

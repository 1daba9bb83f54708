/**
 * Configurations by index: a configuration is a mixed-radix number over the dimensions (last
 * dimension fastest), so a sweep walks, samples and splits the space as integers and decodes
 * a configuration only where it needs one.
 */
import type { Params } from './models/common.ts';
import type { DimValue, SweepDim, SweepPoint } from './sweep-types.ts';

/** Mixed-radix decoding of a configuration index, last dimension fastest. */
export function decode(index: number, dims: readonly SweepDim[], digits: Int32Array): void {
  let rest = index;
  for (let d = dims.length - 1; d >= 0; d--) {
    const n = dims[d]!.values.length;
    digits[d] = rest % n;
    rest = Math.floor(rest / n);
  }
}

/** The configuration at `index`: swept values, every model parameter, and the core count. */
export function configAt(index: number, dims: readonly SweepDim[], base: Params): Pick<SweepPoint, 'config' | 'params' | 'cores'> {
  const digits = new Int32Array(dims.length);
  decode(index, dims, digits);
  const params: Params = { ...base };
  const cores = applyDigits(params, dims, digits);
  const config: Record<string, DimValue> = {};
  dims.forEach((d, i) => (config[d.name] = d.values[digits[i]!]!));
  return { config, params, cores };
}

export function spaceSize(dims: readonly SweepDim[]): number {
  return dims.reduce((a, d) => a * d.values.length, 1);
}

/** Indices to evaluate: all, or `limit` of them at an even stride. */
export function sampler(space: number, limit: number): { count: number; at: (k: number) => number } {
  if (space <= limit) return { count: space, at: (k) => k };
  const stride = space / limit;
  return { count: limit, at: (k) => Math.floor(k * stride) };
}

/** Sets the swept parameters of `p` from the digits; returns the core count (1 unless swept). */
export function applyDigits(p: Params, dims: readonly SweepDim[], digits: Int32Array): number {
  let cores = 1;
  for (let d = 0; d < dims.length; d++) {
    const dim = dims[d]!;
    const v = dim.values[digits[d]!]!;
    if (dim.name === 'cores') cores = v as number;
    else p[dim.name] = v;
  }
  return cores;
}

/** Option parsers shared by the `fkb` commands; each throws an InputError naming the option. */
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.ts';
import { setOwn } from '../util/records.ts';

/** Accumulates a repeatable option. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The number a user typed; blank text is NaN (Number('') would be 0). */
export const toNumber = (v: string): number => (v.trim() === '' ? NaN : Number(v));

/** An integer from 1, up to `max` when given. */
export function positiveInt(name: string, max?: number) {
  return (v: string): number => {
    const n = toNumber(v);
    if (!Number.isSafeInteger(n) || n < 1 || (max !== undefined && n > max)) {
      throw new InputError(`${name} must be ${max === undefined ? 'a positive integer' : `an integer in [1, ${max}]`}, got '${v}'`);
    }
    return n;
  };
}

/** `--threads`: worker threads, at most 64. */
export const MAX_THREADS = 64;

/** A finite number above 0, up to `max` when given. */
export function positiveNumber(name: string, max?: number) {
  return (v: string): number => {
    const n = toNumber(v);
    if (!Number.isFinite(n) || n <= 0 || (max !== undefined && n > max)) {
      throw new InputError(`${name} must be a positive number${max === undefined ? '' : ` up to ${max}`}, got '${v}'`);
    }
    return n;
  };
}

/** `--time`: measuring time per kernel, ms; ten minutes at most, so no typo runs for days. */
export const MAX_TIME_MS = 600_000;

/** Thousands separators and a fixed number of decimals, for terminal tables. */
export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A number (or integer) in [lo, hi]. */
export function numberIn(name: string, lo: number, hi: number, integer: boolean) {
  return (v: string): number => {
    const n = toNumber(v);
    if (!Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) {
      throw new InputError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got '${v}'`);
    }
    return n;
  };
}

/** `--layer-bits name=bits` pairs (bits in 2..8); a name may itself contain '='. */
export function parseLayerBits(pairs: readonly string[], option = '--layer-bits'): Record<string, number> {
  return parseLayerValues(pairs, option, 'bits', 2, 8, true);
}

/** `name=value` pairs of a repeatable per-layer option, each value in [lo, hi]; a name may itself contain '='. */
export function parseLayerValues(pairs: readonly string[], option: string, what: string, lo: number, hi: number, integer: boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const i = p.lastIndexOf('=');
    const v = toNumber(p.slice(i + 1));
    if (i <= 0 || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < lo || v > hi) {
      throw new InputError(`${option} takes name=${what} with ${what} ${integer ? `in ${lo}..${hi}` : `in [${lo}, ${hi}]`}, got '${p}'`);
    }
    setOwn(out, p.slice(0, i), v);
  }
  return out;
}

/** Where `fkb bench` and `fkb run` write their JSON, and `fkb compare --bench latest` reads it. */
export const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** An ISO date as a file-name part (no ':' or '.'). */
export const stamp = (isoDate: string): string => isoDate.replace(/[:.]/g, '-');

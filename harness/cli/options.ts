/** Option parsers shared by the `fkb` commands; each throws an InputError naming the option. */
import { InputError } from '../util/errors.ts';

/** Accumulates a repeatable option. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** A number (or integer) in [lo, hi]. */
export function numberIn(name: string, lo: number, hi: number, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) {
      throw new InputError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got '${v}'`);
    }
    return n;
  };
}

/** `--layer-bits name=bits` pairs (bits in 2..8); a name may itself contain '='. */
export function parseLayerBits(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const i = p.lastIndexOf('=');
    const bits = Number(p.slice(i + 1));
    if (i <= 0 || !Number.isInteger(bits) || bits < 2 || bits > 8) throw new InputError(`--layer-bits takes name=bits with bits in 2..8, got '${p}'`);
    out[p.slice(0, i)] = bits;
  }
  return out;
}

/** How the operands and product lanes of a packing scheme are named in messages and tables. */
import type { PackingScheme } from './schemes.ts';

/** Operand names of a scheme, in `ports(w, a)` order. */
export function operandNames(s: PackingScheme): { w: string[]; a: string[] } {
  const w = s.weights === 1 ? ['w'] : ['w1', 'w2'];
  const a = s.activations === 1 ? ['a'] : s.name === 'wp487u8' ? ['u1', 'u2'] : ['a1', 'a2'];
  return { w, a };
}

/** "w2*a": the product lane i holds. */
export function laneName(s: PackingScheme, lane: number): string {
  const l = s.lanes[lane]!;
  const n = operandNames(s);
  return `${n.w[l.w]}*${n.a[l.a]}`;
}

/** "w1=-128 w2=127 a=-128". */
export function formatOperands(s: PackingScheme, w: readonly number[], a: readonly number[]): string {
  const n = operandNames(s);
  return [...w.map((v, i) => `${n.w[i]}=${v}`), ...a.map((v, i) => `${n.a[i]}=${v}`)].join(' ');
}

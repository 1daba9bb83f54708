/**
 * One relaxed dot product with a non-zero accumulator, for the harness's load-time self-check
 * (Node 20's baseline compiler returns twice the dot and drops the accumulator).
 * Lanes of a: i8 values at `a`; lanes of b: values in [0, 127] at `b`; c: i32x4 at `c`.
 */
export function relaxedDotProbe(a: usize, b: usize, c: usize, out: usize): void {
  v128.store(out, i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(a), v128.load(b), v128.load(c)));
}

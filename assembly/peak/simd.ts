/** The peak loops of the plain SIMD paths (assembly/peak/loops.ts), exported by the simd module. */
import { PATH_DOT16X8, PATH_EXTMUL8X16, peakLoop } from './loops';

export function peakDot16x8Resident(ops: usize, iters: i32, out: usize): void {
  peakLoop(PATH_DOT16X8, false, ops, iters, out);
}

export function peakDot16x8Loads(ops: usize, iters: i32, out: usize): void {
  peakLoop(PATH_DOT16X8, true, ops, iters, out);
}

export function peakExtmul8x16Resident(ops: usize, iters: i32, out: usize): void {
  peakLoop(PATH_EXTMUL8X16, false, ops, iters, out);
}

export function peakExtmul8x16Loads(ops: usize, iters: i32, out: usize): void {
  peakLoop(PATH_EXTMUL8X16, true, ops, iters, out);
}

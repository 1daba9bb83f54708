/** The peak loops of the relaxed dot product (assembly/peak/loops.ts), exported by the relaxed module. */
import { PATH_RDOT, peakLoop } from './loops';

export function peakRdotResident(ops: usize, iters: i32, out: usize): void {
  peakLoop(PATH_RDOT, false, ops, iters, out);
}

export function peakRdotLoads(ops: usize, iters: i32, out: usize): void {
  peakLoop(PATH_RDOT, true, ops, iters, out);
}

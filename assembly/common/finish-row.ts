/** Writes one output row from the row accumulators (see finishRowScalar for the contract). */
import { finishRowScalar } from './requant';

export function finishRow(p: usize, acc: usize, accStride: i32, oh: i32): void {
  finishRowScalar(p, acc, accStride, oh);
}

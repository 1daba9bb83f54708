/**
 * The ConvParams block: one struct of i32 fields that the harness writes into linear memory
 * and every kernel reads. One pointer instead of thirty arguments. The field indices and the
 * mode and packed-DSP codes are generated into ./codes.ts from harness/registry/codes.ts, the
 * table the TypeScript side reads too; every module exports them and a test compares them.
 */
export * from './codes';

// @ts-ignore: decorator
@inline export function field(p: usize, index: i32): i32 {
  return load<i32>(p + (<usize>index << 2));
}

// @ts-ignore: decorator
@inline export function ptr(p: usize, index: i32): usize {
  return <usize>load<u32>(p + (<usize>index << 2));
}

/** Rounds n up to a multiple of m (m a power of two). */
// @ts-ignore: decorator
@inline export function roundUp(n: i32, m: i32): i32 {
  return (n + m - 1) & ~(m - 1);
}

/** Where the harness may start placing buffers. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

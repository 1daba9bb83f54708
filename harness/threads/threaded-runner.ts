/**
 * One convolution on the N threads of a ThreadPool: the KernelRunner's layout (params, input,
 * weights, packed weights, scratch, output, each guarded) placed in the pool's shared memory, plus
 * a scratch of `<variant>_thread_bytes` for each thread. run() packs the input rows in N bands
 * (`<variant>_pack_rows`), then computes the output rows in N bands (`<variant>_rows`), each
 * thread with its own row accumulators and constants. Every output row is computed by the same
 * code on the same packed data as the single-thread `_run`, so the output bytes are the same.
 *
 * threadedCall() is the same for an executor that lays out its own buffers in the pool's memory
 * (e.g. a whole-graph executor): given a filled ConvParams block, a function that runs it.
 */
import { type ConvProblem, type ConvShape, outputSize } from '../conv/layer.ts';
import type { PackedConvConfig } from '../dsp/packed-conv.ts';
import { KernelRunner, type KernelVariant } from '../wasm/kernel-runner.ts';
import type { LoadedModuleName } from '../wasm/modules.ts';
import { type ThreadPool, type ThreadShare, bands } from './pool.ts';

/**
 * Runs `variant` on the params block at `params` (in pool.memory, for a layer of `shape`) on all
 * of the pool's threads. `scratch(t, bytes)` gives thread t's own scratch (default: pool.alloc).
 */
export function threadedCall(
  pool: ThreadPool,
  variantName: string,
  params: number,
  shape: ConvShape,
  scratch: (thread: number, bytes: number) => number = (t, bytes) => pool.alloc(bytes, `${variantName} thread ${t} scratch`),
): () => void {
  const threadBytes = Number((pool.exports[`${variantName}_thread_bytes`] as (p: number) => number)(params));
  const rowBands = bands(shape.inH + shape.padTop + shape.padBottom, pool.threads);
  const outBands = bands(outputSize(shape).outH, pool.threads);
  const shares: ThreadShare[] = rowBands.map(([r0, r1], t) => ({ r0, r1, oh0: outBands[t]![0], oh1: outBands[t]![1], scratch: scratch(t, threadBytes) }));
  const packRows = pool.functionIndex(`${variantName}_pack_rows`);
  const rows = pool.functionIndex(`${variantName}_rows`);
  return () => pool.run(packRows, rows, params, shares);
}

export class ThreadedKernelRunner extends KernelRunner {
  private readonly call: () => void;

  /** `pool` must be the pool of the variant's module (ThreadPools.forVariant). */
  constructor(variant: KernelVariant, readonly pool: ThreadPool, problem: ConvProblem, dsp?: PackedConvConfig) {
    if (`${variant.module}-mt` !== pool.moduleName) throw new Error(`${variant.name} is in ${variant.module}, the pool runs ${pool.moduleName}`);
    const kernel = { name: variant.module as LoadedModuleName, instantiate: () => pool.exports };
    super(variant, kernel, problem, dsp, pool);
    // Every thread gets a guarded scratch of its own (thread 0 too: no knowledge of the kernel's layout needed).
    this.call = threadedCall(pool, variant.name, this.offsetOf('params'), problem.shape, (t, bytes) => this.place(`thread ${t} scratch`, bytes).offset);
  }

  override run(): void {
    this.call();
  }
}

/**
 * The convolution backends of integer-graph inference: the exact reference, the SIMD
 * split-convolution kernel, and the packed-DSP kernel (int-graph.ts says what each computes).
 * A graph's kernel runners are built on first use and kept with it.
 */
import type { PackedConvConfig } from '../dsp/packed-conv.ts';
import { packedKernelFor } from '../exactness/layer-exactness.ts';
import { referenceConv } from '../reference/conv.ts';
import type { DspConvVariant } from '../registry/dspconv.ts';
import { type SplitConvVariant, findVariant } from '../registry/splitconv.ts';
import { InputError } from '../util/errors.ts';
import { KernelRunner, modulesFor } from '../wasm/kernel-runner.ts';
import { sharedNodePool } from '../threads/node-host.ts';
import { ThreadedKernelRunner } from '../threads/threaded-runner.ts';
import type { IntConv, IntGraph } from './int-graph-nodes.ts';
import { packingFor } from './packing-plan.ts';

import { BACKENDS, type Backend } from '../results/index.ts';

export { BACKENDS, type Backend };

export const WASM_VARIANT = 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8';

/** Runs group `group` of a convolution (its perGroup problem) on that group's input channels. */
export type GroupRun = (node: IntConv, group: number, input: Int8Array) => Int8Array;

/** Kernel runners per integer graph, backend and threads inside a layer, built on first use (weights packed once). */
const sessions = new WeakMap<IntGraph, Map<string, GroupRun>>();

function wasmVariant(): SplitConvVariant {
  const v = findVariant(WASM_VARIANT);
  if (!v) throw new Error(`${WASM_VARIANT} is not registered`);
  return v;
}

/** The kernel and packing a layer runs: one split-convolution variant for all, or the layer's packing plan. */
type KernelChoice = (node: IntConv) => { variant: SplitConvVariant | DspConvVariant; dsp?: PackedConvConfig };

/**
 * One WASM instance per layer. A grouped layer's groups share it: each group re-loads its
 * weights (setWeights), which costs a pack of kH*kW*inC/groups bytes per output channel.
 * With `threads` > 1 each layer runs on that many threads (harness/threads/: the process's
 * pool of the module, the layer's buffers in its shared memory for as long as the process runs),
 * with the same output bytes.
 */
function kernelRunner(choose: KernelChoice, threads = 1): GroupRun {
  const runners = new Map<IntConv, { runner: KernelRunner; group: number }>();
  return (node, group, input) => {
    const problem = node.perGroup[group]!;
    let r = runners.get(node);
    if (!r) {
      const { variant, dsp } = choose(node);
      const kernel = modulesFor(variant).find((k) => k.name === 'simd');
      if (!kernel) throw new InputError(`${variant.name}: the 'simd' WASM module is not usable on this engine (run 'npm run build')`);
      const p = { ...problem, input };
      const runner = threads > 1 ? new ThreadedKernelRunner(variant, sharedNodePool(variant, threads, 'threadsInLayer'), p, dsp) : new KernelRunner(variant, kernel, p, dsp);
      r = { runner, group };
      runners.set(node, r);
    } else {
      if (r.group !== group) r.runner.setWeights(problem);
      r.group = group;
      r.runner.setInput(input);
    }
    r.runner.run();
    return r.runner.output() as Int8Array;
  };
}

/**
 * The backend's runner for this graph, built on first use. `threadsInLayer` > 1 runs each
 * convolution of the wasm and dsp backends on that many threads (Node), bit-identical.
 */
export function groupRunner(g: IntGraph, backend: Backend, threadsInLayer = 1): GroupRun {
  let perGraph = sessions.get(g);
  if (!perGraph) sessions.set(g, (perGraph = new Map()));
  const key = `${backend}/${threadsInLayer}`;
  let run = perGraph.get(key);
  if (run) return run;
  switch (backend) {
    case 'reference':
      run = (node, group, input) => referenceConv({ ...node.perGroup[group]!, input }) as Int8Array;
      break;
    case 'wasm': {
      const variant = wasmVariant();
      run = kernelRunner(() => ({ variant }), threadsInLayer);
      break;
    }
    case 'dsp':
      run = kernelRunner((node) => {
        const dsp = packingFor(g, node);
        return { variant: packedKernelFor(node.perGroup[0]!, dsp), dsp };
      }, threadsInLayer);
      break;
    default:
      throw new InputError(`backend must be one of ${BACKENDS.join(', ')}, got '${String(backend)}'`);
  }
  perGraph.set(key, run);
  return run;
}

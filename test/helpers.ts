/** Assertions several test files share. */
import * as assert from 'uvu/assert';
import type { ConvNode } from '../harness/model/graph.ts';
import { InputError } from '../harness/util/errors.ts';

/** fn must throw an InputError whose message mentions every needle. */
export function throwsInput(fn: () => unknown, ...needles: string[]): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InputError, `expected an InputError, got ${String(e)}`);
    for (const n of needles) assert.ok((e as Error).message.includes(n), `'${(e as Error).message}' does not mention ${n}`);
    return;
  }
  assert.unreachable(`expected an InputError mentioning ${needles.join(', ')}`);
}

// --- hand-built graphs (prune, prune-zheng, lowrank-vq)

/** Zero padding on every side. */
export const pad0 = { top: 0, left: 0, bottom: 0, right: 0 };

/** A stride-1 'same' KxK convolution node with zero bias. */
export function conv(name: string, input: string, output: string, inC: number, outC: number, k: number, weights: ArrayLike<number>, extra: Partial<ConvNode> = {}): ConvNode {
  const p = (k - 1) / 2;
  return {
    op: 'conv', name, inputs: [input], output, kH: k, kW: k, strideH: 1, strideW: 1,
    pads: { top: p, left: p, bottom: p, right: p }, groups: 1, inC, outC,
    weights: Float32Array.from(weights), bias: new Float32Array(outC), fc: false, ...extra,
  };
}

/** A graph input or output of shape h x w x c in NHWC. */
export const io = (name: string, h: number, w: number, c: number) => ({ name, sourceName: name, shape: { h, w, c }, sourceLayout: 'nhwc' as const, sourceDims: [1, h, w, c] });

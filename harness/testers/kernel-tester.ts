/**
 * Fluent tester for split-convolution variants (in the spirit of XNNPACK's GemmMicrokernelTester):
 *
 *   new KernelTester().channels(17, 5).kernel(3).stride(2).pad(1).inputZeroPoint(-128)
 *     .mode('gemmlowp').seed(7).test(target)
 *
 * builds a seeded problem, runs the variant, and compares every output with the reference.
 * A failure names variant, module, shape, zero points, mode, first mismatching index (as
 * oh, ow, oc), got/want, how many outputs differ, and the seed.
 */
import { type ConvProblem, outputSize } from '../conv/layer.ts';
import { referenceConv } from '../reference/conv.ts';
import { VerificationError } from '../util/errors.ts';
import { ProblemBuilder } from '../problems/problem-builder.ts';
import type { KernelModule } from '../wasm/modules.ts';
import { type KernelVariant, KernelRunner } from '../wasm/kernel-runner.ts';

/** A variant in one of the modules that hold it. */
export interface KernelTarget {
  variant: KernelVariant;
  kernel: KernelModule;
}

export const targetLabel = (t: KernelTarget): string => `${t.variant.name} [${t.kernel.name}]`;

export type { Operands } from '../problems/problem-builder.ts';

/** A ProblemBuilder that runs a kernel on its problem and checks every output. */
export class KernelTester extends ProblemBuilder {
  /** Runs the variant and throws a VerificationError on the first difference. */
  test(t: KernelTarget, want?: Int8Array | Int32Array): void {
    const p = this.problem(t.variant.weightRange);
    const expected = want ?? referenceConv(p);
    const runner = new KernelRunner(t.variant, t.kernel, p);
    runner.run();
    const got = runner.output();
    const guards = runner.guardViolations();
    if (guards.length) {
      throw new VerificationError(`${targetLabel(t)} wrote past ${guards.join(', ')}; ${this.describe()}`);
    }
    compareOutputs(targetLabel(t), this.describe(), p, got, expected);
  }
}

/** Throws a VerificationError naming the first mismatch (as oh, ow, oc) and the count. */
export function compareOutputs(
  who: string,
  what: string,
  p: ConvProblem,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): void {
  if (got.length !== want.length) {
    throw new VerificationError(`${who}: output has ${got.length} elements, want ${want.length}; ${what}`);
  }
  let first = -1;
  let count = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return;
  const { outW } = outputSize(p.shape);
  const oc = first % p.shape.outC;
  const pix = Math.floor(first / p.shape.outC);
  throw new VerificationError(
    `${who}: output[${first}] (oh=${Math.floor(pix / outW)}, ow=${pix % outW}, oc=${oc}) got ${got[first]}, want ${want[first]}; ` +
      `${count} of ${want.length} outputs differ; ${what}`,
  );
}

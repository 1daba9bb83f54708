/**
 * Fluent tester for split-convolution variants (in the spirit of XNNPACK's GemmMicrokernelTester):
 *
 *   new SplitConvTester().channels(17, 5).kernel(3).stride(2).pad(1).inputZeroPoint(-128)
 *     .mode('gemmlowp').seed(7).test(target)
 *
 * builds a seeded problem, runs the variant, and compares every output with the reference.
 * A failure names variant, module, shape, zero points, mode, first mismatching index (as
 * oh, ow, oc), got/want, how many outputs differ, and the seed.
 */
import { type ConvProblem, type ConvShape, type RequantMode, describeShape, outputSize } from '../conv/layer.ts';
import { referenceConv } from '../reference/conv.ts';
import { VerificationError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import type { KernelModule } from '../wasm/modules.ts';
import { type KernelVariant, SplitConvRunner } from '../wasm/splitconv-runner.ts';

/** A variant in one of the modules that hold it. */
export interface KernelTarget {
  variant: KernelVariant;
  kernel: KernelModule;
}

export const targetLabel = (t: KernelTarget): string => `${t.variant.name} [${t.kernel.name}]`;

/** Operand distributions: uniform, or the boundary values only (largest accumulators). */
export type Operands = 'random' | 'min' | 'max' | 'extremes';

export class SplitConvTester {
  private s: ConvShape = {
    inH: 5, inW: 5, inC: 8, outC: 4, kH: 3, kW: 3, strideH: 1, strideW: 1,
    padTop: 1, padBottom: 1, padLeft: 1, padRight: 1,
  };
  private xZp = 0;
  private yZp = 0;
  private qmin = -128;
  private qmax = 127;
  private requantMode: RequantMode = 'raw';
  private rngSeed = 1;
  private inputs: Operands = 'random';
  private weightsKind: Operands = 'random';
  private scaleRange: [number, number] = [1e-4, 2e-2];

  image(h: number, w = h): this {
    this.s = { ...this.s, inH: h, inW: w };
    return this;
  }
  channels(inC: number, outC: number): this {
    this.s = { ...this.s, inC, outC };
    return this;
  }
  kernel(kh: number, kw = kh): this {
    this.s = { ...this.s, kH: kh, kW: kw };
    return this;
  }
  stride(sh: number, sw = sh): this {
    this.s = { ...this.s, strideH: sh, strideW: sw };
    return this;
  }
  pad(top: number, bottom = top, left = top, right = left): this {
    this.s = { ...this.s, padTop: top, padBottom: bottom, padLeft: left, padRight: right };
    return this;
  }
  shape(s: ConvShape): this {
    this.s = { ...s };
    return this;
  }
  inputZeroPoint(zp: number): this {
    this.xZp = zp;
    return this;
  }
  outputZeroPoint(zp: number): this {
    this.yZp = zp;
    return this;
  }
  clamp(min: number, max: number): this {
    this.qmin = min;
    this.qmax = max;
    return this;
  }
  mode(m: RequantMode): this {
    this.requantMode = m;
    return this;
  }
  seed(seed: number): this {
    this.rngSeed = seed;
    return this;
  }
  operands(inputs: Operands, weights: Operands = inputs): this {
    this.inputs = inputs;
    this.weightsKind = weights;
    return this;
  }
  scales(min: number, max: number): this {
    this.scaleRange = [min, max];
    return this;
  }

  getShape(): ConvShape {
    return { ...this.s };
  }

  /** The seeded problem, with weights drawn from the variant's accepted range. */
  problem(weightRange: readonly [number, number] = [-128, 127]): ConvProblem {
    const rng = new Rng(this.rngSeed);
    const s = this.s;
    const draw = (kind: Operands, lo: number, hi: number, n: number): Int8Array => {
      const a = new Int8Array(n);
      for (let i = 0; i < n; i++) {
        a[i] = kind === 'min' ? lo : kind === 'max' ? hi : kind === 'extremes' ? (rng.next() < 0.5 ? lo : hi) : rng.int(lo, hi);
      }
      return a;
    };
    const input = draw(this.inputs, -128, 127, s.inH * s.inW * s.inC);
    const weights = draw(this.weightsKind, weightRange[0], weightRange[1], s.outC * s.kH * s.kW * s.inC);
    const bias = Int32Array.from({ length: s.outC }, () => rng.int(-20000, 20000));
    const [lo, hi] = this.scaleRange;
    const scale = Array.from({ length: s.outC }, () => lo * (hi / lo) ** rng.next());
    return {
      shape: { ...s },
      inputZeroPoint: this.xZp,
      input,
      weights,
      bias,
      requant: { mode: this.requantMode, scale, outputZeroPoint: this.yZp, outputMin: this.qmin, outputMax: this.qmax },
    };
  }

  describe(): string {
    return `${describeShape(this.s)} xzp=${this.xZp} yzp=${this.yZp} clamp=[${this.qmin},${this.qmax}] mode=${this.requantMode} operands=${this.inputs}/${this.weightsKind} seed=${this.rngSeed}`;
  }

  /** Runs the variant and throws a VerificationError on the first difference. */
  test(t: KernelTarget, want?: Int8Array | Int32Array): void {
    const p = this.problem(t.variant.weightRange);
    const expected = want ?? referenceConv(p);
    const runner = new SplitConvRunner(t.variant, t.kernel, p);
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

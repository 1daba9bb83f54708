/**
 * Seeded convolution problems for tests, verification, benchmarks and the engine models:
 *
 *   new ProblemBuilder().channels(17, 5).kernel(3).stride(2).pad(1).inputZeroPoint(-128)
 *     .mode('gemmlowp').seed(7).problem()
 *
 * Operands are uniform or boundary values; `describe()` names everything needed to rebuild it.
 */
import { type ConvProblem, type ConvShape, type RequantMode, describeShape } from '../conv/layer.ts';
import { Rng } from '../util/rng.ts';

/** Operand distributions: uniform, or the boundary values only (largest accumulators). */
export type Operands = 'random' | 'min' | 'max' | 'extremes';

export class ProblemBuilder {
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
}

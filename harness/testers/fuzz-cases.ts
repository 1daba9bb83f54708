/**
 * Random convolution cases for the property-based kernel suite (fast-check arbitraries):
 *
 *   fc.check(fc.property(fuzzCaseArbitrary(), (c) => ...), { seed, numRuns })
 *
 * A case is a shape (H, W 1..20, C, OC 1..40, kH, kW 1..5, strides 1..3, each pad 0..K-1 and the
 * input at least as large as the padded kernel), zero points, a clamp, per-channel log-uniform
 * multipliers, a requantization mode, operand distributions, a packed-DSP cascade length and a
 * seed for the operands themselves. Every field shrinks towards the simplest value (1x1 images,
 * one channel, K 1, no padding, zero points 0, full clamp, raw mode, random operands, data seed 0),
 * so a failure is reported on a minimal shape. The operands come from ProblemBuilder with the
 * data seed, not from fast-check arrays: a counterexample is then a short description anyone can
 * rebuild, and the shape shrinks without dragging thousands of array elements along.
 */
import fc from 'fast-check';
import { type ConvProblem, type ConvShape, REQUANT_MODES, type RequantMode } from '../conv/layer.ts';
import { type Operands, ProblemBuilder } from '../problems/problem-builder.ts';

/** The ranges the cases are drawn from. */
export const FUZZ_LIMITS = {
  image: 20,
  channels: 40,
  kernel: 5,
  stride: 3,
  /** Multipliers span 2^-40 (flushed to zero by the fixed-point modes) to just below 2^30 (MAX_SCALE). */
  scaleLog2: [-40, 29.9],
  /** Widest log2 ratio of the largest to the smallest multiplier of one case. */
  scaleSpanLog2: 24,
  chain: 48,
} as const;

export interface FuzzCase {
  shape: ConvShape;
  inputZeroPoint: number;
  outputZeroPoint: number;
  clamp: readonly [number, number];
  /** Per-channel multipliers are log-uniform in [2^lo, 2^hi]; lo = hi gives one exact power of two. */
  scaleLog2: readonly [number, number];
  mode: RequantMode;
  /** Distributions of the activations and of the weights. */
  operands: readonly [Operands, Operands];
  /** DSPs per cascade of the packed engine (matters for the cascade decode point). */
  chain: number;
  /** Seeds the operands, bias and multipliers (ProblemBuilder). */
  dataSeed: number;
}

const int = (min: number, max: number) => fc.integer({ min, max });

/** Shrinks to 0; the two ends of int8 are drawn often since they make the largest accumulators. */
const zeroPoint = () => fc.oneof(fc.constantFrom(0, -128, 127), int(-128, 127));

/** Pads are cut to K-1 and the image grown to the kernel, so every shape is valid and shrinks stay valid. */
export function validShape(s: ConvShape): ConvShape {
  const padTop = Math.min(s.padTop, s.kH - 1);
  const padBottom = Math.min(s.padBottom, s.kH - 1);
  const padLeft = Math.min(s.padLeft, s.kW - 1);
  const padRight = Math.min(s.padRight, s.kW - 1);
  return {
    ...s,
    padTop,
    padBottom,
    padLeft,
    padRight,
    inH: Math.max(s.inH, s.kH - padTop - padBottom),
    inW: Math.max(s.inW, s.kW - padLeft - padRight),
  };
}

export function shapeArbitrary(): fc.Arbitrary<ConvShape> {
  const L = FUZZ_LIMITS;
  const pad = int(0, L.kernel - 1);
  return fc
    .record({
      inH: int(1, L.image), inW: int(1, L.image), inC: int(1, L.channels), outC: int(1, L.channels),
      kH: int(1, L.kernel), kW: int(1, L.kernel), strideH: int(1, L.stride), strideW: int(1, L.stride),
      padTop: pad, padBottom: pad, padLeft: pad, padRight: pad,
    })
    .map(validShape);
}

export function fuzzCaseArbitrary(): fc.Arbitrary<FuzzCase> {
  const L = FUZZ_LIMITS;
  const operand = fc.constantFrom<Operands>('random', 'extremes', 'min', 'max');
  return fc.record({
    shape: shapeArbitrary(),
    inputZeroPoint: zeroPoint(),
    outputZeroPoint: zeroPoint(),
    clamp: fc.oneof(
      fc.constant([-128, 127] as const),
      fc.tuple(int(-128, 127), int(-128, 127)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
    ),
    scaleLog2: fc
      .tuple(int(L.scaleLog2[0], Math.floor(L.scaleLog2[1])), fc.oneof(fc.constant(0), int(0, L.scaleSpanLog2)))
      .map(([lo, span]) => [Math.min(lo, L.scaleLog2[1]), Math.min(lo + span, L.scaleLog2[1])] as const),
    mode: fc.constantFrom<RequantMode>(...REQUANT_MODES),
    operands: fc.tuple(operand, operand),
    // The bounds of the schemes (4, 7, 8) and one past them, the default 16, and anything up to 48.
    chain: fc.oneof(fc.constantFrom(1, 2, 4, 5, 7, 8, 9, 16, 33), int(1, L.chain)),
    dataSeed: int(0, 0x7fffffff),
  });
}

/** The builder that makes the case's problem (ProblemBuilder.describe names its fields). */
export function caseBuilder(c: FuzzCase): ProblemBuilder {
  return new ProblemBuilder()
    .shape(c.shape)
    .inputZeroPoint(c.inputZeroPoint)
    .outputZeroPoint(c.outputZeroPoint)
    .clamp(c.clamp[0], c.clamp[1])
    .scales(2 ** c.scaleLog2[0], 2 ** c.scaleLog2[1])
    .mode(c.mode)
    .operands(c.operands[0], c.operands[1])
    .seed(c.dataSeed);
}

/** The case's problem with weights drawn from `weightRange` (the same activations for every range). */
export function caseProblem(c: FuzzCase, weightRange?: readonly [number, number]): ConvProblem {
  return caseBuilder(c).problem(weightRange);
}

/** Everything needed to rebuild the case by hand (seed= is the data seed, not fast-check's). */
export function describeCase(c: FuzzCase): string {
  return `${caseBuilder(c).describe()} scales=2^${c.scaleLog2[0]}..2^${c.scaleLog2[1]} chain=${c.chain}`;
}

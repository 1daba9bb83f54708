/** Seeded problems whose operands fit a packing scheme's ranges. */
import type { ConvProblem, ConvShape, RequantMode } from '../conv/layer.ts';
import { type SchemeName, getScheme } from '../dsp/schemes.ts';
import { type Operands, ProblemBuilder } from './problem-builder.ts';

/** Seeded operands inside the scheme's ranges (int4: int8 draws shifted into [-8, 7]). */
export function schemeProblem(shape: ConvShape, scheme: SchemeName, operands: Operands, mode: RequantMode, seed: number): ConvProblem {
  const s = getScheme(scheme);
  const p = new ProblemBuilder()
    .shape(shape)
    .inputZeroPoint(scheme === 'int4' ? -1 : -5)
    .outputZeroPoint(2)
    .operands(operands)
    .mode(mode)
    .scales(1e-4, 3e-3)
    .seed(seed)
    .problem(s.weightRange);
  return fitToScheme(p, scheme);
}

/**
 * An int8 problem's activations moved into the scheme's range: int4 takes x >> 4 (extremes stay
 * extremes), the zero point likewise; every other scheme takes int8 codes as they are.
 */
export function fitToScheme(p: ConvProblem, scheme: SchemeName): ConvProblem {
  if (scheme !== 'int4') return p;
  return { ...p, input: Int8Array.from(p.input, (x) => x >> 4), inputZeroPoint: p.inputZeroPoint >> 4 };
}

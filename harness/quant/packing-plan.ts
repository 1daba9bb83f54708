/**
 * Which DSP packing each convolution of an integer graph runs on, and why.
 *
 * Per layer, from its weight bit width b_w (codes in [-(2^(b_w-1) - 1), 2^(b_w-1) - 1]) and its
 * input tensor's b_a-bit code range [-2^(b_a-1), 2^(b_a-1) - 1] (the zero point, which padded
 * taps read, lies inside it), every scheme of harness/dsp/schemes.ts is a candidate when
 *   - the weight range lies in the scheme's weight range, and
 *   - the activation range moved by the scheme's offset (packed-conv.ts activationOffset: +128
 *     for uint8 lanes, +8 for uint4) lies in the scheme's activation range.
 * For a candidate, `bound` = accumulationBound(scheme, those ranges): the longest sum of products
 * every lane holds exactly. The chain (DSPs per cascade before the P is decoded) is
 * min(MAX_CHAIN, bound), so the packed result equals the exact convolution for any codes of
 * those widths: the plan is exact by construction, not by luck of the data.
 * The chosen scheme has the most products per DSP; ties go to the longer chain (fewer decodes),
 * then to the order of SCHEME_NAMES. A layer no scheme takes (wider than 8 bits cannot happen
 * here) would be refused with an InputError.
 */
import { type PackedConvConfig, activationOffset } from '../dsp/packed-conv.ts';
import { SCHEME_NAMES, SCHEMES, type SchemeName, accumulationBound } from '../dsp/schemes.ts';
import { InputError } from '../util/errors.ts';
import { type QuantParams, codeMax, codeMin } from './calibrate.ts';
import type { IntConv, IntGraph } from './int-graph-nodes.ts';
import { maxCode } from './weights.ts';

/** The engine's cascade length (harness/fpga/models/splitconv.ts default L): the longest chain a plan uses. */
export const MAX_CHAIN = 16;

export interface SchemeCandidate {
  scheme: SchemeName;
  /** Whether the layer's operands fit the scheme. */
  fits: boolean;
  /** Products per DSP. */
  products: number;
  /** Longest exact sum for these operand ranges (fits only). */
  bound?: number;
  /** Why it does not fit, or its bound. */
  reason: string;
}

export interface LayerPacking {
  layer: string;
  weightBits: number;
  activationBits: number;
  weightRange: [number, number];
  /** The input codes' range as the DSP sees them (after the scheme's offset). */
  activationRange: [number, number];
  config: PackedConvConfig;
  products: number;
  bound: number;
  /** One line: the choice and what decided it. */
  why: string;
  candidates: SchemeCandidate[];
}

/**
 * The packing of one convolution whose weights have `weightBits` and whose input has quantizer
 * `input`. `weightMin` is given when an imported 8-bit model uses the code -128 (outside the
 * symmetric range our quantizer writes): the bound is then that of [-128, 127].
 */
export function planLayerPacking(layer: string, weightBits: number, input: Pick<QuantParams, 'bits'>, weightMin?: number): LayerPacking {
  const qw = maxCode(weightBits, layer);
  const w: [number, number] = [Math.min(-qw, weightMin ?? -qw), qw];
  const a: [number, number] = [codeMin(input), codeMax(input)];
  const candidates = SCHEME_NAMES.map((name): SchemeCandidate => {
    const s = SCHEMES[name];
    const products = s.weights * s.activations;
    const off = activationOffset(s);
    const [alo, ahi] = s.activationRange;
    if (w[0] < s.weightRange[0] || w[1] > s.weightRange[1]) {
      return { scheme: name, fits: false, products, reason: `weights [${w[0]}, ${w[1]}] exceed [${s.weightRange[0]}, ${s.weightRange[1]}]` };
    }
    if (a[0] + off < alo || a[1] + off > ahi) {
      return { scheme: name, fits: false, products, reason: `activation codes [${a[0]}, ${a[1]}] exceed [${alo - off}, ${ahi - off}]` };
    }
    const bound = accumulationBound(s, w, [a[0] + off, a[1] + off]);
    return { scheme: name, fits: bound >= 1, products, bound, reason: `exact up to ${bound} products per lane` };
  });
  const fits = candidates.filter((c) => c.fits);
  if (fits.length === 0) throw new InputError(`layer '${layer}': no packing scheme takes ${weightBits}-bit weights and ${input.bits}-bit activations`);
  const best = fits.reduce((x, y) => (y.products > x.products || (y.products === x.products && Math.min(MAX_CHAIN, y.bound!) > Math.min(MAX_CHAIN, x.bound!)) ? y : x));
  const chain = Math.min(MAX_CHAIN, best.bound!);
  const s = SCHEMES[best.scheme];
  const off = activationOffset(s);
  const denser = candidates.filter((c) => !c.fits && c.products > best.products).map((c) => `${c.scheme}: ${c.reason}`);
  const why =
    `${best.scheme}, ${best.products} products/DSP, chain ${chain}` +
    (best.bound! < MAX_CHAIN ? ` (bound ${best.bound} for these widths)` : '') +
    (denser.length ? `; denser ${denser.join('; ')}` : '');
  return {
    layer, weightBits, activationBits: input.bits, weightRange: w, activationRange: [a[0] + off, a[1] + off],
    config: { scheme: best.scheme, chain, decode: 'cascade' }, products: best.products, bound: best.bound!, why, candidates,
  };
}

const plans = new WeakMap<IntGraph, Map<string, LayerPacking>>();

/** The packing of every convolution of the graph, by node name (computed once per graph). */
export function packingPlan(g: IntGraph): Map<string, LayerPacking> {
  let plan = plans.get(g);
  if (!plan) {
    plan = new Map();
    for (const n of g.nodes) {
      if (n.op !== 'conv') continue;
      const min = n.problem.weights.reduce((m, c) => (c < m ? c : m), 0);
      plan.set(n.name, planLayerPacking(n.name, n.weightBits, g.tensors.get(n.inputs[0]!)!.params, min));
    }
    plans.set(g, plan);
  }
  return plan;
}

/** The plan's configuration of one convolution. */
export function packingFor(g: IntGraph, node: IntConv): PackedConvConfig {
  return packingPlan(g).get(node.name)!.config;
}

/**
 * A plan as the per-layer widths and packing the FPGA models take (harness/fpga/graph-layers.ts
 * graphLayers' second argument); an error for a layer the plan does not know.
 */
export function planWidths(plan: ReadonlyMap<string, LayerPacking>): (conv: string) => { wBits: number; aBits: number; packing: { scheme: string; chain: number } } {
  return (name) => {
    const p = plan.get(name);
    if (!p) throw new Error(`conv '${name}' has no packing plan`);
    return { wBits: p.weightBits, aBits: p.activationBits, packing: { scheme: p.config.scheme, chain: p.config.chain } };
  };
}

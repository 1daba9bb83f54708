/**
 * Model (a): split-convolution engine of vector inner products on DSP cascades.
 *
 * A KxK convolution is done as K_h*K_w channel-wise vector inner products (one per kernel tap)
 * whose partial sums a pixel-wise accumulation unit adds into the output. The engine:
 *
 *   - P_o cascades of L DSPs each; a cascade sums L input channels down PCOUT->PCIN
 *     (UG579 ch. 1 "cascade"); each DSP does one packed multiply of a packing scheme of
 *     harness/dsp/schemes.ts: W = scheme.weights output channels x A = scheme.activations
 *     output pixels (int8x8 / int8xu8: 2 x 1, WP486; wp487u8: 1 x 2, WP487; int4: 2 x 2, WP521),
 *     or one product ('unpacked': 1 x 1, every DSP type). An issue covers L input channels x
 *     (P_o * W) output channels x A pixels of one tap per pixel lane;
 *   - P_p copies of that array (pixel lanes) for P_p * A output pixels sharing the weights;
 *   - a pixel-wise accumulation unit with one accumulator per (pixel lane, output lane) that
 *     accepts one partial sum per cycle per lane, back to back on the same accumulator.
 * The lanes follow the packed-DSP engine of harness/dsp/packed-conv.ts: cascade o's DSPs hold
 * output channels t*P_o*W + o*W + (0..W-1) and a pixel lane holds A neighbouring output pixels
 * of one output row (A*i, A*i + 1), so a row of out_w pixels takes ceil(out_w / A) pixel slots.
 * harness/fpga/sim/splitconv-sim.ts simulates this engine clock by clock through the DSP slice
 * model; test/fpga-sim.test.ts checks its cycle count against computeCycles below.
 *
 * Tiling (per group; a grouped layer runs its groups one after another, depthwise = groups):
 *   C_in' = in_c / groups,  C_out' = out_c / groups,  S = out_h * ceil(out_w / A) pixel slots
 *   T_c = ceil(C_in' / L)               channel tiles down the cascade
 *   T_o = ceil(C_out' / (P_o * W))      output-channel tiles
 *   T_p = ceil(S / P_p)                 pixel tiles
 *
 * Loop nest, outermost first: group, output tile, pixel tile, tap (k_h, k_w), channel tile.
 * One issue per innermost iteration; the array never stalls (weights of the next output tile
 * are loaded into the other half of a ping-pong buffer, one word per cycle, while the current
 * tile's T_p * k_h * k_w * T_c >= k_h * k_w * T_c issues run; the first tile's weights are
 * loaded before cycle 0).
 *
 *   issues = groups * T_o * T_p * k_h * k_w * T_c
 *   fill   = (L - 1) + dspLatency + accLatency
 *   computeCycles = issues + fill
 *
 * Timing convention: a block of latency d turns inputs presented in cycle t into outputs
 * readable in cycle t + d. Issue i (0-based, one per cycle, no bubbles) is presented to the
 * first DSP of each cascade in cycle i; the inputs of DSP j are skewed to cycle i + j, so the
 * cascade sum is readable at the last DSP's P in cycle i + (L - 1) + dspLatency, and the
 * accumulation unit's register holds it in cycle i + (L - 1) + dspLatency + accLatency.
 * computeCycles counts cycle 0 up to and including the cycle in which the last issue's result
 * is readable there: (issues - 1) + fill + 1 = issues + fill.
 * dspLatency: the DSP's input-to-P register count (4: A/D, AD, M, P with the pre-adder used for
 * packing); accLatency: 1 for a registered adder. Requantization and output write-back are not
 * counted (they overlap the next tile). Example: 1 issue, L = 1, dspLatency = 1, accLatency = 0
 * gives 2 cycles (issue in cycle 0, result readable in cycle 1).
 *
 * Resources: DSP = P_p * P_o * L; peak MACs per cycle = DSP * W * A.
 * Buffers (36 Kb BRAM, best aspect ratio, see bram36For):
 *   weights: ping-pong, one word per issue of P_o * W * L * w_bits bits, depth 2 * T_c * k_h * k_w;
 *   input  : fmap = 'layer' keeps one group's whole input on chip: P_p banks (one per pixel lane,
 *            replicated so lanes never conflict) of A * L * a_bits-bit words, depth
 *            in_h * in_w * T_c; fmap = 'rows' keeps k_h + stride_h input rows per bank instead
 *            (depth (k_h + stride_h) * in_w * T_c) and re-reads the input once per output tile;
 *            fmap = 'auto' takes 'layer' when it fits the BRAM budget, else 'rows'.
 * Off-chip bytes = weights once + input (x T_o with 'rows') + output once, at w_bits / a_bits.
 *
 * Channel padding: the cascade sums L input channels per issue and an issue covers P_o * W
 * output channels, so a group computes ceil(C_in'/L)*L input and ceil(C_out'/(P_o*W))*P_o*W
 * output channels (paddedInC, paddedOutC): a 1-channel first layer on L = 16 pays for 16, 1/16
 * of the cascade used. That is this engine as built (and as simulated): it has no mode that folds
 * the kernel taps into the cascade for a layer with few input channels.
 *
 * Load phases (common.ts `setTransfers`). doubleBuffer = 'on' (default, the weight ping-pong of
 * the loop nest above and of harness/fpga/sim/weight-ping-pong.ts): what waits before compute
 * is the first output tile's weights (min(C_out', P_o*W) * C_in' * k_h * k_w at w_bits) and the
 * input the first issue reads (fmap 'layer': the group's whole input, which must be on chip
 * before cycle 0, as the simulator assumes; 'rows': the first k_h rows), what waits after is the
 * last pixel tile's outputs (P_p*A pixels x min(C_out', P_o*W) channels); with groups > 1 and
 * fmap 'layer' the input buffer holds one group, so every later group's input waits too. The
 * other weight tiles load while the previous tile computes, output write-back overlaps the next
 * tile. doubleBuffer = 'off': every byte waits (load, then compute).
 * computeCycles stays the clocked array's count above (test/fpga-sim.test.ts: simulated cycles ==
 * computeCycles with the input on chip before cycle 0); cycles adds the load phases.
 *
 * Packing lane headroom: one P sums n = min(L, C_in') products before its lanes are decoded
 * (the 'cascade' decode point of packed-conv.ts). When n exceeds accumulationBound(scheme)
 * (int8x8: 7, int8xu8: 4, wp487u8: 8, int4: 8) a lane can spill into its neighbour for some
 * operands; this is reported as a warning (the design then needs a correction outside the DSP),
 * not rejected. 'unpacked' sums whole products in the 48-bit P and never warns. A layer of a
 * quantized model carries its packing plan (harness/quant/packing-plan.ts): its scheme, and a
 * chain within the bound for its operand widths; the cascade is then decoded every `chain` DSPs
 * (ceil(L / chain) partial sums per issue into the accumulation unit, same cycles), and no
 * warning is due.
 */
import { type PackingScheme, type SchemeName, SCHEME_NAMES, SCHEMES, accumulationBound, productRange } from '../../dsp/schemes.ts';
import { InputError } from '../../util/errors.ts';
import type { Device, DspType, Packing } from '../devices.ts';
import { autoPacking, checkPacking, dspTypeInfo } from '../devices.ts';
import {
  InfeasibleError,
  bram36For,
  doubleBufferParam,
  finish,
  newLayerCost,
  padTo,
  setTransfers,
  geometry,
  num,
  requireBram,
  requireClock,
  requireDsp,
  tensorBytes,
  type LayerEstimate,
  type LayerSpec,
  type ParamSchema,
  type Params,
} from './common.ts';
import { fabricEstimate } from './splitconv-fabric.ts';

/** What one DSP of engine (a) does: a packing scheme of harness/dsp/schemes.ts, or one product. */
export type EngineScheme = SchemeName | 'unpacked';
export const ENGINE_SCHEMES: readonly EngineScheme[] = ['unpacked', ...SCHEME_NAMES];

export const splitconvParams = {
  L: { default: 16, min: 1, max: 4096, description: 'DSPs per cascade = input channels summed per issue' },
  Po: { default: 8, min: 1, max: 4096, description: 'parallel cascades (output-channel parallelism before packing)' },
  Pp: { default: 1, min: 1, max: 1024, description: 'pixel parallelism: copies of the cascade array' },
  scheme: {
    default: 'auto',
    choices: ['auto', ...ENGINE_SCHEMES],
    description: 'DSP packing (harness/dsp/schemes.ts): auto, unpacked (1 product), int8x8 | int8xu8 (2 channels), wp487u8 (2 pixels), int4 (2x2); packed schemes need DSP48E2',
  },
  dspLatency: { default: 4, min: 1, max: 16, description: 'DSP input-to-P pipeline registers' },
  accLatency: { default: 1, min: 0, max: 16, description: 'pixel-wise accumulation unit latency' },
  fmap: { default: 'auto', choices: ['auto', 'layer', 'rows'], description: "input buffering: whole layer, k_h + stride_h rows, or auto" },
  bramBudget: { default: 0, min: 0, description: 'BRAM36 available to the engine (0: the whole device)' },
  doubleBuffer: doubleBufferParam('on', 'Engine (a) loads the next output tile\'s weights into a ping-pong buffer while the current tile computes.'),
} satisfies ParamSchema;

/** Output channels (W) and pixels (A) one DSP serves, and products per DSP (W * A). */
export interface EngineLanes {
  weights: 1 | 2;
  activations: 1 | 2;
  packing: Packing;
}

export function engineLanes(scheme: EngineScheme): EngineLanes {
  if (scheme === 'unpacked') return { weights: 1, activations: 1, packing: 1 };
  const s = SCHEMES[scheme];
  return { weights: s.weights, activations: s.activations, packing: (s.weights * s.activations) as Packing };
}

/** Bits of an operand range: [-128, 127] and [0, 255] are 8, [-8, 7] and [0, 15] are 4. */
const rangeBits = ([lo, hi]: readonly [number, number]) => Math.log2(hi - lo + 1);

/**
 * The scheme engine (a) runs: 'auto' takes the densest scheme the DSP type and bit widths allow
 * (int4 for w, a <= 4; int8x8 for w, a <= 8; else unpacked; DSP48E1: always unpacked, see
 * devices.json). An explicit scheme is checked against the DSP type (the packed schemes need the
 * 27-bit pre-adder of DSP48E2/DSP58, whose low lanes they share) and the operand widths.
 * Throws an InfeasibleError('packing') (an InputError) naming `param` and the violated limit.
 */
export function resolveScheme(param: string, requested: string, t: DspType, wBits: number, aBits: number): EngineScheme {
  try {
    return schemeFor(param, requested, t, wBits, aBits);
  } catch (e) {
    // the design-space sweep counts infeasible configurations by reason
    if (e instanceof InputError && !(e instanceof InfeasibleError)) throw new InfeasibleError('packing', e.message);
    throw e;
  }
}

function schemeFor(param: string, requested: string, t: DspType, wBits: number, aBits: number): EngineScheme {
  if (requested === 'auto') {
    const p = autoPacking(t, wBits, aBits);
    if (p === 4) return 'int4';
    if (p === 2) return 'int8x8';
    checkPacking(param, 1, t, wBits, aBits);
    return 'unpacked';
  }
  if (requested === 'unpacked') {
    checkPacking(param, 1, t, wBits, aBits);
    return 'unpacked';
  }
  if (!(SCHEME_NAMES as readonly string[]).includes(requested)) {
    throw new InputError(`${param} must be one of auto, ${ENGINE_SCHEMES.join(', ')}, got '${requested}'`);
  }
  const s = SCHEMES[requested as SchemeName];
  const info = dspTypeInfo(t);
  const products = s.weights * s.activations;
  if (!info.packings.includes(products as Packing)) {
    throw new InputError(
      `${param}=${requested} is not allowed on ${t} (allowed: unpacked): its ${info.preAdderBits}-bit pre-adder ` +
        `cannot hold the packed operands of ${products} products`,
    );
  }
  const wMax = rangeBits(s.weightRange);
  const aMax = rangeBits(s.activationRange);
  if (wBits > wMax || aBits > aMax) {
    throw new InputError(`${param}=${requested} needs w_bits <= ${wMax} and a_bits <= ${aMax}, got w_bits=${wBits}, a_bits=${aBits}`);
  }
  return requested as SchemeName;
}

/** The tile counts and cycle formula of the header, shared with the simulator's report. */
export interface SplitconvTiling {
  Tc: number;
  To: number;
  Tp: number;
  taps: number;
  /** Pixel slots per group: out_h * ceil(out_w / A). */
  slots: number;
  issues: number;
  fill: number;
  computeCycles: number;
}

export function splitconvTiling(
  layer: LayerSpec,
  arch: { L: number; Po: number; Pp: number; dspLatency: number; accLatency: number },
  lanes: Pick<EngineLanes, 'weights' | 'activations'>,
): SplitconvTiling {
  const g = geometry(layer);
  const Tc = Math.ceil(g.cin / arch.L);
  const To = Math.ceil(g.cout / (arch.Po * lanes.weights));
  const slots = g.outH * Math.ceil(g.outW / lanes.activations);
  const Tp = Math.ceil(slots / arch.Pp);
  const taps = layer.kH * layer.kW;
  const issues = layer.groups * To * Tp * taps * Tc;
  const fill = arch.L - 1 + arch.dspLatency + arch.accLatency;
  return { Tc, To, Tp, taps, slots, issues, fill, computeCycles: issues + fill };
}

export function splitconvModel(layer: LayerSpec, p: Params, device: Device, clockMHz: number): LayerEstimate {
  requireClock(clockMHz);
  const L = num(p, 'L');
  const Po = num(p, 'Po');
  const Pp = num(p, 'Pp');
  const dspLatency = num(p, 'dspLatency');
  const accLatency = num(p, 'accLatency');
  const budget = num(p, 'bramBudget') || device.bram36;
  // A quantized model's packing plan names each layer's scheme; an explicit parameter wins.
  const requested = String(p['scheme'] ?? 'auto');
  const scheme = resolveScheme('scheme', requested === 'auto' && layer.packing ? layer.packing.scheme : requested, device.dspType, layer.wBits, layer.aBits);
  const lanes = engineLanes(scheme);
  const pack = lanes.packing;

  const dsp = Pp * Po * L;
  requireDsp(dsp, () => `Pp*Po*L (${Pp}*${Po}*${L})`, device);
  // LUT / FF: the fit on Yosys synthesis of rtl/splitconv_pe.v (splitconv-fabric.ts)
  const { lut, ff } = fabricEstimate({ scheme, L, Po, Pp });
  if (lut > device.lut || ff > device.ff) {
    throw new InfeasibleError('fabric', `engine (a) needs about ${lut} LUTs and ${ff} FFs (fitted on Yosys synthesis, docs/synthesis.md); ${device.name} has ${device.lut} LUTs and ${device.ff} FFs`);
  }

  const g = geometry(layer);
  const { Tc, To, Tp, taps, issues, fill, computeCycles } = splitconvTiling(layer, { L, Po, Pp, dspLatency, accLatency }, lanes);

  const bramW = bram36For(Po * lanes.weights * L * layer.wBits, 2 * Tc * taps);
  const bankBits = lanes.activations * L * layer.aBits;
  const bramLayer = Pp * bram36For(bankBits, layer.inH * layer.inW * Tc);
  const want = p['fmap'];
  const mode = want === 'auto' ? (bramW + bramLayer <= budget ? 'layer' : 'rows') : want;
  const bram =
    bramW + (mode === 'layer' ? bramLayer : Pp * bram36For(bankBits, (layer.kH + layer.strideH) * layer.inW * Tc));
  requireBram(bram, () => `BRAM for weights (${bramW}) + input ${mode} buffer (${bram - bramW})`, device, budget);

  const weightBytes = tensorBytes(layer.outC * g.cin * taps, layer.wBits);
  const inputBytes = tensorBytes(layer.inH * layer.inW * layer.inC, layer.aBits);
  const outputBytes = tensorBytes(g.pixels * layer.outC, layer.aBits);
  const offChipBytes = weightBytes + inputBytes * (mode === 'layer' ? 1 : To) + outputBytes;
  // Load phases (header): the first tile's weights and input, the last pixel tile's outputs,
  // and with fmap 'layer' every later group's input (one group's input buffer).
  const tileOut = Math.min(g.cout, Po * lanes.weights);
  const groupInput = tensorBytes(layer.inH * layer.inW * g.cin, layer.aBits);
  const firstInput = mode === 'layer' ? groupInput : tensorBytes(Math.min(layer.kH, layer.inH) * layer.inW * g.cin, layer.aBits);
  const firstLoad = tensorBytes(tileOut * g.cin * taps, layer.wBits) + firstInput;
  const lastStore = tensorBytes(Math.min(g.pixels, Pp * lanes.activations) * tileOut, layer.aBits);
  const cost = newLayerCost();
  cost.computeCycles = computeCycles;
  cost.peakMacsPerCycle = dsp * pack;
  cost.paddedInC = padTo(g.cin, L);
  cost.paddedOutC = padTo(g.cout, Po * lanes.weights);
  setTransfers(cost, p['doubleBuffer'] !== 'off', offChipBytes, firstLoad, lastStore, mode === 'layer' ? (layer.groups - 1) * groupInput : 0);

  const warnings: string[] = [];
  // A plan's chain lies within the bound for the layer's own operand widths (proven there), so
  // only a layer without one is checked against the scheme's full-range bound.
  const planned = layer.packing !== undefined && layer.packing.scheme === scheme && layer.packing.chain <= L;
  if (scheme !== 'unpacked' && !planned) {
    const w = laneWarning(SCHEMES[scheme], Math.min(L, g.cin), L);
    if (w) warnings.push(w);
  }

  return finish(layer, device, clockMHz, cost, {
    dsp,
    bram,
    lut,
    ff,
    packing: pack,
    detail: { scheme, Tc, To, Tp, taps, issues, fill, fmap: String(mode), bramWeights: bramW, firstLoadBytes: firstLoad, lastStoreBytes: lastStore },
    warnings,
  });
}

/**
 * The warning for `n` products per P past the scheme's accumulation bound, or undefined within
 * it. It names the narrowest lane that can overflow and the signed bits the worst-case lane sum
 * n * [min product, max product] needs (the test n > bound is the same condition, per lane).
 */
function laneWarning(scheme: PackingScheme, n: number, L: number): string | undefined {
  const bound = accumulationBound(scheme);
  if (n <= bound) return undefined;
  const key = `${scheme.name}/${n}/${L}`;
  let w = laneWarnings.get(key);
  if (w === undefined) {
    const [lo, hi] = productRange(scheme);
    let need = 1;
    while (n * hi > 2 ** (need - 1) - 1 || n * lo < -(2 ** (need - 1))) need++;
    const lane = scheme.lanes.find((l) => l.width < need) ?? scheme.lanes[0]!;
    w =
      `a cascade sum of ${n} packed products (L=${L}) exceeds the ${scheme.name} accumulation bound of ${bound}: ` +
      `it needs ${need} bits, the ${lane.width}-bit lane at bit ${lane.offset} has ${lane.width}: correction needed`;
    laneWarnings.set(key, w);
  }
  return w;
}
const laneWarnings = new Map<string, string>();

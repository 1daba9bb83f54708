/**
 * Model (e): a generic output-stationary systolic array of packed DSPs (the output-stationary
 * dataflow of Chen, Emer, Sze, "Eyeriss", ISCA 2016, Sec. III taxonomy; systolic timing after
 * Kung, "Why systolic architectures?", IEEE Computer 15(1), 1982).
 *
 * R x C processing elements, one DSP each. PE (r, c) owns output pixel r and `pack` output
 * channels of column c (pack products share one activation, WP486 / WP521) and accumulates in
 * its P register (output-stationary). Activations enter at the left edge, one per row per cycle,
 * weights at the top, one packed word per column per cycle, both skewed one cycle per hop:
 * PE (r, c) sees reduction step k at cycle t = k + r + c.
 *
 * Per group: reduction length K = C_in' * k_h * k_w, P = out_h * out_w,
 *   T_pix = ceil(P / R),  T_out = ceil(C_out' / (C * pack)),  tiles = groups * T_pix * T_out
 * Each tile streams K steps. Accumulators are double-buffered: a finished tile shifts its R
 * results per column out in R cycles while the next tile accumulates, so a tile occupies
 * max(K, R) cycles. The last tile still needs the skew, the DSP pipeline and its shift-out:
 *   computeCycles = tiles * max(K, R) + (R - 1) + (C - 1) + dspLatency + R
 * (timing convention as in model (a), splitconv.ts: counted up to and including the cycle in
 * which the last result is readable at the array's output).
 *
 * Loop order: pixel tile outer, output tile inner. Off-chip: input and output once each (a line
 * buffer of k_h + stride_h input rows feeds the rows); weights once if all of a group's weights
 * fit the BRAM budget, else once per pixel tile (ping-pong tile buffer).
 * DSP = R * C. BRAM (estimate): weights (C*pack*w_bits-bit words) + line buffer (R*a_bits-bit words).
 *
 * Channel padding: a tile covers C * pack output channels, so a group computes
 * ceil(C_out'/(C*pack))*C*pack of them (paddedOutC); input channels are not padded: the
 * reduction streams one (channel, tap) step per cycle, K = C_in' * k_h * k_w steps.
 *
 * Load phases (common.ts `setTransfers`). doubleBuffer = 'on' (default): the line buffer holds
 * stride_h rows beyond the k_h in use and the weight tile buffer is a ping-pong pair (or holds
 * all weights), so only the first tile's weights (min(C_out', C*pack) * K) and first k_h input
 * rows, and the last tile's R x min(C_out', C*pack) outputs, wait. 'off': every byte waits.
 */
import type { Device } from '../devices.ts';
import {
  bram36For,
  bramLimit,
  defineModel,
  doubleBufferParam,
  layerPacking,
  padTo,
  setTransfers,
  tensorBytes,
  num,
  type LayerCost,
  type ModelCore,
  type ParamSchema,
  type Params,
  type PreparedLayer,
} from './common.ts';

export const systolicParams = {
  R: { default: 16, min: 1, max: 4096, description: 'array rows (output pixels)' },
  C: { default: 16, min: 1, max: 4096, description: 'array columns (output-channel lanes before packing)' },
  packing: { default: 'auto', choices: ['auto'], numericChoices: [1, 2, 4], description: 'multiplies per DSP' },
  dspLatency: { default: 4, min: 1, max: 16, description: 'DSP input-to-P pipeline registers' },
  bramBudget: { default: 0, min: 0, description: 'BRAM36 available (0: the whole device)' },
  doubleBuffer: doubleBufferParam('on', 'The line buffer prefetches stride_h rows and the weight tile buffer is a ping-pong pair.'),
} satisfies ParamSchema;

interface SystolicConfig {
  R: number;
  C: number;
  dspLatency: number;
  bramLimit: number;
  packing: number | string;
  doubleBuffer: boolean;
}

/**
 * Weight buffer (all of a group's weights, or a ping-pong tile) and line buffer, in BRAM36.
 * Returns one reused object: the sweep calls this per layer and configuration.
 */
const buf = { line: 0, weights: 0, allFit: false };
function buffers(g: PreparedLayer, c: SystolicConfig, pack: number): Readonly<typeof buf> {
  const l = g.layer;
  const K = g.cin * g.taps;
  const wordW = c.C * pack * l.wBits;
  const line = bram36For(c.R * l.aBits, Math.ceil(((l.kH + l.strideH) * l.inW * g.cin) / c.R));
  const allWeights = bram36For(wordW, Math.ceil(g.cout / (c.C * pack)) * K);
  buf.allFit = allWeights + line <= c.bramLimit;
  buf.line = line;
  buf.weights = buf.allFit ? allWeights : bram36For(wordW, 2 * K);
  return buf;
}

export const systolicCore: ModelCore<SystolicConfig> = {
  config: (p: Params, device: Device): SystolicConfig => ({
    R: num(p, 'R'),
    C: num(p, 'C'),
    dspLatency: num(p, 'dspLatency'),
    bramLimit: bramLimit(device, num(p, 'bramBudget') || device.bram36),
    packing: p['packing'] ?? 'auto',
    doubleBuffer: p['doubleBuffer'] !== 'off',
  }),

  cost(g, c, device, out: LayerCost): void {
    const l = g.layer;
    const pack = layerPacking(c.packing, device, l);
    out.packing = pack;
    out.dsp = c.R * c.C;
    out.peakMacsPerCycle = c.R * c.C * pack;
    const K = g.cin * g.taps;
    const Tpix = Math.ceil(g.pixels / c.R);
    const tiles = l.groups * Tpix * Math.ceil(g.cout / (c.C * pack));
    out.computeCycles = tiles * Math.max(K, c.R) + (c.R - 1) + (c.C - 1) + c.dspLatency + c.R;
    const b = buffers(g, c, pack);
    out.bram = b.weights + b.line;
    out.bramLimit = c.bramLimit;
    const tileOut = Math.min(g.cout, c.C * pack);
    const first = tensorBytes(tileOut * K, l.wBits) + Math.min(g.inputBytes, tensorBytes(l.kH * l.inW * l.inC, l.aBits));
    const last = tensorBytes(Math.min(c.R, g.pixels) * tileOut, l.aBits);
    setTransfers(out, c.doubleBuffer, g.weightBytes * (b.allFit ? 1 : Tpix) + g.inputBytes + g.outputBytes, first, last);
    out.portBytesPerCycle = 0;
    out.paddedInC = g.cin;
    out.paddedOutC = padTo(g.cout, c.C * pack);
  },

  dspExpr: (c) => `R*C (${c.R}*${c.C})`,

  bramExpr(c, out, g) {
    const b = buffers(g, c, out.packing);
    return `weight (${b.weights}) + line (${b.line}) buffers for R=${c.R}, C=${c.C}`;
  },

  describe(g, c, out) {
    const K = g.cin * g.taps;
    const Tpix = Math.ceil(g.pixels / c.R);
    const Tout = Math.ceil(g.cout / (c.C * out.packing));
    return {
      detail: {
        K,
        Tpix,
        Tout,
        tiles: g.layer.groups * Tpix * Tout,
        perTile: Math.max(K, c.R),
        weights: buffers(g, c, out.packing).allFit ? 'on-chip' : 'per pixel tile',
      },
      warnings: [],
    };
  },
};

export const systolicModel = defineModel(systolicCore);

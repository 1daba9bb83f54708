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
 */
import type { Device } from '../devices.ts';
import { resolvePacking } from '../devices.ts';
import {
  bram36For,
  finish,
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

export const systolicParams = {
  R: { default: 16, min: 1, max: 4096, description: 'array rows (output pixels)' },
  C: { default: 16, min: 1, max: 4096, description: 'array columns (output-channel lanes before packing)' },
  packing: { default: 'auto', choices: ['auto'], numericChoices: [1, 2, 4], description: 'multiplies per DSP' },
  dspLatency: { default: 4, min: 1, max: 16, description: 'DSP input-to-P pipeline registers' },
  bramBudget: { default: 0, min: 0, description: 'BRAM36 available (0: the whole device)' },
} satisfies ParamSchema;

export function systolicModel(layer: LayerSpec, p: Params, device: Device, clockMHz: number): LayerEstimate {
  requireClock(clockMHz);
  const R = num(p, 'R');
  const C = num(p, 'C');
  const dspLatency = num(p, 'dspLatency');
  const budget = num(p, 'bramBudget') || device.bram36;
  const packReq = p['packing'];
  const pack = resolvePacking('packing', packReq === 'auto' ? 'auto' : Number(packReq), device.dspType, layer.wBits, layer.aBits);
  const dsp = R * C;
  requireDsp(dsp, () => `R*C (${R}*${C})`, device);

  const g = geometry(layer);
  const K = g.cin * layer.kH * layer.kW;
  const Tpix = Math.ceil(g.pixels / R);
  const Tout = Math.ceil(g.cout / (C * pack));
  const tiles = layer.groups * Tpix * Tout;
  const perTile = Math.max(K, R);
  const computeCycles = tiles * perTile + (R - 1) + (C - 1) + dspLatency + R;

  const wordW = C * pack * layer.wBits;
  const bramLine = bram36For(R * layer.aBits, Math.ceil(((layer.kH + layer.strideH) * layer.inW * g.cin) / R));
  const bramAllW = bram36For(wordW, Tout * K);
  const bramTileW = bram36For(wordW, 2 * K);
  const allFit = bramAllW + bramLine <= budget;
  const bram = (allFit ? bramAllW : bramTileW) + bramLine;
  requireBram(bram, () => `weight (${bram - bramLine}) + line (${bramLine}) buffers for R=${R}, C=${C}`, device, budget);

  const weightBytes = tensorBytes(layer.outC * K, layer.wBits);
  const offChipBytes =
    weightBytes * (allFit ? 1 : Tpix) +
    tensorBytes(layer.inH * layer.inW * layer.inC, layer.aBits) +
    tensorBytes(g.pixels * layer.outC, layer.aBits);

  return finish(layer, device, clockMHz, computeCycles, offChipBytes, dsp * pack, {
    dsp,
    bram,
    packing: pack,
    detail: { K, Tpix, Tout, tiles, perTile, weights: allFit ? 'on-chip' : 'per pixel tile' },
    warnings: [],
  });
}

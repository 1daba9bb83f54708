/**
 * Model (a): split-convolution engine of vector inner products on DSP cascades.
 *
 * A KxK convolution is done as K_h*K_w channel-wise vector inner products (one per kernel tap)
 * whose partial sums a pixel-wise accumulation unit adds into the output. The engine:
 *
 *   - P_o cascades of L DSPs each; a cascade sums L input channels down PCOUT->PCIN
 *     (UG579 ch. 1 "cascade"), each DSP doing `pack` multiplies that share one activation
 *     (pack = 2: two output channels per DSP48E2, WP486; pack = 4: WP521), so one issue
 *     covers L input channels x (P_o * pack) output channels of one tap;
 *   - P_p copies of that array for P_p output pixels sharing the weights;
 *   - a pixel-wise accumulation unit with one accumulator per (pixel lane, output lane) that
 *     accepts one partial sum per cycle per lane, back to back on the same accumulator.
 *
 * Tiling (per group; a grouped layer runs its groups one after another, depthwise = groups):
 *   C_in' = in_c / groups,  C_out' = out_c / groups,  P = out_h * out_w
 *   T_c = ceil(C_in' / L)               channel tiles down the cascade
 *   T_o = ceil(C_out' / (P_o * pack))   output-channel tiles
 *   T_p = ceil(P / P_p)                 pixel tiles
 *
 * Loop nest, outermost first: group, output tile, pixel tile, tap (k_h, k_w), channel tile.
 * One issue per innermost iteration; the array never stalls (weights of the next output tile
 * are loaded into the other half of a ping-pong buffer).
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
 * Resources: DSP = P_p * P_o * L.
 * Buffers (36 Kb BRAM, best aspect ratio, see bram36For):
 *   weights: ping-pong, one word per issue of P_o * pack * L * w_bits bits, depth 2 * T_c * k_h * k_w;
 *   input  : fmap = 'layer' keeps one group's whole input on chip: P_p banks (one per pixel lane,
 *            replicated so lanes never conflict) of L * a_bits-bit words, depth in_h * in_w * T_c;
 *            fmap = 'rows' keeps k_h + stride_h input rows per bank instead
 *            (depth (k_h + stride_h) * in_w * T_c) and re-reads the input once per output tile;
 *            fmap = 'auto' takes 'layer' when it fits the BRAM budget, else 'rows'.
 * Off-chip bytes = weights once + input (x T_o with 'rows') + output once, at w_bits / a_bits.
 *
 * Packing lane headroom: with pack = 2 the low product has an 18-bit lane (WP486). A signed
 * w x a product has magnitude <= 2^(w+a-2), a cascade sum of L of them <= L * 2^(w+a-2), which
 * needs w_bits + a_bits + floor(log2 L) signed bits (8x8: L <= 7 fits 18 bits, L = 16 needs 20).
 * Exceeding it is reported as a warning (the design then needs a correction outside the DSP),
 * not rejected.
 */
import type { Device } from '../devices.ts';
import { dspTypeInfo, resolvePacking } from '../devices.ts';
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

export const splitconvParams = {
  L: { default: 16, min: 1, max: 4096, description: 'DSPs per cascade = input channels summed per issue' },
  Po: { default: 8, min: 1, max: 4096, description: 'parallel cascades (output-channel parallelism before packing)' },
  Pp: { default: 1, min: 1, max: 1024, description: 'pixel parallelism: copies of the cascade array' },
  packing: { default: 'auto', choices: ['auto'], numericChoices: [1, 2, 4], description: 'multiplies per DSP: auto, 1, 2 (INT8, WP486) or 4 (INT4, WP521)' },
  dspLatency: { default: 4, min: 1, max: 16, description: 'DSP input-to-P pipeline registers' },
  accLatency: { default: 1, min: 0, max: 16, description: 'pixel-wise accumulation unit latency' },
  fmap: { default: 'auto', choices: ['auto', 'layer', 'rows'], description: "input buffering: whole layer, k_h + stride_h rows, or auto" },
  bramBudget: { default: 0, min: 0, description: 'BRAM36 available to the engine (0: the whole device)' },
} satisfies ParamSchema;

export function splitconvModel(layer: LayerSpec, p: Params, device: Device, clockMHz: number): LayerEstimate {
  requireClock(clockMHz);
  const L = num(p, 'L');
  const Po = num(p, 'Po');
  const Pp = num(p, 'Pp');
  const dspLatency = num(p, 'dspLatency');
  const accLatency = num(p, 'accLatency');
  const budget = num(p, 'bramBudget') || device.bram36;
  const packReq = p['packing'];
  const pack = resolvePacking('packing', packReq === 'auto' ? 'auto' : Number(packReq), device.dspType, layer.wBits, layer.aBits);

  const dsp = Pp * Po * L;
  requireDsp(dsp, () => `Pp*Po*L (${Pp}*${Po}*${L})`, device);

  const g = geometry(layer);
  const Tc = Math.ceil(g.cin / L);
  const To = Math.ceil(g.cout / (Po * pack));
  const Tp = Math.ceil(g.pixels / Pp);
  const taps = layer.kH * layer.kW;
  const issues = layer.groups * To * Tp * taps * Tc;
  const fill = L - 1 + dspLatency + accLatency;
  const computeCycles = issues + fill;

  const bramW = bram36For(Po * pack * L * layer.wBits, 2 * Tc * taps);
  const bramLayer = Pp * bram36For(L * layer.aBits, layer.inH * layer.inW * Tc);
  const want = p['fmap'];
  const mode = want === 'auto' ? (bramW + bramLayer <= budget ? 'layer' : 'rows') : want;
  const bram =
    bramW + (mode === 'layer' ? bramLayer : Pp * bram36For(L * layer.aBits, (layer.kH + layer.strideH) * layer.inW * Tc));
  requireBram(bram, () => `BRAM for weights (${bramW}) + input ${mode} buffer (${bram - bramW})`, device, budget);

  const weightBytes = tensorBytes(layer.outC * g.cin * taps, layer.wBits);
  const inputBytes = tensorBytes(layer.inH * layer.inW * layer.inC, layer.aBits);
  const outputBytes = tensorBytes(g.pixels * layer.outC, layer.aBits);
  const offChipBytes = weightBytes + inputBytes * (mode === 'layer' ? 1 : To) + outputBytes;

  const warnings: string[] = [];
  const lane = pack === 2 ? laneBits(device) : undefined;
  if (lane !== undefined) {
    const need = layer.wBits + layer.aBits + Math.floor(Math.log2(L));
    if (need > lane) warnings.push(laneWarning(L, need, lane));
  }

  return finish(layer, device, clockMHz, computeCycles, offChipBytes, dsp * pack, {
    dsp,
    bram,
    packing: pack,
    detail: { Tc, To, Tp, taps, issues, fill, fmap: String(mode), bramWeights: bramW },
    warnings,
  });
}

function laneBits(device: Device): number | undefined {
  return dspTypeInfo(device.dspType).packingLaneBits?.['2'];
}

const laneWarnings = new Map<number, string>();
function laneWarning(L: number, need: number, lane: number): string {
  const key = (L * 128 + need) * 128 + lane;
  let w = laneWarnings.get(key);
  if (w === undefined) {
    w = `a cascade sum of ${L} packed products needs ${need} bits, the packed low lane has ${lane}: correction needed`;
    laneWarnings.set(key, w);
  }
  return w;
}

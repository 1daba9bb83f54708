/**
 * Model (b): the classic tiled engine of Zhang, Li, Sun, Guan, Xiao, Cong, "Optimizing
 * FPGA-based Accelerator Design for Deep Convolutional Neural Networks", FPGA 2015.
 *
 * A Tm x Tn array of multiply-adders (Tn input channels x Tm output channels per cycle,
 * one kernel tap, one output pixel) works on Tr x Tc output tiles. Per group
 * (M = out_c/groups, N = in_c/groups, R x C = output size, K = kernel, S = stride):
 *
 *   Sec. 3.2, computational roof:
 *     cycles   = ceil(M/Tm) * ceil(N/Tn) * R * C * K_h * K_w
 *                (their code bounds the row/column loops with min(row + Tr, R), so R*C, not
 *                 ceil(R/Tr)*Tr*ceil(C/Tc)*Tc, pixels are visited)
 *     roof     = 2*R*C*M*N*K_h*K_w / cycles            [ops per cycle; x f for GOPS]
 *
 *   Sec. 3.3, computation to communication (CTC) ratio, with the output kept on chip
 *   across the N loop (their optimised loop order):
 *     beta_in  = Tn * (S_h*Tr + K_h - S_h) * (S_w*Tc + K_w - S_w)
 *     beta_w   = Tm * Tn * K_h * K_w
 *     beta_out = Tm * Tr * Tc
 *     alpha_in = alpha_w = ceil(M/Tm) * ceil(N/Tn) * ceil(R/Tr) * ceil(C/Tc)
 *     alpha_out = ceil(M/Tm) * ceil(R/Tr) * ceil(C/Tc)
 *     external accesses = alpha_in*beta_in + alpha_w*beta_w + alpha_out*beta_out   [words]
 *     CTC = total ops / external bytes
 *
 *   Roofline: attainable = min(roof, CTC * bandwidth), which is what `finish` computes as
 *   max(compute cycles, memory cycles). A grouped layer runs its groups in sequence (all terms x groups).
 *
 * Words are `wordBits` wide (0: a_bits for feature maps, w_bits for weights; Zhang et al. used
 * 32-bit float). DSPs: Tm*Tn*dspPerMac, or ceil(Tm*Tn/pack) with dspPerMac = 0 (packed integer
 * MACs). Their float design used 5 DSP48E1 per multiply-add (2240 DSPs for 64 x 7, Table 6).
 * BRAM (estimate): double-buffered input (Tn banks), weight (Tm*Tn-wide words, K_h*K_w deep) and
 * output (Tm banks of accBits) buffers.
 *
 * Channel padding: every tile computes Tm output x Tn input channels, so a group pays for
 * ceil(M/Tm)*Tm output and ceil(N/Tn)*Tn input channels (paddedOutC, paddedInC), in the
 * compute cycles above and in the words Zhang et al.'s beta terms move (a tile's Tn-channel
 * input and Tm x Tn weight block are transferred whole).
 *
 * Load phases (common.ts `setTransfers`). doubleBuffer = 'on' (default): the buffers above are
 * ping-pong pairs (the BRAM estimate counts two of each), so a tile's beta_in + beta_w words
 * load while the previous tile computes; only the first tile's beta_in + beta_w and the last
 * beta_out wait. 'off': every word waits (load, compute, store per tile).
 */
import type { Device } from '../devices.ts';
import {
  bram36For,
  bramLimit,
  defineModel,
  doubleBufferParam,
  padTo,
  setTransfers,
  layerPacking,
  num,
  type LayerCost,
  type ModelCore,
  type ParamSchema,
  type Params,
  type PreparedLayer,
} from './common.ts';

export const tiledParams = {
  Tm: { default: 64, min: 1, max: 65536, description: 'output-channel unroll (Zhang et al. unified design: 64)' },
  Tn: { default: 7, min: 1, max: 65536, description: 'input-channel unroll (Zhang et al. unified design: 7)' },
  Tr: { default: 13, min: 1, max: 65536, description: 'output tile rows' },
  Tc: { default: 13, min: 1, max: 65536, description: 'output tile columns' },
  packing: { default: 'auto', choices: ['auto'], numericChoices: [1, 2, 4], description: 'integer MACs per DSP (used when dspPerMac = 0)' },
  dspPerMac: { default: 0, min: 0, max: 16, description: 'DSPs per multiply-add; 0: packed integer MACs (ceil(Tm*Tn/pack))' },
  wordBits: { default: 0, min: 0, max: 64, description: 'bits per off-chip word; 0: the layer w_bits / a_bits' },
  accBits: { default: 32, min: 1, max: 64, description: 'output (partial sum) buffer width' },
  bramBudget: { default: 0, min: 0, description: 'BRAM36 available (0: the whole device)' },
  doubleBuffer: doubleBufferParam('on', 'The tiled engine ping-pongs its input, weight and output buffers (two of each in the BRAM estimate).'),
} satisfies ParamSchema;

interface TiledConfig {
  Tm: number;
  Tn: number;
  Tr: number;
  Tc: number;
  dspPerMac: number;
  wordBits: number;
  accBits: number;
  bramLimit: number;
  packing: number | string;
  doubleBuffer: boolean;
}

/** Trip counts of the tile loops, per group. */
function trips(g: PreparedLayer, c: TiledConfig) {
  return {
    mT: Math.ceil(g.cout / c.Tm),
    nT: Math.ceil(g.cin / c.Tn),
    rT: Math.ceil(g.outH / c.Tr),
    cT: Math.ceil(g.outW / c.Tc),
  };
}

/** Double-buffered input, weight and output buffers in BRAM36 (one reused object: hot path). */
const parts = { input: 0, weights: 0, output: 0 };
function bramParts(g: PreparedLayer, c: TiledConfig): Readonly<typeof parts> {
  const l = g.layer;
  const inRows = l.strideH * c.Tr + l.kH - l.strideH;
  const inCols = l.strideW * c.Tc + l.kW - l.strideW;
  parts.input = 2 * c.Tn * bram36For(c.wordBits || l.aBits, inRows * inCols);
  parts.weights = 2 * bram36For(c.Tm * c.Tn * (c.wordBits || l.wBits), g.taps);
  parts.output = 2 * c.Tm * bram36For(c.accBits, c.Tr * c.Tc);
  return parts;
}

export const tiledCore: ModelCore<TiledConfig> = {
  config: (p: Params, device: Device): TiledConfig => ({
    Tm: num(p, 'Tm'),
    Tn: num(p, 'Tn'),
    Tr: num(p, 'Tr'),
    Tc: num(p, 'Tc'),
    dspPerMac: num(p, 'dspPerMac'),
    wordBits: num(p, 'wordBits'),
    accBits: num(p, 'accBits'),
    bramLimit: bramLimit(device, num(p, 'bramBudget') || device.bram36),
    packing: p['packing'] ?? 'auto',
    doubleBuffer: p['doubleBuffer'] !== 'off',
  }),

  cost(g, c, device, out: LayerCost): void {
    const l = g.layer;
    const pack = c.dspPerMac > 0 ? 1 : layerPacking(c.packing, device, l);
    out.packing = pack;
    out.dsp = c.dspPerMac > 0 ? c.Tm * c.Tn * c.dspPerMac : Math.ceil((c.Tm * c.Tn) / pack);
    out.peakMacsPerCycle = c.Tm * c.Tn;

    const mT = Math.ceil(g.cout / c.Tm);
    const nT = Math.ceil(g.cin / c.Tn);
    const rT = Math.ceil(g.outH / c.Tr);
    const cT = Math.ceil(g.outW / c.Tc);
    out.computeCycles = l.groups * mT * nT * g.pixels * g.taps;

    // Sec. 3.3: words moved per tile (beta) times tile visits (alpha), per group.
    const betaIn = c.Tn * (l.strideH * c.Tr + l.kH - l.strideH) * (l.strideW * c.Tc + l.kW - l.strideW);
    const betaW = c.Tm * c.Tn * g.taps;
    const betaOut = c.Tm * c.Tr * c.Tc;
    const alphaInW = mT * nT * rT * cT;
    const alphaOut = mT * rT * cT;
    const inWordBytes = (c.wordBits || l.aBits) / 8;
    const wWordBytes = (c.wordBits || l.wBits) / 8;
    const total = Math.ceil(l.groups * (alphaInW * betaIn * inWordBytes + alphaInW * betaW * wWordBytes + alphaOut * betaOut * inWordBytes));
    setTransfers(out, c.doubleBuffer, total, Math.ceil(betaIn * inWordBytes + betaW * wWordBytes), Math.ceil(betaOut * inWordBytes));
    out.paddedInC = padTo(g.cin, c.Tn);
    out.paddedOutC = padTo(g.cout, c.Tm);
    out.portBytesPerCycle = 0;

    const b = bramParts(g, c);
    out.bram = b.input + b.weights + b.output;
    out.bramLimit = c.bramLimit;
  },

  dspExpr: (c, out) =>
    c.dspPerMac > 0 ? `Tm*Tn*dspPerMac (${c.Tm}*${c.Tn}*${c.dspPerMac})` : `ceil(Tm*Tn/pack) (${c.Tm}*${c.Tn}/${out.packing})`,

  bramExpr(c, _out, g) {
    const b = bramParts(g, c);
    return `input (${b.input}) + weight (${b.weights}) + output (${b.output}) buffers for Tm=${c.Tm}, Tn=${c.Tn}, Tr=${c.Tr}, Tc=${c.Tc}`;
  },

  describe(g, c, out) {
    const { mT, nT, rT, cT } = trips(g, c);
    return {
      detail: {
        mTiles: mT,
        nTiles: nT,
        rTiles: rT,
        cTiles: cT,
        compRoofOpsPerCycle: (2 * g.macs) / out.computeCycles,
        ctcOpsPerByte: (2 * g.macs) / out.offChipBytes,
      },
      warnings: [],
    };
  },
};

export const tiledModel = defineModel(tiledCore);

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
  type LayerEstimate,
  type LayerSpec,
  type ParamSchema,
  type Params,
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
} satisfies ParamSchema;

export function tiledModel(layer: LayerSpec, p: Params, device: Device, clockMHz: number): LayerEstimate {
  requireClock(clockMHz);
  const Tm = num(p, 'Tm');
  const Tn = num(p, 'Tn');
  const Tr = num(p, 'Tr');
  const Tc = num(p, 'Tc');
  const dspPerMac = num(p, 'dspPerMac');
  const wordBits = num(p, 'wordBits');
  const accBits = num(p, 'accBits');
  const budget = num(p, 'bramBudget') || device.bram36;
  const packReq = p['packing'];
  const pack =
    dspPerMac > 0 ? 1 : resolvePacking('packing', packReq === 'auto' ? 'auto' : Number(packReq), device.dspType, layer.wBits, layer.aBits);
  const dsp = dspPerMac > 0 ? Tm * Tn * dspPerMac : Math.ceil((Tm * Tn) / pack);
  requireDsp(dsp, () => dspPerMac > 0 ? `Tm*Tn*dspPerMac (${Tm}*${Tn}*${dspPerMac})` : `ceil(Tm*Tn/pack) (${Tm}*${Tn}/${pack})`, device);

  const g = geometry(layer);
  const M = g.cout;
  const N = g.cin;
  const R = g.outH;
  const C = g.outW;
  const kk = layer.kH * layer.kW;
  const mT = Math.ceil(M / Tm);
  const nT = Math.ceil(N / Tn);
  const rT = Math.ceil(R / Tr);
  const cT = Math.ceil(C / Tc);
  const cyclesPerGroup = mT * nT * R * C * kk;
  const computeCycles = layer.groups * cyclesPerGroup;

  const inRows = layer.strideH * Tr + layer.kH - layer.strideH;
  const inCols = layer.strideW * Tc + layer.kW - layer.strideW;
  const betaIn = Tn * inRows * inCols;
  const betaW = Tm * Tn * kk;
  const betaOut = Tm * Tr * Tc;
  const alphaInW = mT * nT * rT * cT;
  const alphaOut = mT * rT * cT;
  const inWordBytes = (wordBits || layer.aBits) / 8;
  const wWordBytes = (wordBits || layer.wBits) / 8;
  const offChipBytes = Math.ceil(
    layer.groups * (alphaInW * betaIn * inWordBytes + alphaInW * betaW * wWordBytes + alphaOut * betaOut * inWordBytes),
  );

  const inBits = wordBits || layer.aBits;
  const bramIn = 2 * Tn * bram36For(inBits, inRows * inCols);
  const bramW = 2 * bram36For(Tm * Tn * (wordBits || layer.wBits), kk);
  const bramOut = 2 * Tm * bram36For(accBits, Tr * Tc);
  const bram = bramIn + bramW + bramOut;
  requireBram(bram, () => `input (${bramIn}) + weight (${bramW}) + output (${bramOut}) buffers for Tm=${Tm}, Tn=${Tn}, Tr=${Tr}, Tc=${Tc}`, device, budget);

  const est = finish(layer, device, clockMHz, computeCycles, offChipBytes, Tm * Tn, {
    dsp,
    bram,
    packing: pack,
    detail: {
      mTiles: mT,
      nTiles: nT,
      rTiles: rT,
      cTiles: cT,
      compRoofOpsPerCycle: (2 * R * C * M * N * kk) / cyclesPerGroup,
      ctcOpsPerByte: 0,
    },
    warnings: [],
  });
  est.detail['ctcOpsPerByte'] = est.ops / offChipBytes;
  return est;
}

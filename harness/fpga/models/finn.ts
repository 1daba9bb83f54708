/**
 * Model (c): FINN-style folded dataflow. Umuroglu et al., "FINN: A Framework for Fast,
 * Scalable Binarized Neural Network Inference", FPGA 2017, Sec. 4 (matrix-vector-threshold
 * unit, folding); Blott et al., "FINN-R", ACM TRETS 11(3), 2018, Sec. 4 (performance and
 * resource models of the MVAU).
 *
 * Every layer has its own engine of PE processing elements with SIMD lanes each. A conv layer
 * is a matrix-vector product per output pixel with an MH x MW weight matrix,
 *   MH = out_c,  MW = in_c * k_h * k_w            (sliding-window unit lowers the input)
 * folded onto PE rows and SIMD columns:
 *   neuron fold  = MH / PE,  synapse fold = MW / SIMD      (FINN requires both to divide)
 *   cycles per frame = out_h * out_w * (MH / PE) * (MW / SIMD)
 * A depthwise layer (groups = in_c = out_c) uses the vector-vector unit: PE channels, SIMD taps,
 *   cycles = out_h * out_w * (C / PE) * (k_h * k_w / SIMD)
 * (divisibility constraints as in the FINN documentation's folding-factor table: MVAU
 * MH % PE = 0, MW % SIMD = 0; VVAU C % PE = 0, k_h*k_w % SIMD = 0). Other groupings are rejected.
 *
 * Layers are pipelined, so the network's throughput is set by its slowest layer:
 *   FPS = f_clk / max_i cycles_i     (`finnNetwork`)
 *
 * Resources: PE*SIMD multipliers; with res = 'dsp' they take ceil(PE*SIMD / pack) DSPs,
 * with res = 'lut' none (FINN builds few-bit MACs in LUTs); res = 'auto' picks 'lut' when
 * both widths are <= 4 bits. Weights live on chip: PE memories of SIMD*w_bits-bit words,
 * (MH/PE)*(MW/SIMD) deep (36 Kb BRAM, best aspect ratio). Off-chip traffic per layer is zero
 * (activations stream between layers); `finnNetwork` adds the network input and output.
 *
 * Channel padding: none. FINN requires PE | MH and SIMD | MW (the folding errors below), so a
 * folding never computes padded channels: a 3-channel 3x3 layer has MW = 27 and takes SIMD in
 * {1, 3, 9, 27}; SIMD = 4 is rejected rather than padded to 28. paddedInC / paddedOutC are the
 * layer's own. Load phases: none per layer (weights are on chip, activations stream), so cycles
 * = computeCycles.
 */
import { InputError } from '../../util/errors.ts';
import type { Device } from '../devices.ts';
import {
  InfeasibleError,
  bram36For,
  defineModel,
  geometry,
  layerPacking,
  num,
  requireBram,
  requireDsp,
  setTransfers,
  tensorBytes,
  type LayerCost,
  type LayerEstimate,
  type LayerSpec,
  type ModelCore,
  type ParamSchema,
  type Params,
  type PreparedLayer,
} from './common.ts';

export const finnParams = {
  PE: { default: 1, min: 1, max: 65536, description: 'processing elements (output parallelism)' },
  SIMD: { default: 1, min: 1, max: 65536, description: 'lanes per PE (input parallelism)' },
  res: { default: 'auto', choices: ['auto', 'dsp', 'lut'], description: 'multipliers in DSPs or LUTs' },
  packing: { default: 1, choices: ['auto'], numericChoices: [1, 2, 4], description: 'multiplies per DSP when res = dsp (FINN default 1)' },
} satisfies ParamSchema;

export interface FinnConfig {
  PE: number;
  SIMD: number;
  res: string;
  packing: number | string;
}

/** Rows (MH, or channels) and columns (MW, or taps) of the layer's weight matrix. */
export function finnMatrix(g: PreparedLayer): { rows: number; cols: number; unit: 'MVAU' | 'VVAU' } {
  const l = g.layer;
  if (l.groups > 1 && !g.depthwise) {
    throw new InfeasibleError('grouping', `FINN model: groups=${l.groups} is neither 1 nor depthwise (in_c = out_c = groups)`);
  }
  return g.depthwise ? { rows: l.inC, cols: g.taps, unit: 'VVAU' } : { rows: l.outC, cols: l.inC * g.taps, unit: 'MVAU' };
}

/** 'auto': LUT multipliers when both widths are <= 4 bits, else DSPs. */
export function finnResource(res: string, l: LayerSpec): 'dsp' | 'lut' {
  if (res === 'auto') return l.wBits <= 4 && l.aBits <= 4 ? 'lut' : 'dsp';
  return res === 'lut' ? 'lut' : 'dsp';
}

export const finnCore: ModelCore<FinnConfig> = {
  config: (p: Params): FinnConfig => ({ PE: num(p, 'PE'), SIMD: num(p, 'SIMD'), res: String(p['res'] ?? 'auto'), packing: p['packing'] ?? 1 }),

  cost(g, c, device: Device, out: LayerCost): void {
    const l = g.layer;
    const { rows, cols } = finnMatrix(g);
    if (rows % c.PE !== 0) {
      throw new InfeasibleError('folding', g.depthwise ? `PE=${c.PE} must divide the channel count ${rows} (VVAU: C % PE = 0)` : `PE=${c.PE} must divide MH = out_c = ${rows} (MVAU: MH % PE = 0)`);
    }
    if (cols % c.SIMD !== 0) {
      throw new InfeasibleError('folding', g.depthwise ? `SIMD=${c.SIMD} must divide k_h*k_w = ${cols} (VVAU: k_h*k_w % SIMD = 0)` : `SIMD=${c.SIMD} must divide MW = in_c*k_h*k_w = ${cols} (MVAU: MW % SIMD = 0)`);
    }
    const neuronFold = rows / c.PE;
    const synapseFold = cols / c.SIMD;
    out.computeCycles = g.pixels * neuronFold * synapseFold;
    const res = finnResource(c.res, l);
    const pack = res === 'dsp' ? layerPacking(c.packing, device, l) : 1;
    out.packing = pack;
    out.dsp = res === 'dsp' ? Math.ceil((c.PE * c.SIMD) / pack) : 0;
    out.bram = c.PE * bram36For(c.SIMD * l.wBits, neuronFold * synapseFold);
    out.bramLimit = device.bram36;
    setTransfers(out, true, 0, 0, 0);
    out.portBytesPerCycle = 0;
    out.paddedInC = g.cin;
    out.paddedOutC = g.cout;
    out.peakMacsPerCycle = c.PE * c.SIMD;
  },

  dspExpr: (c, out) => `ceil(PE*SIMD/pack) (${c.PE}*${c.SIMD}/${out.packing})`,
  bramExpr: (c) => `weight memories PE*bram(SIMD*w_bits x fold) for PE=${c.PE}, SIMD=${c.SIMD}`,

  describe(g, c) {
    const { rows, cols, unit } = finnMatrix(g);
    return {
      detail: { neuronFold: rows / c.PE, synapseFold: cols / c.SIMD, unit, res: finnResource(c.res, g.layer) },
      warnings: [],
    };
  },
};

export const finnModel = defineModel(finnCore);

export interface FinnNetworkEstimate {
  layers: LayerEstimate[];
  /** Index of the slowest layer. */
  bottleneck: number;
  cyclesPerFrame: number;
  fps: number;
  dsp: number;
  bram: number;
  /** Network input + output, the only off-chip traffic of a FINN dataflow accelerator. */
  offChipBytesPerFrame: number;
}

/** Evaluates a whole FINN pipeline: one folding per layer, throughput f / slowest layer. */
export function finnNetwork(
  layers: readonly LayerSpec[],
  foldings: readonly Params[],
  device: Device,
  clockMHz: number,
): FinnNetworkEstimate {
  if (layers.length === 0) throw new InputError('FINN network: no layers');
  if (foldings.length !== layers.length) {
    throw new InputError(`FINN network: ${layers.length} layers but ${foldings.length} foldings`);
  }
  const est = layers.map((l, i) => finnModel(l, foldings[i]!, device, clockMHz));
  let bottleneck = 0;
  est.forEach((e, i) => {
    if (e.computeCycles > est[bottleneck]!.computeCycles) bottleneck = i;
  });
  const dsp = est.reduce((a, e) => a + e.dsp, 0);
  const bram = est.reduce((a, e) => a + e.bram, 0);
  requireDsp(dsp, () => 'sum of the layers\u2019 DSPs', device);
  requireBram(bram, () => 'sum of the layers\u2019 weight memories', device);
  const first = layers[0]!;
  const last = layers[layers.length - 1]!;
  const lastOut = geometry(last);
  const cyclesPerFrame = est[bottleneck]!.computeCycles;
  return {
    layers: est,
    bottleneck,
    cyclesPerFrame,
    fps: (clockMHz * 1e6) / cyclesPerFrame,
    dsp,
    bram,
    offChipBytesPerFrame:
      tensorBytes(first.inH * first.inW * first.inC, first.aBits) + tensorBytes(lastOut.pixels * last.outC, last.aBits),
  };
}

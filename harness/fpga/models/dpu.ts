/**
 * Model (d): DPU-style engine, after the Xilinx DPUCZDX8G for Zynq UltraScale+ (PG338,
 * "DPUCZDX8G for Zynq UltraScale+ MPSoCs Product Guide", v3.4, 2022).
 *
 * PG338 "Architecture of the DPUCZDX8G": the convolution array has three parallelisms, pixel
 * (PP), input channel (ICP) and output channel (OCP, = ICP), and does PP*ICP*OCP MACs per cycle;
 * the configuration name is its peak operations per clock:
 *   peak ops/cycle = 2 * PP * ICP * OCP
 * with (PP, ICP, OCP) per configuration as listed there and in the "DepthwiseConv" section's
 * extra-resource table: B512 (4,8,8), B800 (4,10,10), B1024 (8,8,8), B1152 (4,12,12),
 * B1600 (8,10,10), B2304 (8,12,12), B3136 (8,14,14), B4096 (8,16,16).
 *
 * Cycle model (PG338 gives no cycle formula; this is the array's issue count): PP adjacent output
 * pixels of one row, ICP input and OCP output channels, one kernel tap per cycle:
 *   conv:      cycles = groups * out_h * ceil(out_w / PP) * ceil(C_in'/ICP) * ceil(C_out'/OCP) * k_h * k_w
 *   depthwise: PG338 "DepthwiseConv": depthwise parallelism is half the pixel parallelism, so
 *              cycles = out_h * ceil(out_w / (PP/2)) * ceil(C / ICP) * k_h * k_w   (ICP channels per cycle)
 * Off-chip traffic: weights, input and output once each (on-chip banks hold a layer's tiles).
 *
 * Channel padding: ICP input and OCP output channels per cycle, so a group computes
 * ceil(C_in'/ICP)*ICP input and ceil(C_out'/OCP)*OCP output channels (paddedInC, paddedOutC;
 * depthwise: ceil(C/ICP)*ICP channels), and ceil(out_w/PP)*PP pixels per row: a 3-channel first
 * layer on B4096 (ICP 16) pays for 16.
 *
 * Load phases (common.ts `setTransfers`): tiles of one output row x OCP output channels. With
 * doubleBuffer = 'on' (default) only the first tile's weights (min(C_out', OCP) * C_in' * k_h *
 * k_w) and input rows (k_h * in_w * in_c) and the last tile's output row wait; the rest loads
 * while the array computes. PG338 describes the data controller that moves data between DDR and
 * the on-chip banks as its own module on its own AXI masters ("Data Controller Clock"), apart
 * from the convolution engine; that it overlaps loads with compute is our reading, not a cycle
 * figure PG338 gives. The bandwidth one core gets is capped by its two 128-bit AXI data masters
 * (PG338 "Port Descriptions", Table 1: DPUx_M_AXI_DATA0/DATA1, 128 bits on Zynq UltraScale+,
 * clocked by m_axi_dpu_aclk, the DPU clock): portBytes = 2 * 16 = 32 bytes per cycle (9.6 GB/s
 * at 300 MHz), below a ZCU102's 17 GB/s DDR4.
 *
 * DSPs (estimate): the array's PP*ICP*OCP MACs on DSP48E2 with two INT8 products per DSP (WP486)
 * and the DSPs clocked at twice the fabric clock ("DSP double data rate" in PG338), i.e.
 * PP*ICP*OCP / 4. PG338's resource tables list more (B4096 with ALU parallelism 4: 710 DSP,
 * 255 BRAM36) because they include the ALU, pooling and misc engines; BRAM is not modelled.
 * DPUCZDX8G targets DSP48E2 devices and INT8 only: other devices or widths are rejected.
 */
import { InputError } from '../../util/errors.ts';
import type { Device } from '../devices.ts';
import {
  InfeasibleError,
  defineModel,
  doubleBufferParam,
  num,
  padTo,
  setTransfers,
  tensorBytes,
  type LayerCost,
  type ModelCore,
  type ParamSchema,
  type Params,
} from './common.ts';

/** PG338 configurations: [PP, ICP, OCP]. */
export const DPU_ARCHS = {
  B512: [4, 8, 8],
  B800: [4, 10, 10],
  B1024: [8, 8, 8],
  B1152: [4, 12, 12],
  B1600: [8, 10, 10],
  B2304: [8, 12, 12],
  B3136: [8, 14, 14],
  B4096: [8, 16, 16],
} as const satisfies Record<string, readonly [number, number, number]>;
export type DpuArch = keyof typeof DPU_ARCHS;

export function dpuPeakOpsPerCycle(arch: DpuArch): number {
  const [pp, icp, ocp] = DPU_ARCHS[arch];
  return 2 * pp * icp * ocp;
}

export const dpuParams = {
  arch: { default: 'B4096', choices: Object.keys(DPU_ARCHS), description: 'DPUCZDX8G configuration (PG338)' },
  portBytes: {
    default: 32, min: 0, max: 4096,
    description: "off-chip bytes per cycle one core's AXI data masters move at most (PG338 Table 1: two 128-bit DPUx_M_AXI_DATA ports = 32); 0: only the device bandwidth",
  },
  doubleBuffer: doubleBufferParam('on', "The DPU's data controller moves tiles between DDR and its banks apart from the convolution engine (PG338)."),
} satisfies ParamSchema;

interface DpuConfig {
  arch: DpuArch;
  PP: number;
  ICP: number;
  OCP: number;
  portBytes: number;
  doubleBuffer: boolean;
}

export const dpuCore: ModelCore<DpuConfig> = {
  config(p: Params): DpuConfig {
    const arch = String(p['arch']) as DpuArch;
    const cfg = DPU_ARCHS[arch];
    if (!cfg) throw new InputError(`arch must be one of ${Object.keys(DPU_ARCHS).join(', ')}, got '${arch}'`);
    return { arch, PP: cfg[0], ICP: cfg[1], OCP: cfg[2], portBytes: num(p, 'portBytes'), doubleBuffer: p['doubleBuffer'] !== 'off' };
  },

  cost(g, c, device: Device, out: LayerCost): void {
    const l = g.layer;
    if (device.dspType !== 'DSP48E2') {
      throw new InfeasibleError('device', `arch=${c.arch}: the DPUCZDX8G needs DSP48E2 slices (Zynq UltraScale+); ${device.name} has ${device.dspType}`);
    }
    if (l.wBits > 8 || l.aBits > 8) {
      throw new InfeasibleError('precision', `arch=${c.arch}: the DPUCZDX8G computes INT8; w_bits=${l.wBits}, a_bits=${l.aBits}`);
    }
    out.dsp = (c.PP * c.ICP * c.OCP) / 4;
    out.bram = 0;
    out.bramLimit = device.bram36;
    out.packing = 2;
    out.peakMacsPerCycle = c.PP * c.ICP * c.OCP;
    out.computeCycles = g.depthwise
      ? g.outH * Math.ceil(g.outW / (c.PP / 2)) * Math.ceil(l.inC / c.ICP) * g.taps
      : l.groups * g.outH * Math.ceil(g.outW / c.PP) * Math.ceil(g.cin / c.ICP) * Math.ceil(g.cout / c.OCP) * g.taps;
    // Tiles of one output row x OCP output channels (header).
    const tileOut = g.depthwise ? Math.min(l.inC, c.ICP) : Math.min(g.cout, c.OCP);
    const firstWeights = tensorBytes(tileOut * (g.depthwise ? 1 : g.cin) * g.taps, l.wBits);
    const firstRows = Math.min(g.inputBytes, tensorBytes(l.kH * l.inW * l.inC, l.aBits));
    setTransfers(out, c.doubleBuffer, g.weightBytes + g.inputBytes + g.outputBytes, firstWeights + firstRows, tensorBytes(g.outW * tileOut, l.aBits));
    out.portBytesPerCycle = c.portBytes;
    out.paddedInC = g.depthwise ? padTo(l.inC, c.ICP) : padTo(g.cin, c.ICP);
    out.paddedOutC = g.depthwise ? padTo(l.inC, c.ICP) : padTo(g.cout, c.OCP);
  },

  dspExpr: (c) => `PP*ICP*OCP/4 for ${c.arch}`,
  bramExpr: (c) => `BRAM of ${c.arch}`,

  describe: (g, c) => ({
    detail: { PP: c.PP, ICP: c.ICP, OCP: c.OCP, peakOpsPerCycle: 2 * c.PP * c.ICP * c.OCP, engine: g.depthwise ? 'depthwise' : 'conv' },
    warnings: [],
  }),
};

export const dpuModel = defineModel(dpuCore);

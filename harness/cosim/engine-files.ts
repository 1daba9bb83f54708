/**
 * The files the co-simulation testbench (rtl/tb/cosim_tb.v) reads for one layer, from the same
 * ConvProblem the cycle simulator and the WASM packed kernel take: the PE's configuration
 * registers, the activation and weight memories, bias' (zero point folded in, packed-conv.ts's
 * foldedBias) and the testbench's own settings. Layouts are documented in cosim_tb.v.
 */
import { type ConvProblem, outputSize } from '../conv/layer.ts';
import { activationOffset, foldedBias } from '../dsp/packed-conv.ts';
import { SCHEMES } from '../dsp/schemes.ts';
import type { EngineScheme } from '../fpga/models/splitconv.ts';
import { dspFunction } from '../fpga/sim/dsp-function.ts';
import type { SplitConvArch } from '../fpga/sim/splitconv-sim.ts';

/** SCHEME parameter of the RTL (rtl/packed_cascade.v, rtl/CONTRACT.md). */
export const SCHEME_IDS: Record<EngineScheme, number> = { unpacked: 0, int8x8: 1, int8xu8: 2, wp487u8: 3, int4: 4 };

/** The PE's loop bounds for a layer (what a host CPU would program). */
export interface EngineConfig {
  To: number;
  Tp: number;
  Tc: number;
  taps: number;
  slots: number;
  slotsPerRow: number;
  tileWords: number;
  outputs: number;
  /** Activation words, weight words. */
  aWords: number;
  wWords: number;
  /** cfg.hex, 35 fields in the order of splitconv_pe.v's CFG_* indices (loop bounds, then address strides). */
  cfg: number[];
}

export function engineConfig(p: ConvProblem, arch: Required<SplitConvArch>, scheme: EngineScheme): EngineConfig {
  const s = p.shape;
  const fn = dspFunction(scheme);
  const { outH, outW } = outputSize(s);
  const W = fn.weights;
  const A = fn.activations;
  const spr = Math.ceil(outW / A);
  const slots = outH * spr;
  const To = Math.ceil(s.outC / (arch.Po * W));
  const Tp = Math.ceil(slots / arch.Pp);
  const Tc = Math.ceil(s.inC / arch.L);
  const taps = s.kH * s.kW;
  const zpCode = (p.inputZeroPoint + activationOffset(SCHEMES[fn.operands])) & 0xff;
  const ppq = Math.floor(arch.Pp / spr);
  const ppr = arch.Pp % spr;
  // the address strides the PE steps its address registers by (products, mod 2^32)
  const m = (...f: number[]) => f.reduce((x, y) => Math.imul(x, y), 1) >>> 0;
  const rs = m(s.inW, Tc);
  const cfg = [To, Tp, s.kH, s.kW, Tc, s.inC, slots, spr, outW, s.inH, s.inW, s.strideH, s.strideW, s.padTop, s.padLeft,
    zpCode, ppq, ppr, s.outC, taps * Tc,
    rs, m(s.strideW, Tc), m(s.strideH, rs), m(-s.padTop, rs), m(-s.padLeft, Tc),
    m(ppq, s.strideH), m(ppr, A, s.strideW), m(spr, A, s.strideW),
    m(ppq, s.strideH, rs), m(ppr, A, s.strideW, Tc), m(spr, A, s.strideW, Tc),
    m(outW, s.outC), m(ppq, outW, s.outC), m(ppr, A, s.outC), m(spr, A, s.outC)];
  return { To, Tp, Tc, taps, slots, slotsPerRow: spr, tileWords: taps * Tc, outputs: outH * outW * s.outC, aWords: s.inH * s.inW * Tc, wWords: To * taps * Tc, cfg };
}

const hex32 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

/** Bytes, least significant first, as one hex word. */
function hexBytes(bytes: Uint8Array): string {
  let out = '';
  for (let i = bytes.length - 1; i >= 0; i--) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

export interface EngineFiles {
  'cfg.hex': string;
  'tb.hex': string;
  'amem.hex': string;
  'wmem.hex': string;
  'bias.hex': string;
}

/** Trace levels of the testbench: none, each cascade's last stage, every stage. */
export type TraceLevel = 0 | 1 | 2;

export function engineFiles(p: ConvProblem, arch: Required<SplitConvArch>, scheme: EngineScheme, trace: TraceLevel, cycleLimit: number): EngineFiles {
  const s = p.shape;
  const fn = dspFunction(scheme);
  const c = engineConfig(p, arch, scheme);
  const { L, Po } = arch;
  const W = fn.weights;
  const lines: string[] = [];
  const aw = new Uint8Array(L);
  for (let pos = 0; pos < s.inH * s.inW; pos++) {
    for (let ct = 0; ct < c.Tc; ct++) {
      aw.fill(0);
      for (let j = 0; j < L; j++) {
        const ch = ct * L + j;
        if (ch < s.inC) aw[j] = p.input[pos * s.inC + ch]! & 0xff;
      }
      lines.push(hexBytes(aw));
    }
  }
  const amem = lines.join('\n');
  lines.length = 0;
  const ww = new Uint8Array(Po * 2 * L);
  for (let ot = 0; ot < c.To; ot++) {
    for (let tap = 0; tap < c.taps; tap++) {
      for (let ct = 0; ct < c.Tc; ct++) {
        ww.fill(0);
        for (let o = 0; o < Po; o++) {
          for (let k = 0; k < W; k++) {
            const oc = (ot * Po + o) * W + k;
            for (let j = 0; j < L; j++) {
              const ch = ct * L + j;
              if (oc < s.outC && ch < s.inC) ww[(o * W + k) * L + j] = p.weights[(oc * c.taps + tap) * s.inC + ch]! & 0xff;
            }
          }
        }
        lines.push(hexBytes(ww));
      }
    }
  }
  const wmem = lines.join('\n');
  const bias = Array.from(foldedBias(p, SCHEMES[fn.operands]), hex32).join('\n');
  return {
    'cfg.hex': `${c.cfg.map(hex32).join('\n')}\n`,
    'tb.hex': `${[c.outputs, trace, cycleLimit].map(hex32).join('\n')}\n`,
    'amem.hex': `${amem}\n`,
    'wmem.hex': `${wmem}\n`,
    'bias.hex': `${bias}\n`,
  };
}

/**
 * Testbench parameters. Verilator (a build takes seconds): memory depths fixed at sizes every
 * layer of the tests and of the embedded model fits, so one build serves them all; a larger layer
 * gets the next power of two. Icarus (a build takes 0.1 s, a large memory costs every run):
 * `tight`, the next power of two of what the layers need.
 */
export function testbenchParams(arch: Required<SplitConvArch>, scheme: EngineScheme, configs: EngineConfig[], outC: number, tight = false): Record<string, number> {
  const max = (f: (c: EngineConfig) => number) => Math.max(0, ...configs.map(f));
  const pow2 = (n: number, min: number) => Math.max(tight ? 16 : min, 2 ** Math.ceil(Math.log2(Math.max(1, n))));
  return {
    SCHEME: SCHEME_IDS[scheme], L: arch.L, PO: arch.Po, PP: arch.Pp, DSP_LATENCY: arch.dspLatency, ACC_LATENCY: arch.accLatency,
    WORD_CYCLES: arch.weightWordCycles,
    WBUF_DEPTH: pow2(max((c) => c.tileWords), 1024),
    AMEM_DEPTH: pow2(max((c) => c.aWords), 65536),
    WMEM_DEPTH: pow2(max((c) => c.wWords), 8192),
    OMEM_DEPTH: pow2(max((c) => c.outputs), 262144),
    BIAS_DEPTH: pow2(outC, 4096),
  };
}

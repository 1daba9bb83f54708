/**
 * A cycle-level simulator of engine (a), the split-convolution engine of
 * harness/fpga/models/splitconv.ts, computing with the DSP48E2 slice model (harness/dsp/slice.ts).
 * The analytical model states the cycle count as a formula; this module steps the clock and
 * counts, and computes every output the way the hardware would, so both claims can be tested:
 * cycles == computeCycles, and outputs == the packed-DSP engine of harness/dsp/packed-conv.ts.
 *
 * The hardware, per clock cycle t (one loop iteration of simulateSplitConv):
 *
 *   controller ──issue i──┬─ skew 0 ─ DSP 0 [dspLatency regs] P ──PCIN─┐
 *   (group, output tile,  ├─ skew 1 ─ DSP 1 [dspLatency regs] P ◄──────┘──PCIN─┐      one cascade;
 *    pixel tile, tap,     │   ...                                              │      P_o cascades x
 *    channel tile)        └─ skew L-1 ─ DSP L-1 [dspLatency regs] P ◄──────────┘      P_p pixel lanes
 *                                                   │
 *                                  decodeLanes (corrected lane decode, combinational)
 *                                                   │
 *                              accumulation unit [accLatency] ── one int32 accumulator per
 *                                                                (pixel lane, output lane)
 *                                                   │ last tap and channel tile of a tile
 *                                            write-back: + bias', requantization
 *
 * - Controller: walks the loop nest group (1: a ConvProblem has no groups), output tile, pixel
 *   tile, tap, channel tile, and issues one iteration per cycle to every cascade of every pixel
 *   lane. It reads the weights of the issue from the active half of a ping-pong weight buffer
 *   (one word = the P_o * W * L weights of one (tap, channel tile)) and the activations from the
 *   on-chip input feature map (fmap = 'layer': the whole input is on chip before cycle 0).
 * - Weight loader: the first output tile's words are in the buffer before cycle 0. At the first
 *   issue of output tile k the halves swap and the loader starts writing tile k + 1's
 *   k_h * k_w * T_c words into the free half, one word every `weightWordCycles` cycles. The
 *   controller stalls (issues nothing) at the first issue of tile k + 1 until that half is
 *   complete. This is the only stall the engine has: per tile boundary
 *     stall = k_h * k_w * T_c * max(0, weightWordCycles - T_p)
 *   cycles, zero with the model's one word per cycle (T_p >= 1), so then cycles == computeCycles.
 * - DSP j of a cascade sees an issue's operands j cycles after the controller issued it (j skew
 *   registers), then `dspLatency - 1` input pipeline registers (A/D, AD, M) before its ALU, whose
 *   result the P register holds one cycle later: inputs presented in cycle t + j are readable at P
 *   in cycle t + j + dspLatency. The ALU step is stepSlice with the ports of scheme.ports(...):
 *   DSP 0 'first' (P = M), DSP j > 0 'PCIN' (P = PCIN + M, PCIN = DSP j-1's P register, which
 *   holds the same issue's partial sum because of the skew). DSP j = L-1's P is the cascade sum.
 * - Idle lanes feed zeros (packed-conv.ts): DSP j of channel tile c holds input channel c*L + j,
 *   past C_in both its weights and activations are 0; output channels past C_out get zero
 *   weights from the loader; pixel slots past the layer, and the second pixel of a slot past
 *   out_w, get zero activations. Padded taps read the input zero point's code.
 * - Accumulation unit: the last P of each cascade is decoded with the scheme's corrected lane
 *   decode (decodeLanes) and, `accLatency` cycles later, added into the accumulator of its
 *   (pixel lane, output lane): loaded on the first tap and channel tile of an (output, pixel)
 *   tile, added (a 32-bit two's-complement adder, i.e. the int32 of the exact sum) otherwise.
 *   The adder accepts one partial per cycle back to back; the latency is a pipeline in front
 *   of it. After the last tap and channel tile the accumulators are written back with bias'
 *   (foldedBias) added; requantizePacked turns them into outputs (write-back and requantization
 *   overlap the next tile and are not counted, as in the model).
 * - cycles: from cycle 0 up to and including the cycle in which the accumulator holds the
 *   last issue's partial sum (the model's timing convention).
 *
 * 'unpacked' is one signed product per DSP (A = w, B = x, INMODE = A only, the operand ranges,
 * zero offset and bias' of int8x8), decoded as the whole 48-bit P: the hardware model (a)
 * assumes on DSP48E1 and for wide operands, here on int8 problems.
 *
 * Clarity first: the BigInt slice model steps every DSP in every cycle, so the run time grows
 * with issues * DSPs; simulateLayerReport refuses layers beyond a limit (maxDspOps).
 */
import { type ConvProblem, outputSize } from '../../conv/layer.ts';
import { activationOffset, foldedBias, requantizePacked, validatePackedProblem } from '../../dsp/packed-conv.ts';
import { SCHEMES } from '../../dsp/schemes.ts';
import { type SlicePorts, stepSlice } from '../../dsp/slice.ts';
import type { EngineScheme } from '../models/splitconv.ts';
import { DelayLine } from './delay-line.ts';
import { PortsCache, dspFunction } from './dsp-function.ts';
import { type SplitConvArch, resolveArch } from './splitconv-arch.ts';
import { WeightPingPong } from './weight-ping-pong.ts';

export interface SplitConvSimStats {
  /** Issues the controller made: groups * T_o * T_p * k_h * k_w * T_c. */
  issues: number;
  /** Cycles in which the controller had an issue ready but no weights: the documented stall. */
  stallCycles: number;
  /** DSP slices: P_p * P_o * L. */
  dsp: number;
  /** dsp * cycles. */
  dspCycles: number;
  /** DSP-cycles in which a DSP computed no product of the layer (fill, drain, stalls, idle lanes). */
  idleDspCycles: number;
  /** Products of the layer computed (= MACs, padded taps included); each lane of a DSP op counts. */
  products: number;
  /** Product slots: dspCycles * products per DSP. */
  productSlots: number;
  /** products / productSlots. */
  utilisation: number;
  Tc: number;
  To: number;
  Tp: number;
}

export interface SplitConvSimResult {
  /** Counted by the clock loop. */
  cycles: number;
  /** The accumulators written back, bias' included, [outH][outW][outC] (as slicePackedAccumulators). */
  accumulators: Int32Array;
  /** requantizePacked(problem, accumulators). */
  outputs: Int8Array | Int32Array;
  stats: SplitConvSimStats;
}

/**
 * An optional per-cycle trace (harness/cosim compares it with the RTL's): called for every P
 * register write, with the cycle in which the new P is readable (the RTL testbench's trace
 * convention), the pixel lane, cascade and stage, the new P, the ALU's ports (PCIN included;
 * the object is reused: copy what you keep) and the issue's index in the loop nest.
 */
export interface SplitConvTrace {
  /** Every stage, or only each cascade's last (the cascade sum). */
  stages: 'last' | 'all';
  onP(cycle: number, lane: number, cascade: number, stage: number, p: bigint, ports: Readonly<SlicePorts>, issue: number): void;
}

/** One iteration of the loop nest. */
interface Issue {
  index: number;
  /** Output tile, pixel tile, tap (kh * kW + kw), channel tile. */
  ot: number;
  pt: number;
  tap: number;
  ct: number;
  /** First / last tap and channel tile of an (output tile, pixel tile): load / write back. */
  first: boolean;
  last: boolean;
}

/** The operands of one DSP for one issue, travelling through its skew and pipeline registers. */
interface InFlight {
  issue: Issue;
  ports: SlicePorts;
  /** Lanes of this op that are products of the layer (0 when the DSP is idle). */
  useful: number;
}

/** One cascade: per DSP the skew line, the input pipeline, the P register and the issue P holds. */
interface Cascade {
  skew: DelayLine<InFlight>[];
  pipe: DelayLine<InFlight>[];
  P: bigint[];
  /** The issue whose sum P holds, set when P was written at the last clock edge. */
  holds: (Issue | undefined)[];
}

/** A cascade's decoded P on its way into the accumulation unit. */
interface PartialSum {
  issue: Issue;
  lane: number;
  cascade: number;
  values: bigint[];
}

/**
 * Runs engine (a) on `problem` clock by clock (see the header). The problem's operands must lie
 * in the scheme's ranges (fitToScheme; 'unpacked' takes int8x8's). Throws an InputError for an
 * invalid architecture or operands.
 */
export function simulateSplitConv(problem: ConvProblem, arch: SplitConvArch, scheme: EngineScheme, trace?: SplitConvTrace): SplitConvSimResult {
  const { L, Po, Pp, dspLatency, accLatency, weightWordCycles } = resolveArch(arch);
  const fn = dspFunction(scheme);
  validatePackedProblem(problem, { scheme: fn.operands, chain: L, decode: 'cascade' });
  const s = problem.shape;
  const { outH, outW } = outputSize(s);
  const W = fn.weights;
  const A = fn.activations;
  const slotsPerRow = Math.ceil(outW / A);
  // Loop bounds from the engine's definition, not from model (a): the tests compare the two.
  const Tc = Math.ceil(s.inC / L);
  const To = Math.ceil(s.outC / (Po * W));
  const slots = outH * slotsPerRow;
  const Tp = Math.ceil(slots / Pp);
  const taps = s.kH * s.kW;
  const issues = To * Tp * taps * Tc;
  const offset = activationOffset(SCHEMES[fn.operands]);
  const bias = foldedBias(problem, SCHEMES[fn.operands]);

  // --- operand sources: the loader's weight words and the on-chip input feature map ---
  const weightWord = (tile: number, k: number): number[] => {
    const tap = Math.floor(k / Tc);
    const ct = k % Tc;
    const word = new Array<number>(Po * W * L).fill(0);
    for (let o = 0; o < Po; o++) {
      for (let w = 0; w < W; w++) {
        const oc = (tile * Po + o) * W + w;
        for (let j = 0; j < L; j++) {
          const ch = ct * L + j;
          if (oc < s.outC && ch < s.inC) word[(o * W + w) * L + j] = problem.weights[(oc * taps + tap) * s.inC + ch]!;
        }
      }
    }
    return word;
  };
  const activation = (oh: number, ow: number, tap: number, ch: number): number => {
    if (ow >= outW) return 0; // the second pixel of a slot past the row's end: idle
    const ih = oh * s.strideH + Math.floor(tap / s.kW) - s.padTop;
    const iw = ow * s.strideW + (tap % s.kW) - s.padLeft;
    const inside = ih >= 0 && ih < s.inH && iw >= 0 && iw < s.inW;
    return (inside ? problem.input[(ih * s.inW + iw) * s.inC + ch]! : problem.inputZeroPoint) + offset;
  };
  const weightsBuf = new WeightPingPong(weightWord, taps * Tc, To, weightWordCycles);

  /** The controller's loop nest, outermost first (groups = 1). */
  function* schedule(): Generator<Issue> {
    let index = 0;
    for (let ot = 0; ot < To; ot++) {
      for (let pt = 0; pt < Tp; pt++) {
        for (let tap = 0; tap < taps; tap++) {
          for (let ct = 0; ct < Tc; ct++) {
            yield { index: index++, ot, pt, tap, ct, first: tap === 0 && ct === 0, last: tap === taps - 1 && ct === Tc - 1 };
          }
        }
      }
    }
  }

  const portsCache = new PortsCache(fn);
  const ws = new Array<number>(W);
  const as = new Array<number>(A);
  /** The operands issue `is` presents to DSP j of cascade o in pixel lane p. */
  const operands = (is: Issue, p: number, o: number, j: number, word: readonly number[]): InFlight => {
    const ch = is.ct * L + j;
    const slot = is.pt * Pp + p;
    const oh = Math.floor(slot / slotsPerRow);
    const ow0 = (slot % slotsPerRow) * A;
    const live = ch < s.inC && slot < slots;
    for (let w = 0; w < W; w++) ws[w] = word[(o * W + w) * L + j]!;
    for (let a = 0; a < A; a++) as[a] = live ? activation(oh, ow0 + a, is.tap, ch) : 0;
    let useful = 0;
    if (live) {
      for (const l of fn.lanes) if ((is.ot * Po + o) * W + l.w < s.outC && ow0 + l.a < outW) useful++;
    }
    return { issue: is, ports: portsCache.get(ws, as, j === 0 ? 'first' : 'PCIN'), useful };
  };

  // --- state ---
  const cascades: Cascade[][] = Array.from({ length: Pp }, () =>
    Array.from({ length: Po }, () => ({
      skew: Array.from({ length: L }, (_, j) => new DelayLine<InFlight>(j)),
      pipe: Array.from({ length: L }, () => new DelayLine<InFlight>(dspLatency - 1)),
      P: new Array<bigint>(L).fill(0n),
      holds: new Array<Issue | undefined>(L).fill(undefined),
    })),
  );
  const accLine = new DelayLine<PartialSum[]>(accLatency);
  const nl = fn.lanes.length;
  const acc = new Int32Array(Pp * Po * nl);
  const accumulators = new Int32Array(outH * outW * s.outC);
  let written = 0;

  const writeBack = (ps: PartialSum): void => {
    const slot = ps.issue.pt * Pp + ps.lane;
    if (slot >= slots) return;
    const oh = Math.floor(slot / slotsPerRow);
    const ow0 = (slot % slotsPerRow) * A;
    fn.lanes.forEach((l, li) => {
      const oc = (ps.issue.ot * Po + ps.cascade) * W + l.w;
      const ow = ow0 + l.a;
      if (oc >= s.outC || ow >= outW) return;
      accumulators[(oh * outW + ow) * s.outC + oc] = (acc[(ps.lane * Po + ps.cascade) * nl + li]! + bias[oc]!) | 0;
      written++;
    });
  };

  /** The ALU's inputs in this cycle: the operand ports plus PCIN. */
  const alu: SlicePorts = { a: 0n, b: 0n, c: 0n, d: 0n, pcin: 0n, inmode: 0, opmode: 0, alumode: 0, carryin: 0 };
  const sched = schedule();
  let pending = sched.next();
  let issued = 0;
  let stallCycles = 0;
  let busyDspCycles = 0;
  let products = 0;
  let lastCycle = -1;
  const limit = issues * (weightWordCycles + 1) + taps * Tc * weightWordCycles + L + dspLatency + accLatency + 16;

  for (let t = 0; lastCycle < 0; t++) {
    if (t > limit) throw new Error(`splitconv-sim: no result after ${t} cycles (${issues} issues): simulator bug`);

    // 1. The accumulation unit, from the P registers as they read in cycle t.
    const partials: PartialSum[] = [];
    for (let p = 0; p < Pp; p++) {
      for (let o = 0; o < Po; o++) {
        const c = cascades[p]![o]!;
        const is = c.holds[L - 1];
        if (is) partials.push({ issue: is, lane: p, cascade: o, values: fn.decode(c.P[L - 1]!) });
      }
    }
    const arrived = accLine.shift(partials.length ? partials : undefined);
    for (const ps of arrived ?? []) {
      ps.values.forEach((v, li) => {
        const k = (ps.lane * Po + ps.cascade) * nl + li;
        acc[k] = ps.issue.first ? Number(v) : acc[k]! + Number(v); // Int32Array: a 32-bit adder, wraps
      });
      if (ps.issue.last) writeBack(ps);
      if (ps.issue.index === issues - 1) lastCycle = t;
    }

    // 2. The controller: the next issue, unless its output tile's weights are not loaded yet.
    let issue: Issue | undefined;
    if (!pending.done) {
      const next = pending.value;
      const newTile = next.pt === 0 && next.first;
      if (!newTile || weightsBuf.ready(next.ot)) {
        if (newTile) weightsBuf.start(next.ot);
        issue = next;
        issued++;
        pending = sched.next();
      } else {
        stallCycles++;
      }
    }
    const word = issue ? weightsBuf.active[issue.tap * Tc + issue.ct]! : undefined;

    // 3. Every DSP: operands through skew and pipeline registers, the ALU, the P register.
    for (let p = 0; p < Pp; p++) {
      for (let o = 0; o < Po; o++) {
        const c = cascades[p]![o]!;
        const P = c.P.slice();
        const holds = new Array<Issue | undefined>(L).fill(undefined);
        for (let j = 0; j < L; j++) {
          const enter = issue && word ? operands(issue, p, o, j, word) : undefined;
          const op = c.pipe[j]!.shift(c.skew[j]!.shift(enter));
          if (!op) continue; // no operands: P holds (CEP low)
          if (j > 0 && c.holds[j - 1] !== op.issue) {
            throw new Error(`splitconv-sim: DSP ${j} of cascade ${o}, lane ${p} got PCIN of another issue: skew bug`);
          }
          Object.assign(alu, op.ports).pcin = j === 0 ? 0n : c.P[j - 1]!;
          P[j] = stepSlice(alu, c.P[j]!);
          if (trace && (j === L - 1 || trace.stages === 'all')) trace.onP(t + 1, p, o, j, P[j]!, alu, op.issue.index);
          holds[j] = op.issue;
          if (op.useful > 0) busyDspCycles++;
          products += op.useful;
        }
        c.P = P;
        c.holds = holds;
      }
    }

    // 4. The weight loader.
    weightsBuf.tick();
  }

  if (issued !== issues) throw new Error(`splitconv-sim: ${issued} issues, the loop nest has ${issues}`);
  if (written !== accumulators.length) throw new Error(`splitconv-sim: ${written} of ${accumulators.length} outputs written`);
  const cycles = lastCycle + 1;
  const dsp = Pp * Po * L;
  const productSlots = dsp * cycles * W * A;
  return {
    cycles,
    accumulators,
    outputs: requantizePacked(problem, accumulators),
    stats: {
      issues, stallCycles, dsp, dspCycles: dsp * cycles, idleDspCycles: dsp * cycles - busyDspCycles,
      products, productSlots, utilisation: products / productSlots, Tc, To, Tp,
    },
  };
}

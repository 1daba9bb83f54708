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
 * Clarity first: BigInt slice model for every DSP in every cycle, about 5-15 µs per DSP operation
 * (issues * DSPs of them); simulateLayerReport refuses layers beyond a limit (maxDspOps).
 */
import { type ConvProblem, type ConvShape, type RequantMode, describeShape, outputSize } from '../../conv/layer.ts';
import { activationOffset, foldedBias, requantizePacked, validatePackedProblem } from '../../dsp/packed-conv.ts';
import { schemeProblem } from '../../problems/scheme-problem.ts';
import { type SchemeName, SCHEMES, accumulationBound, decodeLanes } from '../../dsp/schemes.ts';
import { type SlicePorts, sext, stepSlice, wrap } from '../../dsp/slice.ts';
import type { NetworkLayer } from '../../networks/network.ts';
import { referenceConv } from '../../reference/conv.ts';
import type { Operands } from '../../problems/problem-builder.ts';
import { InputError, requireInt } from '../../util/errors.ts';
import { getDevice, type Device } from '../devices.ts';
import { resolveParams, type LayerSpec } from '../models/common.ts';
import {
  type EngineScheme,
  engineLanes,
  resolveScheme,
  splitconvModel,
  splitconvParams,
  splitconvTiling,
} from '../models/splitconv.ts';

export type { EngineScheme };

/** The architecture of engine (a): model (a)'s parameters that change the clock behaviour. */
export interface SplitConvArch {
  /** DSPs per cascade = input channels summed per issue. */
  L: number;
  /** Cascades: output-channel parallelism before packing. */
  Po: number;
  /** Pixel lanes: copies of the cascade array. */
  Pp: number;
  /** DSP input-to-P registers. @default 4 */
  dspLatency?: number;
  /** Pixel-wise accumulation unit latency. @default 1 */
  accLatency?: number;
  /** Cycles the weight loader needs per word (one issue's P_o * W * L weights). @default 1 */
  weightWordCycles?: number;
}

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

/** What one DSP does: its packed multiply, and how its P splits into (channel, pixel) lanes. */
interface DspFunction {
  weights: 1 | 2;
  activations: 1 | 2;
  /** (w, a) of every lane, least significant first, in decode order. */
  lanes: readonly { w: 0 | 1; a: 0 | 1 }[];
  /** The scheme whose operand ranges, activation offset and bias' the engine uses. */
  operands: SchemeName;
  ports(w: readonly number[], a: readonly number[], accumulate: 'first' | 'PCIN'): SlicePorts;
  decode(p: bigint): bigint[];
}

/** OPMODE (UG579): X = Y = M, Z = 0 (P = M) or Z = PCIN (P = PCIN + M). INMODE 0: AD = A. */
const OPMODE_M = 0x005;
const OPMODE_PCIN_M = 0x015;

const UNPACKED: DspFunction = {
  weights: 1,
  activations: 1,
  lanes: [{ w: 0, a: 0 }],
  operands: 'int8x8',
  ports: ([w], [a], accumulate) => ({
    a: wrap(BigInt(w!), 30), b: wrap(BigInt(a!), 18), c: 0n, d: 0n, pcin: 0n,
    inmode: 0, opmode: accumulate === 'first' ? OPMODE_M : OPMODE_PCIN_M, alumode: 0, carryin: 0,
  }),
  decode: (p) => [sext(p, 48)],
};

function dspFunction(scheme: EngineScheme): DspFunction {
  if (scheme === 'unpacked') return UNPACKED;
  const s = SCHEMES[scheme];
  return {
    weights: s.weights,
    activations: s.activations,
    lanes: s.lanes,
    operands: scheme,
    ports: (w, a, accumulate) => s.ports(w, a, accumulate),
    decode: (p) => decodeLanes(s, p),
  };
}

/**
 * scheme.ports(...) per operand tuple, memoised: the ports are a pure function of the codes, and
 * building them (range checks, BigInt packing) costs more than the slice step itself. Codes are
 * 8-bit at most, so (weights, activations, accumulate) packs into one integer key. Extreme and
 * small-range operands hit; the map is bounded for random int8 data, which mostly misses.
 */
class PortsCache {
  private readonly map = new Map<number, SlicePorts>();

  constructor(private readonly fn: DspFunction) {}

  get(ws: readonly number[], as: readonly number[], accumulate: 'first' | 'PCIN'): SlicePorts {
    let key = accumulate === 'first' ? 1 : 2;
    for (const w of ws) key = key * 512 + w + 256;
    for (const a of as) key = key * 512 + a + 256;
    let ports = this.map.get(key);
    if (!ports) {
      ports = this.fn.ports([...ws], [...as], accumulate);
      if (this.map.size >= 1 << 16) this.map.clear(); // random int8 data rarely repeats a tuple
      this.map.set(key, ports);
    }
    return ports;
  }
}

/** `length` registers in a row: what enters in cycle t leaves in cycle t + length. */
class DelayLine<T> {
  private readonly regs: (T | undefined)[];
  private head = 0;

  constructor(readonly length: number) {
    this.regs = new Array<T | undefined>(length).fill(undefined);
  }

  /** One clock: `x` enters; returns what entered `length` cycles ago (`x` itself for length 0). */
  shift(x: T | undefined): T | undefined {
    if (this.length === 0) return x;
    const out = this.regs[this.head];
    this.regs[this.head] = x;
    this.head = (this.head + 1) % this.length;
    return out;
  }
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
 * The ping-pong weight buffer and its loader (see the header). `word(tile, k)` is what the
 * loader fetches: the P_o * W * L weights of word k (= tap * T_c + channel tile) of output tile.
 */
class WeightPingPong {
  active: number[][];
  private shadow: number[][] = [];
  private loading: number | undefined;
  private loaded = 0;
  private timer = 0;

  constructor(
    private readonly word: (tile: number, k: number) => number[],
    private readonly words: number,
    private readonly tiles: number,
    private readonly wordCycles: number,
  ) {
    this.active = Array.from({ length: words }, (_, k) => word(0, k));
  }

  /** Tile k may start: its words are the active half (tile 0) or a complete shadow half. */
  ready(tile: number): boolean {
    return tile === 0 || (this.loading === tile && this.loaded === this.words);
  }

  /** The first issue of `tile`: swap halves, start loading tile + 1. */
  start(tile: number): void {
    if (tile > 0) this.active = this.shadow;
    this.shadow = [];
    this.loading = tile + 1 < this.tiles ? tile + 1 : undefined;
    this.loaded = 0;
    this.timer = 0;
  }

  /** One clock of the loader. */
  tick(): void {
    if (this.loading === undefined || this.loaded === this.words) return;
    if (++this.timer < this.wordCycles) return;
    this.shadow[this.loaded] = this.word(this.loading, this.loaded);
    this.loaded++;
    this.timer = 0;
  }
}

function resolveArch(a: SplitConvArch): Required<SplitConvArch> {
  return {
    L: requireInt('L', a.L, 1, 4096),
    Po: requireInt('Po', a.Po, 1, 4096),
    Pp: requireInt('Pp', a.Pp, 1, 1024),
    dspLatency: requireInt('dspLatency', a.dspLatency ?? 4, 1, 16),
    accLatency: requireInt('accLatency', a.accLatency ?? 1, 0, 16),
    weightWordCycles: requireInt('weightWordCycles', a.weightWordCycles ?? 1, 1, 1 << 16),
  };
}

/** The layer as model (a) sees it: one group, the scheme's operand widths. */
export function layerSpecOf(shape: ConvShape, scheme: EngineScheme): LayerSpec {
  const bits = scheme === 'int4' ? 4 : 8;
  return { ...shape, groups: 1, wBits: bits, aBits: bits };
}

/**
 * Runs engine (a) on `problem` clock by clock (see the header). The problem's operands must lie
 * in the scheme's ranges (fitToScheme; 'unpacked' takes int8x8's). Throws an InputError for an
 * invalid architecture or operands.
 */
export function simulateSplitConv(problem: ConvProblem, arch: SplitConvArch, scheme: EngineScheme): SplitConvSimResult {
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

/**
 * The documented difference between simulated and analytical cycles: the weight loader's stalls,
 * (T_o - 1) tile boundaries of k_h * k_w * T_c * max(0, weightWordCycles - T_p) cycles each.
 */
export function expectedStallCycles(shape: ConvShape, arch: SplitConvArch, scheme: EngineScheme): number {
  const a = resolveArch(arch);
  const t = splitconvTiling(layerSpecOf(shape, scheme), a, engineLanes(scheme));
  return (t.To - 1) * t.taps * t.Tc * Math.max(0, a.weightWordCycles - t.Tp);
}

export interface SimulateLayerOptions {
  /** Model (a) parameters as `fkb model --set` takes them (L, Po, Pp, scheme, dspLatency, accLatency). */
  params?: Record<string, unknown>;
  /** Catalogue key, part or board. @default 'zcu102' */
  device?: string | Device;
  /** @default the device's typical clock */
  clockMHz?: number;
  /** Operand distribution of the seeded problem. @default 'random' */
  operands?: Operands;
  /** @default 1 */
  seed?: number;
  /** Requantization of the outputs. @default 'gemmlowp' */
  mode?: RequantMode;
  /** Cycles per weight word of the loader. @default 1 */
  weightWordCycles?: number;
  /** Refuse layers needing more DSP operations (issues * DSPs) than this (~10 µs each). @default 500_000 */
  maxDspOps?: number;
}

/** JSON-serialisable summary of one simulated layer (for `fkb model --simulate`). */
export interface SimulateLayerReport {
  layer: string;
  shape: string;
  device: string;
  clockMHz: number;
  scheme: EngineScheme;
  arch: Required<SplitConvArch>;
  operands: Operands;
  seed: number;
  mode: RequantMode;
  cycles: {
    simulated: number;
    analytical: number;
    /** simulated - analytical; equals stallCycles (0 unless weightWordCycles > T_p). */
    difference: number;
    stallCycles: number;
    agree: boolean;
    explanation: string;
  };
  utilisation: { simulated: number; analytical: number };
  stats: SplitConvSimStats;
  outputs: {
    count: number;
    /** Products one P sums before its decode, and the scheme's accumulation bound (null: unpacked). */
    productsPerP: number;
    bound: number | null;
    /** Accumulators and requantized outputs equal to the exact convolution. */
    exact: boolean;
    accumulatorsDiffering: number;
    maxAccumulatorError: number;
    outputsDiffering: number;
    maxOutputError: number;
    /** The first output whose accumulator or requantized value differs. */
    firstDifference?: { oh: number; ow: number; oc: number; accumulator: number; exactAccumulator: number; output: number; exactOutput: number };
  };
  warnings: string[];
}

/**
 * Simulates one layer on engine (a) with a seeded problem and compares it with the analytical
 * model and the exact convolution. Grouped layers and operands wider than 8 bits are refused
 * (the simulator runs on int8 ConvProblems, which have no groups).
 */
export function simulateLayerReport(
  layer: ConvShape & Partial<Pick<NetworkLayer, 'name' | 'groups' | 'wBits' | 'aBits'>>,
  opts: SimulateLayerOptions = {},
): SimulateLayerReport {
  const device = typeof opts.device === 'object' ? opts.device : getDevice(opts.device ?? 'zcu102');
  const clockMHz = opts.clockMHz ?? device.typicalClockMHz;
  const groups = layer.groups ?? 1;
  if (groups !== 1) {
    throw new InputError(`groups=${groups}: the simulator runs one group; simulate inC/groups -> outC/groups as its own layer`);
  }
  const spec: LayerSpec = { ...layer, groups: 1, wBits: layer.wBits ?? 8, aBits: layer.aBits ?? 8 };
  if (spec.wBits > 8 || spec.aBits > 8) throw new InputError(`w_bits=${spec.wBits}, a_bits=${spec.aBits}: the simulator computes int8 (or narrower) layers`);
  const params = resolveParams(splitconvParams, opts.params ?? {}, 'model a (splitconv)');
  const scheme = resolveScheme('scheme', String(params['scheme']), device.dspType, spec.wBits, spec.aBits);
  const arch = resolveArch({
    L: Number(params['L']), Po: Number(params['Po']), Pp: Number(params['Pp']),
    dspLatency: Number(params['dspLatency']), accLatency: Number(params['accLatency']), weightWordCycles: opts.weightWordCycles ?? 1,
  });
  const model = splitconvModel(spec, params, device, clockMHz);
  const tiling = splitconvTiling(spec, arch, engineLanes(scheme));
  const dspOps = tiling.issues * arch.Pp * arch.Po * arch.L;
  const maxDspOps = opts.maxDspOps ?? 500_000;
  if (dspOps > maxDspOps) {
    throw new InputError(`${describeShape(layer)}: ${dspOps} DSP operations exceed the simulation limit of ${maxDspOps} (raise it with --max-dsp-ops)`);
  }

  const operands = opts.operands ?? 'random';
  const seed = opts.seed ?? 1;
  const mode = opts.mode ?? 'gemmlowp';
  const fn = dspFunction(scheme);
  const shape: ConvShape = {
    inH: layer.inH, inW: layer.inW, inC: layer.inC, outC: layer.outC, kH: layer.kH, kW: layer.kW, strideH: layer.strideH,
    strideW: layer.strideW, padTop: layer.padTop, padBottom: layer.padBottom, padLeft: layer.padLeft, padRight: layer.padRight,
  };
  const problem = schemeProblem(shape, fn.operands, operands, mode, seed);
  const sim = simulateSplitConv(problem, arch, scheme);

  const exactAcc = referenceConv({ ...problem, requant: { ...problem.requant, mode: 'raw' } });
  const exactOut = mode === 'raw' ? exactAcc : referenceConv(problem);
  let accDiff = 0;
  let accMax = 0;
  let outDiff = 0;
  let outMax = 0;
  let first = -1;
  for (let i = 0; i < exactAcc.length; i++) {
    const d = Math.abs(sim.accumulators[i]! - exactAcc[i]!);
    const e = Math.abs(sim.outputs[i]! - exactOut[i]!);
    if (d) accDiff++;
    if (e) outDiff++;
    if ((d || e) && first < 0) first = i;
    accMax = Math.max(accMax, d);
    outMax = Math.max(outMax, e);
  }
  const { outW } = outputSize(layer);
  const oc = layer.outC;
  const stall = sim.stats.stallCycles;
  const difference = sim.cycles - model.computeCycles;
  return {
    layer: layer.name ?? describeShape(layer),
    shape: describeShape(layer),
    device: `${device.name} (${device.board})`,
    clockMHz,
    scheme,
    arch,
    operands,
    seed,
    mode,
    cycles: {
      simulated: sim.cycles,
      analytical: model.computeCycles,
      difference,
      stallCycles: stall,
      agree: difference === 0,
      explanation:
        difference === 0
          ? 'the clock loop ends in the cycle the formula issues + (L-1) + dspLatency + accLatency predicts'
          : difference === stall
            ? `${stall} cycles of weight-loader stalls (weightWordCycles=${arch.weightWordCycles} > T_p=${tiling.Tp}), which model (a) assumes away`
            : `unexplained: ${difference} cycles apart with ${stall} stall cycles`,
    },
    utilisation: { simulated: sim.stats.utilisation, analytical: model.utilization },
    stats: sim.stats,
    outputs: {
      count: exactAcc.length,
      productsPerP: Math.min(arch.L, layer.inC),
      bound: scheme === 'unpacked' ? null : accumulationBound(SCHEMES[scheme]),
      exact: accDiff === 0 && outDiff === 0,
      accumulatorsDiffering: accDiff,
      maxAccumulatorError: accMax,
      outputsDiffering: outDiff,
      maxOutputError: outMax,
      ...(first >= 0
        ? {
            firstDifference: {
              oh: Math.floor(first / oc / outW), ow: Math.floor(first / oc) % outW, oc: first % oc,
              accumulator: sim.accumulators[first]!, exactAccumulator: exactAcc[first]!, output: sim.outputs[first]!, exactOutput: exactOut[first]!,
            },
          }
        : {}),
    },
    warnings: model.warnings,
  };
}

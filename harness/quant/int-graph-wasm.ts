/**
 * The integer graph compiled into ONE WebAssembly instance: every convolution's packed weights
 * and requantization constants, every other node's tables, one shared scratch and every
 * activation tensor live at offsets planned once, so an image runs with no copy between nodes:
 * write the input codes, call each node's exported function in order, read the output codes.
 *
 *  conv        the split-convolution variant's `_run` (WASM_VARIANT by default) on its own
 *              ConvParams block, whose X_PTR / Y_PTR are the planned tensors; with few input
 *              channels (fewer than the variant's channel block, K x K > 1) im2col first
 *              (assembly/graph/ops.ts: padded taps hold the input zero point) and a 1x1
 *              convolution over K*K*inC channels, the same integer sums without zero-padding
 *              each tap's channels to the block;
 *  depthwise   (groups = inC = outC) assembly/graph/depthwise.ts: int32 sums, then finishRow,
 *              the requantization every split-convolution kernel uses;
 *  grouped     (other groups) each group's channels copied out, its dense problem run, its
 *              output copied into place, all in WebAssembly;
 *  the rest    assembly/graph/ops.ts, bit-exact with int-graph-ops.ts: pools, global average
 *              pool, TFLite's add (its operand tables computed in WebAssembly at load), clamp,
 *              concat (copies, or a 256-entry requantization table per input), the 'chw'
 *              flatten; an 'hwc' flatten is the same bytes (its output is its input's buffer);
 *              a `zeros` tensor is filled once at load.
 *
 * Tensors whose lifetimes do not overlap share memory (greedy first fit over node indices),
 * unless `keepAll` (runIntGraphTensors reads every tensor afterwards). Every region is
 * followed by GUARD_BYTES of a known pattern; guardViolations() names any that was written.
 * test/int-graph-wasm.test.ts compares every tensor with the reference backend.
 */
import { type ConvProblem, outputSize, validateProblem } from '../conv/layer.ts';
import { type TensorShape, shapeSize } from '../model/graph.ts';
import { FIELD_COUNT, PARAM_FIELDS } from '../registry/codes.ts';
import { type SplitConvVariant, findVariant } from '../registry/splitconv.ts';
import { InputError } from '../util/errors.ts';
import { median } from '../util/stats.ts';
import { GUARD_BYTES, checkFitsWasm32, convParamFields, modulesFor, requantTables } from '../wasm/kernel-runner.ts';
import type { KernelExports } from '../wasm/modules.ts';
import { ADD_LEFT_SHIFT, type IntConv, type IntGraph } from './int-graph-nodes.ts';

const GUARD_VALUE = 0xa5;
const PAGE = 65536;

export interface WasmGraphOptions {
  /** Every tensor in memory of its own, so all can be read after a run. @default false */
  keepAll?: boolean;
  /** The split-convolution variant of every dense convolution. @default WASM_VARIANT */
  variant?: string;
  /** Per convolution node name, a variant of the same module instead. */
  variants?: ReadonlyMap<string, string>;
  /** Turns the im2col rewrite of few-channel convolutions off (for measuring it). @default true */
  im2col?: boolean;
}

type Fn = (...args: number[]) => number | void;

interface Buffer {
  bytes: number;
  first: number;
  last: number;
  offset: number;
}

/** What a node runs, its weights and tables placed; `after` once every buffer has its offset. */
type Step = () => void;

export class WasmGraph {
  readonly exports: KernelExports;
  /** Bytes of linear memory: constants (weights, tables, params), scratch, activations. */
  readonly bytes: { constants: number; scratch: number; activations: number };
  /** Per convolution node: how it runs ('dense <variant>', 'im2col <variant>', 'depthwise', 'grouped <n> x <variant>'). */
  readonly convKinds = new Map<string, string>();
  private readonly steps: Step[] = [];
  /** Index of each node's first step. */
  private readonly nodeSteps: number[] = [];
  private readonly tensorBuf = new Map<string, Buffer>();
  private readonly guards: { name: string; end: number }[] = [];
  private mem: Uint8Array;
  private readonly inputOffset: number;
  private readonly outputs: { offset: number; bytes: number }[];

  constructor(
    readonly graph: IntGraph,
    readonly options: WasmGraphOptions = {},
  ) {
    const base = variantOf(options.variant ?? DEFAULT_VARIANT);
    const kernel = modulesFor(base).find((k) => k.name === base.module);
    if (!kernel) throw new InputError(`${base.name}: the '${base.module}' WASM module is not usable on this engine (run 'npm run build')`);
    const ex = kernel.instantiate();
    this.exports = ex;
    const fn = (name: string): Fn => {
      const f = ex[name];
      if (typeof f !== 'function') throw new Error(`the ${base.module} module does not export ${name} (run 'npm run gen && npm run build')`);
      return f as Fn;
    };
    const g = this.graph;
    const shape = (t: string): TensorShape => g.tensors.get(t)!.shape;

    // --- constants: placed now, written once the memory has grown to hold them ---
    let top = ex.heapBase();
    const writes: (() => void)[] = [];
    const place = (name: string, bytes: number): number => {
      top = Math.ceil(top / 16) * 16;
      const at = top;
      this.guards.push({ name, end: at + bytes });
      top += bytes + GUARD_BYTES;
      return at;
    };
    const constant = (name: string, data: Int8Array | Int32Array | Float32Array | Int16Array): number => {
      const at = place(name, data.byteLength);
      writes.push(() => this.mem.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at));
      return at;
    };
    let scratchBytes = 0;
    const scratchFor = (bytes: number) => void (scratchBytes = Math.max(scratchBytes, bytes));
    /** Deferred: once scratch and activations are placed. */
    const late: (() => void)[] = [];
    let scratch = 0;

    // --- activation buffers and their lifetimes (node indices; the input is written at -1) ---
    const buffers: Buffer[] = [];
    const keepAll = options.keepAll === true;
    const newBuffer = (bytes: number, first: number, last: number): Buffer => {
      const b = { bytes, first, last, offset: -1 };
      buffers.push(b);
      return b;
    };
    const end = g.nodes.length;
    const lastUse = new Map<string, number>();
    g.nodes.forEach((n, i) => n.inputs.forEach((t) => lastUse.set(t, i)));
    for (const o of g.outputs) lastUse.set(o.name, end);
    const define = (t: string, at: number): Buffer => {
      const b = newBuffer(shapeSize(shape(t)), at, keepAll ? end : (lastUse.get(t) ?? at));
      this.tensorBuf.set(t, b);
      return b;
    };
    define(g.input.name, -1);
    const buf = (t: string): Buffer => this.tensorBuf.get(t)!;
    // With keepAll nothing shares memory, temporaries included, so every guard stays meaningful.
    const temp = (bytes: number, at: number): Buffer => newBuffer(bytes, keepAll ? -1 : at, keepAll ? end : at);

    /** A dense problem on `variant`: its params block, weights and constants; returns the run and the params' X/Y fields to point. */
    const dense = (name: string, problem: ConvProblem, variant: SplitConvVariant): { run: Fn; params: number; fields: Int32Array } => {
      validateProblem(problem, variant.weightRange);
      checkFitsWasm32(variant, problem.shape);
      const fields = convFields(problem);
      const at = (k: keyof typeof PARAM_FIELDS, v: number) => void (fields[PARAM_FIELDS[k]] = v);
      at('W_RAW_PTR', constant(`${name} weights`, problem.weights));
      at('B_PTR', constant(`${name} bias`, problem.bias));
      requantConstants(name, problem, fields, constant);
      const params = place(`${name} params`, FIELD_COUNT * 4);
      const prefix = variant.name;
      const packedBytes = sizeQuery(ex, fn(`${prefix}_packed_bytes`), fields);
      scratchFor(sizeQuery(ex, fn(`${prefix}_scratch_bytes`), fields));
      at('W_PTR', place(`${name} packed`, packedBytes));
      const pack = fn(`${prefix}_pack`);
      late.push(() => {
        fields[PARAM_FIELDS.SCRATCH_PTR] = scratch;
        new Int32Array(this.mem.buffer, params, FIELD_COUNT).set(fields);
        pack(params);
      });
      return { run: fn(`${prefix}_run`), params, fields };
    };
    /** Points a params block's input and output at buffers, once they are placed. */
    const wire = (c: { params: number; fields: Int32Array }, x: Buffer, y: Buffer) =>
      late.push(() => {
        c.fields[PARAM_FIELDS.X_PTR] = x.offset;
        c.fields[PARAM_FIELDS.Y_PTR] = y.offset;
        new Int32Array(this.mem.buffer, c.params, FIELD_COUNT).set(c.fields);
      });
    const variantFor = (node: IntConv): SplitConvVariant => {
      const v = variantOf(options.variants?.get(node.name) ?? base.name);
      if (v.module !== base.module) throw new InputError(`${v.name} is in the '${v.module}' module; the graph runs in '${base.module}'`);
      return v;
    };

    const pool = fn('graph_pool');
    const ops = {
      fill: fn('graph_fill'),
      copy: fn('graph_copyChannels'),
      clamp: fn('graph_clamp'),
      gap: fn('graph_globalAvgPool'),
      table: fn('graph_codeTable'),
      lut: fn('graph_codeLut'),
      lookup: fn('graph_lookupChannels'),
      add: fn('graph_add'),
      addLut: fn('graph_addLut'),
      chw: fn('graph_nhwcToNchw'),
      im2col: fn('graph_im2col'),
      dw: fn('graph_depthwise_run'),
      dwScratch: fn('graph_depthwise_scratch_bytes'),
    };

    g.nodes.forEach((node, i) => {
      this.nodeSteps.push(this.steps.length);
      const xs = node.inputs.map(shape);
      const ys = shape(node.output);
      switch (node.op) {
        case 'conv': {
          const x = buf(node.inputs[0]!);
          const y = define(node.output, i);
          this.convStep(node, i, x, y, { dense, wire, temp, variantFor, constant, place, scratchFor, late, ops, ex, steps: this.steps, scratch: () => scratch, im2col: options.im2col !== false });
          break;
        }
        case 'maxpool':
        case 'avgpool': {
          const x = buf(node.inputs[0]!);
          const y = define(node.output, i);
          const s = xs[0]!;
          scratchFor(s.c * 4);
          const op = node.op === 'maxpool' ? 0 : 1;
          this.steps.push(() => pool(op, x.offset, y.offset, s.h, s.w, s.c, ys.h, ys.w, node.kH, node.kW, node.strideH, node.strideW, node.pads.top, node.pads.left, node.countIncludePad ? 1 : 0, node.zeroPoint, scratch));
          break;
        }
        case 'globalavgpool': {
          const x = buf(node.inputs[0]!);
          const y = define(node.output, i);
          const s = xs[0]!;
          scratchFor(s.c * 4);
          this.steps.push(() => ops.gap(x.offset, y.offset, s.h * s.w, s.c, scratch));
          break;
        }
        case 'add': {
          const [a, b] = [buf(node.inputs[0]!), buf(node.inputs[1]!)];
          const y = define(node.output, i);
          const ta = place(`${node.name} table A`, 1024);
          const tb = place(`${node.name} table B`, 1024);
          const lut = place(`${node.name} table`, 65536);
          const m = node.multiplierOut;
          late.push(() => {
            ops.table(ta, node.zeroPointA, ADD_LEFT_SHIFT, node.multiplierA.multiplier, node.multiplierA.shift);
            ops.table(tb, node.zeroPointB, ADD_LEFT_SHIFT, node.multiplierB.multiplier, node.multiplierB.shift);
            ops.addLut(lut, ta, tb, m.multiplier, m.shift, node.outputZeroPoint, node.outputMin, node.outputMax);
          });
          const n = shapeSize(ys);
          this.steps.push(() => ops.add(a.offset, b.offset, y.offset, n, lut));
          break;
        }
        case 'clamp': {
          const x = buf(node.inputs[0]!);
          const y = define(node.output, i);
          const n = shapeSize(ys);
          this.steps.push(() => ops.clamp(x.offset, y.offset, n, node.min, node.max));
          break;
        }
        case 'flatten': {
          const x = buf(node.inputs[0]!);
          if (node.order === 'hwc' && !keepAll) {
            // The same bytes: the output is the input's buffer, which then lives as long as either.
            this.tensorBuf.set(node.output, x);
            x.last = Math.max(x.last, lastUse.get(node.output) ?? i);
            break;
          }
          const y = define(node.output, i);
          const s = xs[0]!;
          if (node.order === 'hwc') this.steps.push(() => ops.copy(x.offset, 1, s.h * s.w * s.c, 0, s.h * s.w * s.c, y.offset, s.h * s.w * s.c, 0));
          else this.steps.push(() => ops.chw(x.offset, y.offset, s.h, s.w, s.c));
          break;
        }
        case 'zeros': {
          // Filled once: nothing else writes it.
          const y = define(node.output, i);
          y.first = -1;
          y.last = end;
          late.push(() => ops.fill(y.offset, shapeSize(ys), node.code));
          break;
        }
        case 'concat': {
          const y = define(node.output, i);
          const pixels = ys.h * ys.w;
          let c0 = 0;
          node.inputs.forEach((t, k) => {
            const x = buf(t);
            const c = xs[k]!.c;
            const at = c0;
            const rq = node.requant[k];
            if (rq) {
              const table = place(`${node.name} input ${k} table`, 1024);
              const lut = place(`${node.name} input ${k} lut`, 256);
              late.push(() => {
                ops.table(table, rq.zeroPoint, ADD_LEFT_SHIFT, rq.multiplier.multiplier, rq.multiplier.shift);
                ops.lut(lut, table, node.outputZeroPoint, node.outputMin, node.outputMax);
              });
              this.steps.push(() => ops.lookup(x.offset, pixels, c, lut, y.offset, ys.c, at));
            } else {
              this.steps.push(() => ops.copy(x.offset, pixels, c, 0, c, y.offset, ys.c, at));
            }
            c0 += c;
          });
          break;
        }
      }
    });

    // --- scratch, then the activation arena ---
    const constantsEnd = top;
    scratch = place('scratch', scratchBytes);
    const arena = Math.ceil(top / 16) * 16;
    const arenaBytes = planBuffers(buffers, arena);
    if (keepAll) {
      // Shared buffers overwrite each other's guards by design; without sharing, any write past a buffer is a bug.
      const names = new Map([...this.tensorBuf].map(([t, b]) => [b, `tensor ${t}`]));
      for (const b of buffers) this.guards.push({ name: names.get(b) ?? 'a temporary buffer', end: b.offset + b.bytes });
    }
    const total = arena + arenaBytes;
    const have = ex.memory.buffer.byteLength;
    if (total > have) {
      try {
        ex.memory.grow(Math.ceil((total - have) / PAGE));
      } catch (e) {
        throw new InputError(`${g.name}: the compiled graph needs ${(total / 2 ** 20).toFixed(0)} MiB of WASM memory: ${(e as Error).message}`);
      }
    }
    this.mem = new Uint8Array(ex.memory.buffer);
    for (const gd of this.guards) this.mem.fill(GUARD_VALUE, gd.end, gd.end + GUARD_BYTES);
    for (const w of writes) w();
    for (const l of late) l();
    this.bytes = { constants: constantsEnd - ex.heapBase(), scratch: scratchBytes, activations: arenaBytes };
    this.inputOffset = buf(g.input.name).offset;
    this.outputs = g.outputs.map((o) => ({ offset: buf(o.name).offset, bytes: shapeSize(o.shape) }));
  }

  /** One convolution node's steps (dense, im2col + 1x1, depthwise or group by group). */
  private convStep(node: IntConv, i: number, x: Buffer, y: Buffer, c: ConvContext): void {
    const s = node.problem.shape;
    const { outH, outW } = outputSize(s);
    if (node.groups === 1) {
      const v = c.variantFor(node);
      const k = s.kH * s.kW;
      if (c.im2col && k > 1 && roundUp(k * s.inC, v.cb) * 4 <= k * roundUp(s.inC, v.cb) * 3) {
        const p = im2colProblem(node.problem);
        const cols = c.temp(shapeSize({ h: outH, w: outW, c: k * s.inC }) + 16, i); // im2col stores 16-byte vectors
        const conv = c.dense(node.name, p, v);
        c.wire(conv, cols, y);
        const zp = node.problem.inputZeroPoint;
        c.steps.push(() => c.ops.im2col(x.offset, cols.offset, s.inH, s.inW, s.inC, outH, outW, s.kH, s.kW, s.strideH, s.strideW, s.padTop, s.padLeft, zp));
        c.steps.push(() => conv.run(conv.params));
        this.convKinds.set(node.name, `im2col ${v.name}`);
        return;
      }
      const conv = c.dense(node.name, node.problem, v);
      c.wire(conv, x, y);
      c.steps.push(() => conv.run(conv.params));
      this.convKinds.set(node.name, `dense ${v.name}`);
      return;
    }
    if (node.groups === s.inC && node.groups === s.outC) {
      const p = node.problem;
      const cp = roundUp(s.inC, 8);
      const w = new Int16Array(s.kH * s.kW * cp);
      for (let o = 0; o < s.outC; o++) for (let t = 0; t < s.kH * s.kW; t++) w[t * cp + o] = p.weights[o * s.kH * s.kW + t]!;
      const bias = new Int32Array(cp);
      bias.set(p.bias);
      const fields = convFields(p);
      fields[PARAM_FIELDS.W_PTR] = c.constant(`${node.name} depthwise weights`, w);
      fields[PARAM_FIELDS.B_PTR] = c.constant(`${node.name} bias`, bias);
      requantConstants(node.name, p, fields, c.constant);
      c.scratchFor(sizeQuery(c.ex, c.ops.dwScratch, fields));
      const params = c.place(`${node.name} params`, FIELD_COUNT * 4);
      c.late.push(() => {
        fields[PARAM_FIELDS.SCRATCH_PTR] = c.scratch();
        fields[PARAM_FIELDS.X_PTR] = x.offset;
        fields[PARAM_FIELDS.Y_PTR] = y.offset;
        new Int32Array(this.mem.buffer, params, FIELD_COUNT).set(fields);
      });
      c.steps.push(() => c.ops.dw(params));
      this.convKinds.set(node.name, 'depthwise');
      return;
    }
    const v = c.variantFor(node);
    const inC = s.inC / node.groups;
    const outC = s.outC / node.groups;
    const slice = c.temp(s.inH * s.inW * inC, i);
    const part = c.temp(outH * outW * outC, i);
    node.perGroup.forEach((p, k) => {
      const conv = c.dense(`${node.name} group ${k}`, p, v);
      c.wire(conv, slice, part);
      c.steps.push(() => c.ops.copy(x.offset, s.inH * s.inW, s.inC, k * inC, inC, slice.offset, inC, 0));
      c.steps.push(() => conv.run(conv.params));
      c.steps.push(() => c.ops.copy(part.offset, outH * outW, outC, 0, outC, y.offset, s.outC, k * outC));
    });
    this.convKinds.set(node.name, `grouped ${node.groups} x ${v.name}`);
  }

  private view(): Uint8Array {
    if (this.mem.byteLength === 0) this.mem = new Uint8Array(this.exports.memory.buffer);
    return this.mem;
  }

  private runCodes(input: Int8Array): void {
    const want = shapeSize(this.graph.input.shape);
    if (!(input instanceof Int8Array) || input.length !== want) {
      throw new InputError(`input '${this.graph.input.name}' must be an Int8Array of ${want} codes, got ${input?.length ?? 'none'}`);
    }
    this.view().set(new Uint8Array(input.buffer, input.byteOffset, input.length), this.inputOffset);
    for (const step of this.steps) step();
  }

  /** Runs one image; returns the codes of every graph output (copies). */
  run(input: Int8Array): Int8Array[] {
    this.runCodes(input);
    const m = this.view();
    return this.outputs.map((o) => new Int8Array(m.buffer.slice(o.offset, o.offset + o.bytes)));
  }

  /** Runs each image in turn; returns each image's first output. */
  runBatch(inputs: readonly Int8Array[]): Int8Array[] {
    const o = this.outputs[0]!;
    return inputs.map((x) => {
      this.runCodes(x);
      return new Int8Array(this.view().buffer.slice(o.offset, o.offset + o.bytes));
    });
  }

  /** Runs one image and returns every tensor (as runIntGraphTensors); needs `keepAll`. */
  tensors(input: Int8Array): Map<string, Int8Array> {
    if (!this.options.keepAll) throw new Error('WasmGraph.tensors needs the keepAll option: tensors share memory otherwise');
    this.runCodes(input);
    const m = this.view();
    const out = new Map<string, Int8Array>([[this.graph.input.name, input]]);
    for (const node of this.graph.nodes) {
      const b = this.tensorBuf.get(node.output)!;
      out.set(node.output, new Int8Array(m.buffer.slice(b.offset, b.offset + b.bytes)));
    }
    return out;
  }

  /**
   * Milliseconds per node (its steps, timed together), the median over `reps` runs of `input`;
   * nodes without steps (an 'hwc' flatten, zeros) show 0.
   */
  profile(input: Int8Array, reps = 200): { node: string; op: string; ms: number }[] {
    this.runCodes(input);
    const bounds = [...this.nodeSteps, this.steps.length];
    const times = this.graph.nodes.map(() => [] as number[]);
    for (let r = 0; r < reps; r++) {
      this.view().set(new Uint8Array(input.buffer, input.byteOffset, input.length), this.inputOffset);
      this.graph.nodes.forEach((_, i) => {
        const t0 = performance.now();
        for (let k = bounds[i]!; k < bounds[i + 1]!; k++) this.steps[k]!();
        times[i]!.push(performance.now() - t0);
      });
    }
    return this.graph.nodes.map((n, i) => ({ node: n.name, op: this.convKinds.get(n.name) ?? n.op, ms: median(times[i]!) }));
  }

  /** Regions whose trailing guard bytes were overwritten (activation buffers only with `keepAll`: others share memory). */
  guardViolations(): string[] {
    const m = this.view();
    const bad = new Set<string>();
    for (const g of this.guards) {
      for (let k = 0; k < GUARD_BYTES; k++) {
        if (m[g.end + k] !== GUARD_VALUE) {
          bad.add(g.name);
          break;
        }
      }
    }
    return [...bad];
  }
}

interface ConvContext {
  dense(name: string, problem: ConvProblem, variant: SplitConvVariant): { run: Fn; params: number; fields: Int32Array };
  wire(c: { params: number; fields: Int32Array }, x: Buffer, y: Buffer): void;
  temp(bytes: number, at: number): Buffer;
  variantFor(node: IntConv): SplitConvVariant;
  constant(name: string, data: Int8Array | Int32Array | Float32Array | Int16Array): number;
  place(name: string, bytes: number): number;
  scratchFor(bytes: number): void;
  late: (() => void)[];
  ops: Record<'copy' | 'im2col' | 'dw' | 'dwScratch', Fn>;
  ex: KernelExports;
  steps: Step[];
  scratch(): number;
  im2col: boolean;
}

export const DEFAULT_VARIANT = 'qs8_splitconv_minmax_2x4c8__wasmsimd_dot16x8';

function variantOf(name: string): SplitConvVariant {
  const v = findVariant(name);
  if (!v) throw new InputError(`unknown split-convolution variant '${name}'`);
  if (v.module === 'scalar') throw new InputError(`${name}: the compiled graph runs in the simd or relaxed module`);
  return v;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The ConvParams block of a problem (kernel-runner.ts's), pointers left 0; requantized problems only. */
function convFields(p: ConvProblem): Int32Array {
  if (p.requant.mode === 'raw') throw new InputError('the compiled graph runs requantized convolutions only');
  return convParamFields(p);
}

/** The per-channel multipliers and shifts (gemmlowp, single) or float32 scales (fp32), placed as constants. */
function requantConstants(name: string, p: ConvProblem, fields: Int32Array, constant: (name: string, d: Int32Array | Float32Array) => number): void {
  if (p.requant.mode === 'raw') return;
  const t = requantTables(p.requant);
  fields[PARAM_FIELDS.MULT_PTR] = constant(`${name} multipliers`, t.multipliers);
  fields[PARAM_FIELDS.SHIFT_PTR] = constant(`${name} shifts`, t.shifts);
  fields[PARAM_FIELDS.SCALE_PTR] = constant(`${name} scales`, t.scales);
}

/** A *_bytes function of a variant on a params block written at the heap base (before anything is placed there). */
function sizeQuery(ex: KernelExports, f: Fn, fields: Int32Array): number {
  const at = ex.heapBase();
  const need = at + FIELD_COUNT * 4;
  if (ex.memory.buffer.byteLength < need) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / PAGE));
  new Int32Array(ex.memory.buffer, at, FIELD_COUNT).set(fields);
  return Number(f(at));
}

/**
 * The problem as im2col + 1x1: input outH x outW x (kH kW inC) (the im2col buffer, padded taps
 * = the input zero point), the OHWI weights read as O x 1 x 1 x (kH kW inC), no padding.
 */
function im2colProblem(p: ConvProblem): ConvProblem {
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const inC = s.kH * s.kW * s.inC;
  return {
    ...p,
    shape: { inH: outH, inW: outW, inC, outC: s.outC, kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 },
    input: new Int8Array(outH * outW * inC),
  };
}

/**
 * Offsets for buffers whose lifetimes [first, last] overlap only where their bytes do not:
 * largest first, each at the lowest offset clear of every placed buffer it overlaps in time.
 * Each is followed by GUARD_BYTES. Returns the arena's size.
 */
function planBuffers(buffers: Buffer[], base: number): number {
  const placed: Buffer[] = [];
  let size = 0;
  const span = (b: Buffer) => roundUp(b.bytes + GUARD_BYTES, 16);
  for (const b of [...buffers].sort((x, y) => y.bytes - x.bytes || x.first - y.first)) {
    const live = placed.filter((o) => o.first <= b.last && b.first <= o.last).sort((x, y) => x.offset - y.offset);
    let at = base;
    for (const o of live) {
      if (at + span(b) <= o.offset) break;
      at = Math.max(at, o.offset + span(o));
    }
    b.offset = at;
    placed.push(b);
    size = Math.max(size, at + span(b) - base);
  }
  return size;
}

/** Compiled graphs per integer graph and option set, built on first use. */
const compiled = new WeakMap<IntGraph, Map<string, WasmGraph>>();

/** The graph compiled with these options, built on first use and kept with it. */
export function wasmGraph(g: IntGraph, options: WasmGraphOptions = {}): WasmGraph {
  let per = compiled.get(g);
  if (!per) compiled.set(g, (per = new Map()));
  const key = JSON.stringify({ ...options, variants: options.variants ? [...options.variants] : undefined });
  let w = per.get(key);
  if (!w) per.set(key, (w = new WasmGraph(g, options)));
  return w;
}

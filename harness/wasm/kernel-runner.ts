/**
 * Runs one split-convolution problem on one registered kernel variant: lays the problem out in
 * the module's linear memory, packs the weights once, and calls the kernel.
 *
 * Memory layout (each region 16-byte aligned, every region followed by GUARD_BYTES of a
 * known pattern that `guardViolations()` checks, so writes past any buffer are caught):
 *
 *   params | input | raw weights | bias | multipliers | shifts | scales | packed weights | scratch | output
 */
import { type ConvProblem, type ConvShape, type Requant, outputSize, validateLayerParameters, validateProblem, validateShape } from '../conv/layer.ts';
import { quantizeMultiplier } from '../reference/requant.ts';
import { type PackedConvConfig, groupProducts, validatePackedProblem } from '../dsp/packed-conv.ts';
import { getScheme } from '../dsp/schemes.ts';
import { DSP_DECODE_CODES, DSP_SCHEME_CODES, FIELD_COUNT, MODE_CODES, PARAM_FIELDS } from '../registry/codes.ts';
import type { DspConvVariant } from '../registry/dspconv.ts';
import type { SplitConvVariant } from '../registry/splitconv.ts';
import { InputError } from '../util/errors.ts';

/** What the runner needs of a registered kernel, split-convolution or packed-DSP. */
export type KernelVariant = SplitConvVariant | DspConvVariant;
import { type KernelExports, type KernelModule, loadModules, variantRefusal } from './modules.ts';

/**
 * Where a runner's buffers live: an instance and the linear memory it sees. By default each
 * runner instantiates its module for itself; a thread pool (harness/threads/) hands out parts of
 * one shared memory instead, so that several runners and threads use the same memory.
 */
export interface Arena {
  readonly exports: KernelExports;
  /** Reserves `bytes` at a 16-byte aligned offset, growing the memory if needed. */
  alloc(bytes: number, what: string): number;
}

/** The default arena: an instance of its own, buffers placed one after another from its heap base. */
class OwnInstance implements Arena {
  private top: number;
  constructor(readonly exports: KernelExports, private readonly variantName: string) {
    this.top = exports.heapBase();
  }

  alloc(bytes: number): number {
    const at = Math.ceil(this.top / 16) * 16;
    this.top = at + bytes;
    growMemory(this.exports.memory, this.top, this.variantName);
    return at;
  }
}

export const GUARD_BYTES = 64;
const GUARD_VALUE = 0xa5;
const PAGE = 65536;
/** wasm32 can address 4 GiB; V8 allows 65536 pages. */
const MAX_PAGES = 65536;

type Fn = (p: number) => number | void;

export interface Region {
  name: string;
  offset: number;
  bytes: number;
}

export class KernelRunner {
  readonly outputLength: number;
  readonly outputIsInt32: boolean;
  private readonly regions = new Map<string, Region>();
  private readonly runFn: Fn;
  private readonly packFn: Fn;
  protected readonly exports: KernelExports;
  private readonly fields: Int32Array;
  private readonly arena: Arena;

  /**
   * Instantiates `kernel` (an instance of its own, so runners never share memory), or, with
   * `arena`, places the buffers there. Packed-DSP variants take the engine configuration `dsp`.
   */
  constructor(
    readonly variant: KernelVariant,
    readonly kernel: KernelModule,
    readonly problem: ConvProblem,
    readonly dsp?: PackedConvConfig,
    arena?: Arena,
  ) {
    validateShape(problem.shape);
    checkFitsWasm32(variant, problem.shape);
    if ('schemes' in variant) {
      if (!dsp) throw new InputError(`${variant.name} is a packed-DSP kernel: it needs a scheme, chain and decode point`);
      getScheme(dsp.scheme); // an unknown name is reported as such, before the support check
      if (!variant.schemes.includes(dsp.scheme)) {
        throw new InputError(`${variant.name} computes the schemes ${variant.schemes.join(', ')}, not ${dsp.scheme}`);
      }
      validatePackedProblem(problem, dsp);
      const perGroup = groupProducts(problem, dsp);
      if (perGroup > variant.maxGroupProducts) {
        throw new InputError(`${variant.name} computes decode groups of at most ${variant.maxGroupProducts} products exactly; this layer has ${perGroup}`);
      }
    } else {
      validateProblem(problem, variant.weightRange);
    }
    const s = problem.shape;
    const { outH, outW } = outputSize(s);
    this.arena = arena ?? new OwnInstance(kernel.instantiate(), variant.name);
    const exports = this.arena.exports;
    this.exports = exports;
    const fn = (suffix: string): Fn => this.kernelFunction(suffix) as Fn;
    this.runFn = fn('run');
    this.outputIsInt32 = problem.requant.mode === 'raw';
    this.outputLength = outH * outW * s.outC;

    // Sizes that do not depend on the variant first, so the params block can be filled in
    // and the variant asked for its own sizes.
    const place = (name: string, bytes: number): Region => this.place(name, bytes);
    const params = place('params', FIELD_COUNT * 4);
    const input = place('input', problem.input.length);
    const rawWeights = place('weights', problem.weights.length);
    const bias = place('bias', s.outC * 4);
    const mults = place('multipliers', s.outC * 4);
    const shifts = place('shifts', s.outC * 4);
    const scales = place('scales', s.outC * 4);

    const field = convParamFields(problem, dsp);
    const F = PARAM_FIELDS;
    field[F.X_PTR] = input.offset;
    field[F.MULT_PTR] = mults.offset;
    field[F.SHIFT_PTR] = shifts.offset;
    field[F.SCALE_PTR] = scales.offset;
    field[F.B_PTR] = bias.offset;
    field[F.W_RAW_PTR] = rawWeights.offset;
    this.write(params, field);

    const packedBytes = Number(fn('packed_bytes')(params.offset));
    const scratchBytes = Number(fn('scratch_bytes')(params.offset));
    const packed = place('packed weights', packedBytes);
    const scratch = place('scratch', scratchBytes);
    const output = place('output', this.outputLength * (this.outputIsInt32 ? 4 : 1));
    field[F.W_PTR] = packed.offset;
    field[F.SCRATCH_PTR] = scratch.offset;
    field[F.Y_PTR] = output.offset;
    this.write(params, field);

    this.fields = field;
    this.packFn = fn('pack');
    this.write(input, problem.input);
    this.loadWeights(problem);
  }

  /**
   * Replaces the weights, bias and requantization with those of `p`, a problem of the same
   * shape, input zero point and requantization mode (e.g. the next group of a grouped layer),
   * and packs them. The input is kept, so only what changes is validated: this runs once per
   * group per inference.
   */
  setWeights(p: ConvProblem): void {
    const a = this.problem.shape;
    const b = p.shape;
    const same = (Object.keys(a) as (keyof ConvShape)[]).every((k) => a[k] === b[k]);
    if (!same || p.requant.mode !== this.problem.requant.mode || p.inputZeroPoint !== this.problem.inputZeroPoint) {
      throw new InputError(`setWeights needs a problem of the runner's shape, input zero point and requantization mode (${this.variant.name})`);
    }
    validateLayerParameters(p, 'schemes' in this.variant ? getScheme(this.dsp!.scheme).weightRange : this.variant.weightRange);
    this.loadWeights(p);
  }

  private loadWeights(p: ConvProblem): void {
    const region = (name: string): Region => this.regions.get(name)!;
    const F = PARAM_FIELDS;
    const f = convParamFields(p, this.dsp);
    for (const k of [F.X_ZP, F.Y_ZP, F.Q_MIN, F.Q_MAX]) this.fields[k] = f[k]!;
    this.write(region('params'), this.fields);
    this.write(region('weights'), p.weights);
    this.write(region('bias'), p.bias);
    const t = requantTables(p.requant);
    this.write(region('multipliers'), t.multipliers);
    this.write(region('shifts'), t.shifts);
    this.write(region('scales'), t.scales);
    this.packFn(region('params').offset);
  }

  /** Runs the convolution; the result is read with output(). */
  run(): void {
    this.runFn(this.offsetOf('params'));
  }

  output(): Int8Array | Int32Array {
    const o = this.regions.get('output')!;
    // A copy in a plain ArrayBuffer, also when the memory is shared.
    const bytes = new Uint8Array(o.bytes);
    bytes.set(new Uint8Array(this.exports.memory.buffer, o.offset, o.bytes));
    return this.outputIsInt32 ? new Int32Array(bytes.buffer) : new Int8Array(bytes.buffer);
  }

  /** The exported function `<variant>_<suffix>` of the module (an Error when it has none). */
  protected kernelFunction(suffix: string): (...args: number[]) => number | void {
    const name = `${this.variant.name}_${suffix}`;
    const f = this.exports[name];
    if (typeof f !== 'function') throw new Error(`module does not export ${name}`);
    return f as (...args: number[]) => number | void;
  }

  /** Byte offset of a buffer the constructor placed ('params', 'scratch', 'output', ...). */
  protected offsetOf(name: string): number {
    return this.regions.get(name)!.offset;
  }

  /** Places a buffer of `bytes` followed by guard bytes (checked by guardViolations()). */
  protected place(name: string, bytes: number): Region {
    const r = { name, offset: this.arena.alloc(bytes + GUARD_BYTES, name), bytes };
    this.regions.set(name, r);
    new Uint8Array(this.exports.memory.buffer).fill(GUARD_VALUE, r.offset + r.bytes, r.offset + r.bytes + GUARD_BYTES);
    return r;
  }

  /** Replaces the input activations (same shape) without repacking the weights. */
  setInput(input: Int8Array): void {
    if (input.length !== this.problem.input.length) {
      throw new InputError(`input must have ${this.problem.input.length} elements, got ${input.length}`);
    }
    this.write(this.regions.get('input')!, input);
  }

  /** Names of the regions whose trailing guard bytes were overwritten. */
  guardViolations(): string[] {
    const mem = new Uint8Array(this.exports.memory.buffer);
    const bad: string[] = [];
    for (const r of this.regions.values()) {
      for (let i = 0; i < GUARD_BYTES; i++) {
        if (mem[r.offset + r.bytes + i] !== GUARD_VALUE) {
          bad.push(`${r.name} (byte ${i} past its end)`);
          break;
        }
      }
    }
    return bad;
  }

  private write(r: Region, data: ArrayLike<number> & { buffer: ArrayBufferLike; byteLength: number; byteOffset: number }): void {
    new Uint8Array(this.exports.memory.buffer, r.offset, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  }

}

/**
 * The ConvParams fields of `problem` that are not pointers: shape, zero points, output clamp
 * (raw mode: no requantization, the full int8 range), mode, and the engine of a packed-DSP
 * kernel. The pointer fields are 0, for the caller to place.
 */
export function convParamFields(problem: ConvProblem, dsp?: PackedConvConfig): Int32Array {
  const s = problem.shape;
  const { outH, outW } = outputSize(s);
  const r = problem.requant;
  const field = new Int32Array(FIELD_COUNT);
  const F = PARAM_FIELDS;
  field[F.IN_H] = s.inH;
  field[F.IN_W] = s.inW;
  field[F.IN_C] = s.inC;
  field[F.OC] = s.outC;
  field[F.K_H] = s.kH;
  field[F.K_W] = s.kW;
  field[F.S_H] = s.strideH;
  field[F.S_W] = s.strideW;
  field[F.P_T] = s.padTop;
  field[F.P_L] = s.padLeft;
  field[F.P_B] = s.padBottom;
  field[F.P_R] = s.padRight;
  field[F.OUT_H] = outH;
  field[F.OUT_W] = outW;
  field[F.X_ZP] = problem.inputZeroPoint;
  field[F.Y_ZP] = r.mode === 'raw' ? 0 : r.outputZeroPoint;
  field[F.Q_MIN] = r.mode === 'raw' ? -128 : r.outputMin;
  field[F.Q_MAX] = r.mode === 'raw' ? 127 : r.outputMax;
  field[F.MODE] = MODE_CODES[r.mode];
  if (dsp) {
    field[F.DSP_SCHEME] = DSP_SCHEME_CODES[dsp.scheme];
    field[F.DSP_CHAIN] = dsp.chain;
    field[F.DSP_DECODE] = DSP_DECODE_CODES[dsp.decode];
  }
  return field;
}

/**
 * The per-output-channel requantization tables the kernels read: multipliers and shifts
 * (gemmlowp, single) or float32 scales (fp32); the tables a mode does not read are empty.
 */
export function requantTables(r: Requant): { multipliers: Int32Array; shifts: Int32Array; scales: Float32Array } {
  const qm = r.mode === 'gemmlowp' || r.mode === 'single' ? Array.from(r.scale, (x) => quantizeMultiplier(x, r.mode as 'gemmlowp' | 'single')) : [];
  return {
    multipliers: Int32Array.from(qm, (q) => q.multiplier),
    shifts: Int32Array.from(qm, (q) => q.shift),
    scales: r.mode === 'fp32' ? Float32Array.from(r.scale) : new Float32Array(0),
  };
}

/** Grows `mem` to hold `bytes` (an InputError naming `who` past wasm32's 4 GiB or when the engine refuses). */
export function growMemory(mem: WebAssembly.Memory, bytes: number, who: string): void {
  const pages = Math.ceil(bytes / PAGE);
  const have = mem.buffer.byteLength / PAGE;
  if (pages <= have) return;
  if (pages > MAX_PAGES) {
    throw new InputError(
      `layer too large for WASM memory: ${who} needs ${(bytes / 2 ** 20).toFixed(0)} MiB, ` +
        `the limit is ${MAX_PAGES * PAGE / 2 ** 20} MiB (wasm32)`,
    );
  }
  try {
    mem.grow(pages - have);
  } catch (e) {
    throw new InputError(
      `layer too large for WASM memory: could not grow to ${(bytes / 2 ** 20).toFixed(0)} MiB (${(e as Error).message})`,
    );
  }
}

/**
 * Rejects, before any buffer is allocated, a layer whose input, weights, packed copies,
 * scratch and output cannot fit in a 4 GiB wasm32 memory.
 */
export function checkFitsWasm32(variant: KernelVariant, s: ConvShape): void {
  const { outH, outW } = outputSize(s);
  const cs = Math.ceil(s.inC / variant.cb) * variant.cb;
  const ocp = Math.ceil(s.outC / variant.nr) * variant.nr;
  const padded = (s.inH + s.padTop + s.padBottom) * (s.inW + s.padLeft + s.padRight);
  const bytes =
    s.inH * s.inW * s.inC + // input
    3 * ocp * s.kH * s.kW * cs + // raw and packed weights (int16 at most, two vectors for the split encoding)
    padded * (cs * 2 + 4) + // packed activations and pixel sums
    outH * outW * s.outC * 4 + // output (int32 in raw mode)
    outW * ocp * 4; // row accumulators
  if (bytes > MAX_PAGES * PAGE) {
    throw new InputError(
      `layer too large for WASM memory: ${variant.name} needs about ${(bytes / 2 ** 30).toFixed(1)} GiB for ` +
        `input ${s.inH}x${s.inW}x${s.inC} and output ${outH}x${outW}x${s.outC}; wasm32 addresses at most 4 GiB`,
    );
  }
}

/** The modules a variant can run in on this engine (the debug build included). */
export function modulesFor(variant: KernelVariant): KernelModule[] {
  const out: KernelModule[] = [];
  for (const [name, status] of loadModules()) {
    const inModule = name === variant.module || (name === 'debug' && variant.module !== 'relaxed');
    if (status.kernel && inModule && !variantRefusal(variant, status)) out.push(status.kernel);
  }
  return out;
}

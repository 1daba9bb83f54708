/**
 * Every number that crosses the WebAssembly boundary by convention rather than by value: the
 * fields of the ConvParams block, the requantization mode codes, and the packed-DSP scheme,
 * decode-point and port-layout codes. This table is the one definition. The TypeScript side
 * imports it; `npm run gen` writes the AssemblyScript side (assembly/common/codes.ts), every
 * module exports those constants, and test/splitconv-contract.test.ts compares each exported
 * value with this table by name.
 */
import type { RequantMode } from '../conv/layer.ts';

/**
 * The ConvParams block: one i32 per field, in this order, that the harness writes into linear
 * memory and every kernel reads (one pointer instead of thirty arguments).
 */
export const PARAM_FIELD_DOCS = {
  IN_H: 'input height',
  IN_W: 'input width',
  IN_C: 'input channels',
  OC: 'output channels',
  K_H: 'kernel height',
  K_W: 'kernel width',
  S_H: 'vertical stride',
  S_W: 'horizontal stride',
  P_T: 'top padding',
  P_L: 'left padding',
  P_B: 'bottom padding',
  P_R: 'right padding',
  OUT_H: 'output height (the harness computes it once)',
  OUT_W: 'output width',
  X_ZP: 'input zero point',
  Y_ZP: 'output zero point',
  Q_MIN: 'output clamp, low',
  Q_MAX: 'output clamp, high',
  MODE: 'requantization mode (MODE_*)',
  X_PTR: 'int8 NHWC input',
  W_PTR: "packed weights (the variant's own layout; see its pack function)",
  MULT_PTR: 'i32[OC] Q0.31 multipliers (gemmlowp, single)',
  SHIFT_PTR: 'i32[OC] exponents (gemmlowp, single)',
  SCALE_PTR: 'f32[OC] scales (fp32)',
  Y_PTR: 'output: int8 NHWC, or int32 NHWC in raw mode',
  SCRATCH_PTR: "the variant's scratch (packed activations, row accumulators)",
  B_PTR: 'int32 bias[OC] (unpacked; pack functions fold it into W_PTR)',
  W_RAW_PTR: 'int8 OHWI weights (unpacked; read by pack functions and the scalar variant)',
  DSP_SCHEME: 'packed-DSP kernels: the packing scheme (DSP_SCHEME_*)',
  DSP_CHAIN: 'packed-DSP kernels: DSPs per cascade along input channels',
  DSP_DECODE: 'packed-DSP kernels: where P is decoded (DSP_DECODE_*; see harness/dsp/packed-conv.ts)',
} as const;

export type ParamField = keyof typeof PARAM_FIELD_DOCS;

/** Field name -> index of its i32 in the block. */
export const PARAM_FIELDS = Object.fromEntries(Object.keys(PARAM_FIELD_DOCS).map((k, i) => [k, i])) as Record<ParamField, number>;

export const FIELD_COUNT = Object.keys(PARAM_FIELD_DOCS).length;

/** The MODE field. */
export const MODE_CODES: Readonly<Record<RequantMode, number>> = { raw: 0, gemmlowp: 1, single: 2, fp32: 3 };

/** The DSP48E2 packing schemes (harness/dsp/schemes.ts defines them); the DSP_SCHEME field. */
export const SCHEME_NAMES = ['int8x8', 'int8xu8', 'wp487u8', 'int4'] as const;
export type SchemeName = (typeof SCHEME_NAMES)[number];
export const DSP_SCHEME_CODES = Object.fromEntries(SCHEME_NAMES.map((s, i) => [s, i])) as Readonly<Record<SchemeName, number>>;

/** Where the packed engine decodes P (harness/dsp/packed-conv.ts); the DSP_DECODE field. */
export const DECODE_POINTS = ['cascade', 'tap', 'window'] as const;
export type DecodePoint = (typeof DECODE_POINTS)[number];
export const DSP_DECODE_CODES = Object.fromEntries(DECODE_POINTS.map((d, i) => [d, i])) as Readonly<Record<DecodePoint, number>>;

/**
 * Port layouts of one packed multiply in the exhaustive datapath (assembly/dsp/exhaustive.ts):
 * int8x8 and int8xu8 drive the ports alike and differ only in operand ranges.
 */
export const DSP_LAYOUT_CODES = { int8: 0, wp487: 1, int4: 2 } as const;
export const SCHEME_LAYOUT: Readonly<Record<SchemeName, keyof typeof DSP_LAYOUT_CODES>> = {
  int8x8: 'int8',
  int8xu8: 'int8',
  wp487u8: 'wp487',
  int4: 'int4',
};

/** One named constant of the AssemblyScript side. */
export interface AsCode {
  /** The AssemblyScript name, also the name the modules export it under. */
  name: string;
  value: number;
  doc: string;
  group: 'params' | 'mode' | 'dsp';
}

const constName = (prefix: string, key: string) => `${prefix}_${key.toUpperCase()}`;

/** Every constant assembly/common/codes.ts defines, in order. */
export function asCodes(): AsCode[] {
  const out: AsCode[] = [];
  for (const [name, index] of Object.entries(PARAM_FIELDS)) {
    out.push({ name, value: index, doc: PARAM_FIELD_DOCS[name as ParamField], group: 'params' });
  }
  out.push({ name: 'FIELD_COUNT', value: FIELD_COUNT, doc: 'fields in the block', group: 'params' });
  for (const [mode, code] of Object.entries(MODE_CODES)) out.push({ name: constName('MODE', mode), value: code, doc: `requantization ${mode}`, group: 'mode' });
  for (const [s, code] of Object.entries(DSP_SCHEME_CODES)) out.push({ name: constName('DSP_SCHEME', s), value: code, doc: `scheme ${s}`, group: 'dsp' });
  for (const [d, code] of Object.entries(DSP_DECODE_CODES)) out.push({ name: constName('DSP_DECODE', d), value: code, doc: `decode per ${d}`, group: 'dsp' });
  for (const [l, code] of Object.entries(DSP_LAYOUT_CODES)) {
    const schemes = SCHEME_NAMES.filter((s) => SCHEME_LAYOUT[s] === l).join(', ');
    out.push({ name: constName('DSP_LAYOUT', l), value: code, doc: `port layout of ${schemes}`, group: 'dsp' });
  }
  return out;
}

/**
 * The ConvParams block, mirrored from assembly/common/params.ts (a test checks both agree).
 * Every field is one little-endian i32.
 */
export const PARAM_FIELDS = {
  IN_H: 0,
  IN_W: 1,
  IN_C: 2,
  OC: 3,
  K_H: 4,
  K_W: 5,
  S_H: 6,
  S_W: 7,
  P_T: 8,
  P_L: 9,
  P_B: 10,
  P_R: 11,
  OUT_H: 12,
  OUT_W: 13,
  X_ZP: 14,
  Y_ZP: 15,
  Q_MIN: 16,
  Q_MAX: 17,
  MODE: 18,
  X_PTR: 19,
  W_PTR: 20,
  MULT_PTR: 21,
  SHIFT_PTR: 22,
  SCALE_PTR: 23,
  Y_PTR: 24,
  SCRATCH_PTR: 25,
  B_PTR: 26,
  W_RAW_PTR: 27,
  DSP_SCHEME: 28,
  DSP_CHAIN: 29,
  DSP_DECODE: 30,
} as const;

export const FIELD_COUNT = 31;

export const MODE_CODES = { raw: 0, gemmlowp: 1, single: 2, fp32: 3 } as const;

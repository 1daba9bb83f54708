/**
 * The 46 DSP48E2 parameters (UG579 Table 2-1 and UG974 "DSP48E2"), read from a golden trace's
 * `<file>.attrs.json` sidecar, an `--attrs` file or `--attr KEY=VALUE` options, and checked:
 * an unknown key or a value outside the parameter's range is an InputError naming the source
 * and the key; a legal value the slice model does not implement is refused the same way
 * (`unmodelledAttribute`) rather than ignored.
 *
 * Values are stored as the sidecar writes them, typed: register counts as numbers, enumerations
 * as strings, MASK/PATTERN/RND as BigInt (hex strings in JSON), IS_*_INVERTED as numbers (binary
 * strings in JSON, bit i of the string's value = pin bit i).
 */
import { InputError } from '../util/errors.ts';
import { readInputText } from '../util/input-files.ts';

type Spec =
  | { kind: 'int'; values: readonly number[] }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'hex'; bits: number }
  | { kind: 'bin'; bits: number };

const reg01 = { kind: 'int', values: [0, 1] } as const;
const reg012 = { kind: 'int', values: [0, 1, 2] } as const;
const inv1 = { kind: 'bin', bits: 1 } as const;

/** Every DSP48E2 parameter and its legal values (UG974 DSP48E2 attribute table). */
const SPECS = {
  ACASCREG: reg012,
  ADREG: reg01,
  ALUMODEREG: reg01,
  AMULTSEL: { kind: 'enum', values: ['A', 'AD'] },
  AREG: reg012,
  AUTORESET_PATDET: { kind: 'enum', values: ['NO_RESET', 'RESET_MATCH', 'RESET_NOT_MATCH'] },
  AUTORESET_PRIORITY: { kind: 'enum', values: ['RESET', 'CEP'] },
  A_INPUT: { kind: 'enum', values: ['DIRECT', 'CASCADE'] },
  BCASCREG: reg012,
  BMULTSEL: { kind: 'enum', values: ['B', 'AD'] },
  BREG: reg012,
  B_INPUT: { kind: 'enum', values: ['DIRECT', 'CASCADE'] },
  CARRYINREG: reg01,
  CARRYINSELREG: reg01,
  CREG: reg01,
  DREG: reg01,
  INMODEREG: reg01,
  IS_ALUMODE_INVERTED: { kind: 'bin', bits: 4 },
  IS_CARRYIN_INVERTED: inv1,
  IS_CLK_INVERTED: inv1,
  IS_INMODE_INVERTED: { kind: 'bin', bits: 5 },
  IS_OPMODE_INVERTED: { kind: 'bin', bits: 9 },
  IS_RSTALLCARRYIN_INVERTED: inv1,
  IS_RSTALUMODE_INVERTED: inv1,
  IS_RSTA_INVERTED: inv1,
  IS_RSTB_INVERTED: inv1,
  IS_RSTCTRL_INVERTED: inv1,
  IS_RSTC_INVERTED: inv1,
  IS_RSTD_INVERTED: inv1,
  IS_RSTINMODE_INVERTED: inv1,
  IS_RSTM_INVERTED: inv1,
  IS_RSTP_INVERTED: inv1,
  MASK: { kind: 'hex', bits: 48 },
  MREG: reg01,
  OPMODEREG: reg01,
  PATTERN: { kind: 'hex', bits: 48 },
  PREADDINSEL: { kind: 'enum', values: ['A', 'B'] },
  PREG: reg01,
  RND: { kind: 'hex', bits: 48 },
  SEL_MASK: { kind: 'enum', values: ['MASK', 'C', 'ROUNDING_MODE1', 'ROUNDING_MODE2'] },
  SEL_PATTERN: { kind: 'enum', values: ['PATTERN', 'C'] },
  USE_MULT: { kind: 'enum', values: ['NONE', 'MULTIPLY', 'DYNAMIC'] },
  USE_PATTERN_DETECT: { kind: 'enum', values: ['NO_PATDET', 'PATDET'] },
  USE_SIMD: { kind: 'enum', values: ['ONE48', 'TWO24', 'FOUR12'] },
  USE_WIDEXOR: { kind: 'enum', values: ['FALSE', 'TRUE'] },
  XORSIMD: { kind: 'enum', values: ['XOR24_48_96', 'XOR12'] },
} as const satisfies Record<string, Spec>;

export type AttributeName = keyof typeof SPECS;
export const ATTRIBUTE_NAMES = Object.keys(SPECS) as AttributeName[];

type ValueOf<S> = S extends { kind: 'int' | 'enum'; values: readonly (infer V)[] } ? V : S extends { kind: 'hex' } ? bigint : number;

/** A complete DSP48E2 parameter set. */
export type SliceConfig = { -readonly [K in AttributeName]: ValueOf<(typeof SPECS)[K]> };

/** The unisim defaults (UG974): what an instance that sets no parameter gets. */
export const UNISIM_DEFAULTS: Readonly<SliceConfig> = Object.freeze({
  ACASCREG: 1, ADREG: 1, ALUMODEREG: 1, AMULTSEL: 'A', AREG: 1, AUTORESET_PATDET: 'NO_RESET', AUTORESET_PRIORITY: 'RESET',
  A_INPUT: 'DIRECT', BCASCREG: 1, BMULTSEL: 'B', BREG: 1, B_INPUT: 'DIRECT', CARRYINREG: 1, CARRYINSELREG: 1, CREG: 1,
  DREG: 1, INMODEREG: 1, IS_ALUMODE_INVERTED: 0, IS_CARRYIN_INVERTED: 0, IS_CLK_INVERTED: 0, IS_INMODE_INVERTED: 0,
  IS_OPMODE_INVERTED: 0, IS_RSTALLCARRYIN_INVERTED: 0, IS_RSTALUMODE_INVERTED: 0, IS_RSTA_INVERTED: 0, IS_RSTB_INVERTED: 0,
  IS_RSTCTRL_INVERTED: 0, IS_RSTC_INVERTED: 0, IS_RSTD_INVERTED: 0, IS_RSTINMODE_INVERTED: 0, IS_RSTM_INVERTED: 0,
  IS_RSTP_INVERTED: 0, MASK: 0x3fffffffffffn, MREG: 1, OPMODEREG: 1, PATTERN: 0n, PREADDINSEL: 'A', PREG: 1, RND: 0n,
  SEL_MASK: 'MASK', SEL_PATTERN: 'PATTERN', USE_MULT: 'MULTIPLY', USE_PATTERN_DETECT: 'NO_PATDET', USE_SIMD: 'ONE48',
  USE_WIDEXOR: 'FALSE', XORSIMD: 'XOR24_48_96',
});

/**
 * stepSlice's configuration, the one dsp48e2_raw_random.csv was simulated with (golden README,
 * "The simulated slice"): every register 0 but PREG, pre-adder into the multiplier. A trace
 * without a sidecar replays with these attributes.
 */
export const GOLDEN_COMBINATIONAL: Readonly<SliceConfig> = Object.freeze({
  ...UNISIM_DEFAULTS,
  ACASCREG: 0, ADREG: 0, ALUMODEREG: 0, AMULTSEL: 'AD', AREG: 0, BCASCREG: 0, BREG: 0, CARRYINREG: 0,
  CARRYINSELREG: 0, CREG: 0, DREG: 0, INMODEREG: 0, MREG: 0, OPMODEREG: 0, PREG: 1,
});

/** What a parameter may be, for messages. */
function describe(spec: Spec): string {
  switch (spec.kind) {
    case 'int': return `one of ${spec.values.join(', ')}`;
    case 'enum': return `one of ${spec.values.map((v) => `"${v}"`).join(', ')}`;
    case 'hex': return `a string of 1 to ${spec.bits / 4} hex digits`;
    case 'bin': return `a string of ${spec.bits} binary digit${spec.bits > 1 ? 's' : ''}`;
  }
}

/** Where parameters come from, for messages: a file name or '--attr'. */
function attrError(source: string, key: string, detail: string): InputError {
  return new InputError(`${source}: ${key}: ${detail}`);
}

function isAttributeName(key: string): key is AttributeName {
  return Object.hasOwn(SPECS, key);
}

/**
 * One parameter's value, checked. `fromText` is for `--attr KEY=VALUE`, where every value is a
 * string: there register counts are read as decimal numbers.
 */
export function parseAttribute(source: string, key: string, value: unknown, fromText = false): [AttributeName, SliceConfig[AttributeName]] {
  if (!isAttributeName(key)) {
    throw attrError(source, key, `unknown DSP48E2 parameter (known: ${ATTRIBUTE_NAMES.join(', ')})`);
  }
  const spec: Spec = SPECS[key];
  const bad = () => attrError(source, key, `must be ${describe(spec)}, got ${JSON.stringify(value)}`);
  switch (spec.kind) {
    case 'int': {
      const n = fromText && typeof value === 'string' && /^[0-9]$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !spec.values.includes(n)) throw bad();
      return [key, n as SliceConfig[AttributeName]];
    }
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) throw bad();
      return [key, value as SliceConfig[AttributeName]];
    case 'hex': {
      if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{1,${spec.bits / 4}}$`).test(value)) throw bad();
      return [key, BigInt(`0x${value}`)];
    }
    case 'bin':
      if (typeof value !== 'string' || value.length !== spec.bits || !/^[01]+$/.test(value)) throw bad();
      return [key, parseInt(value, 2)];
  }
}

/** A parameter set, partial: the keys a sidecar or the options name. */
export type SliceConfigPatch = Partial<SliceConfig>;

/**
 * The parameters of a JSON object (a sidecar or an `--attrs` file). `_meta` is allowed and
 * returned as is; any other key must be a DSP48E2 parameter.
 */
export function parseAttributeObject(source: string, json: unknown): { attrs: SliceConfigPatch; meta?: unknown } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InputError(`${source}: expected a JSON object of DSP48E2 parameters`);
  }
  const attrs: Record<string, unknown> = {};
  let meta: unknown;
  for (const [key, value] of Object.entries(json)) {
    if (key === '_meta') {
      meta = value;
      continue;
    }
    const [k, v] = parseAttribute(source, key, value);
    attrs[k] = v;
  }
  return { attrs: attrs as SliceConfigPatch, meta };
}

/** Reads a JSON parameter file (a sidecar or `--attrs`); unreadable or invalid JSON is an InputError. */
export function readAttributeFile(path: string): { attrs: SliceConfigPatch; meta?: unknown } {
  const text = readInputText(path, { what: 'DSP48E2 attribute file', maxBytes: 1 << 20 });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseAttributeObject(path, json);
}

/** `KEY=VALUE` (from `--attr`), checked. */
export function parseAttributeAssignment(text: string): [AttributeName, SliceConfig[AttributeName]] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InputError(`--attr ${JSON.stringify(text)}: expected KEY=VALUE, e.g. --attr MREG=1`);
  return parseAttribute('--attr', text.slice(0, eq).trim(), text.slice(eq + 1).trim(), true);
}

/**
 * Checks the combination of parameters (UG579 attribute rules) and refuses what the model does
 * not implement, naming the key. `source` names where the parameters came from.
 *
 * Accepted because they cannot change P, CARRYOUT or the flags of a one-row-per-clock trace:
 * ACASCREG/BCASCREG (they pick the register driving ACOUT/BCOUT, not modelled outputs),
 * IS_CLK_INVERTED (which edge, not how many), XORSIMD (only with USE_WIDEXOR),
 * AUTORESET_PRIORITY (only with an auto-reset), AMULTSEL/BMULTSEL/PREADDINSEL with USE_MULT=NONE.
 * USE_MULT=DYNAMIC computes as MULTIPLY (the difference is timing and power).
 */
export function checkSliceConfig(cfg: SliceConfig, source: string): void {
  const refuse = (key: AttributeName, why: string): never => {
    throw attrError(source, key, `${key}=${String(cfg[key])}: ${why}`);
  };
  // UG579 Table 2-1: ACASCREG/BCASCREG equal AREG/BREG, or 1 with a two-deep A/B pipeline.
  for (const [cas, reg] of [['ACASCREG', 'AREG'], ['BCASCREG', 'BREG']] as const) {
    const ok = cfg[reg] === 2 ? cfg[cas] >= 1 : cfg[cas] === cfg[reg];
    if (!ok) refuse(cas, `must be ${cfg[reg] === 2 ? '1 or 2' : String(cfg[reg])} with ${reg}=${cfg[reg]} (UG579 Table 2-1)`);
  }
  if (cfg.USE_SIMD !== 'ONE48' && cfg.USE_MULT !== 'NONE') {
    refuse('USE_SIMD', `SIMD needs USE_MULT="NONE" (UG579 SIMD Mode), got USE_MULT="${cfg.USE_MULT}"`);
  }
  if (cfg.USE_MULT !== 'NONE') {
    // Only the pre-adder-into-A configuration of the golden files is modelled.
    if (cfg.AMULTSEL !== 'AD') refuse('AMULTSEL', 'not modelled with a multiplier: use AMULTSEL="AD" (INMODE 00000 gives A·B)');
    if (cfg.BMULTSEL !== 'B') refuse('BMULTSEL', 'not modelled with a multiplier: only BMULTSEL="B" is');
    if (cfg.PREADDINSEL !== 'A') refuse('PREADDINSEL', 'not modelled with a multiplier: only PREADDINSEL="A" is');
  }
  if (cfg.USE_WIDEXOR === 'TRUE') refuse('USE_WIDEXOR', 'the wide XOR (XOROUT) is not modelled');
  if (cfg.AUTORESET_PATDET !== 'NO_RESET') refuse('AUTORESET_PATDET', 'the pattern-detect auto-reset is not modelled');
  if (cfg.USE_PATTERN_DETECT === 'PATDET' && cfg.PREG === 0) {
    refuse('USE_PATTERN_DETECT', 'the flags are registered with P: PATDET with PREG=0 is not modelled');
  }
}

/**
 * A complete, checked parameter set: `base` overridden by each patch in turn. `sources` names
 * the patches' origins for messages (e.g. ['trace.csv.attrs.json', '--attr']).
 */
export function resolveSliceConfig(base: Readonly<SliceConfig>, patches: readonly SliceConfigPatch[], sources: readonly string[]): SliceConfig {
  const cfg: SliceConfig = { ...base };
  for (const patch of patches) Object.assign(cfg, patch);
  checkSliceConfig(cfg, sources.length > 0 ? sources.join(' + ') : 'attributes');
  return cfg;
}

/** A parameter as the sidecar writes it (for reports). */
export function formatAttribute(key: AttributeName, value: SliceConfig[AttributeName]): string {
  const spec: Spec = SPECS[key];
  if (spec.kind === 'hex') return (value as bigint).toString(16).padStart(12, '0');
  if (spec.kind === 'bin') return (value as number).toString(2).padStart(spec.bits, '0');
  return String(value);
}

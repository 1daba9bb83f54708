/**
 * The device catalogue (devices.json), typed and validated once on first use, and the DSP
 * packing rules every model shares.
 *
 * Packing (multiplies per DSP slice per cycle), see devices.json `dspTypes`:
 *   DSP48E2 / DSP58: 4 when w_bits <= 4 and a_bits <= 4 (WP521), 2 when both <= 8 (WP486), else 1.
 *   DSP48E1: 1 (25-bit pre-adder: the WP486 operand (a << 18) + b does not fit).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.ts';

export const DSP_TYPES = ['DSP48E1', 'DSP48E2', 'DSP58'] as const;
export type DspType = (typeof DSP_TYPES)[number];
export type Packing = 1 | 2 | 4;

export interface DspTypeInfo {
  /** [A-side (pre-adder) width, B width] of the multiplier. */
  multiplierBits: [number, number];
  preAdderBits: number;
  accumulatorBits: number;
  packings: Packing[];
  /** Width of the low lane per packing, where the packing scheme fixes it. */
  packingLaneBits?: Partial<Record<`${Packing}`, number>>;
  source: string;
  notes: string;
}

export interface Device {
  /** Catalogue key, e.g. 'xczu9eg'. */
  name: string;
  part: string;
  board: string;
  aliases: string[];
  family: string;
  dspType: DspType;
  dsp: number;
  bram36: number;
  uram: number;
  lut: number;
  ff: number;
  typicalClockMHz: number;
  offChipGBps: number;
  memory: string;
  source: string;
}

interface Catalogue {
  dspTypes: Record<DspType, DspTypeInfo>;
  devices: Map<string, Device>;
}

let cache: Catalogue | undefined;

function load(): Catalogue {
  if (cache) return cache;
  const path = join(dirname(fileURLToPath(import.meta.url)), 'devices.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    dspTypes: Record<string, DspTypeInfo>;
    devices: Record<string, Omit<Device, 'name'>>;
  };
  for (const t of DSP_TYPES) {
    if (!raw.dspTypes[t]) throw new Error(`devices.json: dspTypes.${t} missing`);
  }
  const devices = new Map<string, Device>();
  for (const [name, d] of Object.entries(raw.devices)) {
    if (!(DSP_TYPES as readonly string[]).includes(d.dspType)) throw new Error(`devices.json: ${name}.dspType '${d.dspType}'`);
    for (const k of ['dsp', 'bram36', 'uram', 'lut', 'ff', 'typicalClockMHz', 'offChipGBps'] as const) {
      const v = d[k];
      if (typeof v !== 'number' || !(v >= 0)) throw new Error(`devices.json: ${name}.${k} must be a number >= 0`);
    }
    if (typeof d.source !== 'string' || d.source.length === 0) throw new Error(`devices.json: ${name}.source missing`);
    devices.set(name, { name, ...d });
  }
  cache = { dspTypes: raw.dspTypes as Record<DspType, DspTypeInfo>, devices };
  return cache;
}

export function listDevices(): Device[] {
  return [...load().devices.values()];
}

export function dspTypeInfo(t: DspType): DspTypeInfo {
  return load().dspTypes[t];
}

/** A device by catalogue key, part name or board alias (case-insensitive). */
/**
 * A device by name, board, alias or part number, case-insensitive. A part number may be given
 * by a prefix (xczu7ev for xczu7ev-ffvc1156-2-e) when exactly one device starts with it.
 */
export function getDevice(name: string): Device {
  const n = name.trim().toLowerCase();
  const describe = (ds: readonly Device[]) => ds.map((d) => `${d.name} (${d.board})`).join(', ');
  if (n === '') throw new InputError(`the device name is empty; known devices: ${describe(listDevices())}`);
  const devices = [...load().devices.values()];
  const exact = devices.filter((d) => d.name === n || d.part.toLowerCase() === n || d.board.toLowerCase() === n || d.aliases.includes(n));
  if (exact.length === 1) return exact[0]!;
  const byPrefix = exact.length ? exact : devices.filter((d) => d.part.toLowerCase().startsWith(n));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new InputError(`device '${name}' is ambiguous: it matches ${describe(byPrefix)}`);
  throw new InputError(`unknown device '${name}'; known devices: ${describe(devices)}`);
}

/** The densest packing the DSP type allows for these operand widths. */
export function autoPacking(t: DspType, wBits: number, aBits: number): Packing {
  const allowed = dspTypeInfo(t).packings;
  if (wBits <= 4 && aBits <= 4 && allowed.includes(4)) return 4;
  if (wBits <= 8 && aBits <= 8 && allowed.includes(2)) return 2;
  return 1;
}

/**
 * Checks an explicitly requested packing against the DSP type and operand widths.
 * Throws an InputError naming `param` and the limit that is violated.
 */
export function checkPacking(param: string, packing: number, t: DspType, wBits: number, aBits: number): Packing {
  const info = dspTypeInfo(t);
  if (packing !== 1 && packing !== 2 && packing !== 4) {
    throw new InputError(`${param}=${packing}: must be 1, 2 or 4 multiplies per DSP`);
  }
  if (!info.packings.includes(packing)) {
    throw new InputError(
      `${param}=${packing} is not allowed on ${t} (allowed: ${info.packings.join(', ')}): ` +
        `its ${info.preAdderBits}-bit pre-adder cannot hold the packed operands`,
    );
  }
  const limit = packing === 4 ? 4 : packing === 2 ? 8 : Infinity;
  if (wBits > limit || aBits > limit) {
    throw new InputError(`${param}=${packing} needs w_bits and a_bits <= ${limit}, got w_bits=${wBits}, a_bits=${aBits}`);
  }
  const [pa, pb] = info.multiplierBits;
  if (packing === 1 && (wBits > pa || aBits > pb)) {
    throw new InputError(`w_bits=${wBits}, a_bits=${aBits} exceed the ${pa}x${pb} multiplier of ${t}`);
  }
  return packing;
}

/** `packing` from arch params: 'auto' (default) or 1/2/4, validated against the device. */
export function resolvePacking(
  param: string,
  requested: number | 'auto' | undefined,
  t: DspType,
  wBits: number,
  aBits: number,
): Packing {
  const req = requested === undefined || requested === 'auto' ? 0 : requested;
  // Memoised: the models call this once per layer evaluation. Only valid results are cached.
  const key = ((DSP_TYPES.indexOf(t) * 8 + req) * 64 + wBits) * 64 + aBits;
  const hit = packingMemo.get(key);
  if (hit !== undefined) return hit;
  const p = checkPacking(param, req === 0 ? autoPacking(t, wBits, aBits) : req, t, wBits, aBits);
  if (Number.isInteger(req) && req >= 0 && req < 8 && wBits < 64 && aBits < 64) packingMemo.set(key, p);
  return p;
}
const packingMemo = new Map<number, Packing>();

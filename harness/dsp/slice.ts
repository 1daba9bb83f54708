/**
 * Bit-exact reference model of one Xilinx DSP48E2 slice, written for clarity (BigInt throughout).
 *
 * Modelled configuration (the one the golden vectors in shared/golden/dsp48e2 were simulated with):
 * AREG=BREG=DREG=ADREG=MREG=CREG=0 and PREG=1, so one call = one clock:
 * `P[t+1] = stepSlice(ports[t], P[t])`. AMULTSEL="AD", BMULTSEL="B", PREADDINSEL="A",
 * USE_MULT="MULTIPLY", USE_SIMD="ONE48", CARRYINSEL=000 (CIN = CARRYIN).
 *
 * Datapath (UG579, chapter 2, DSP48E2 slice description):
 *
 *   A[26:0] ─┐
 *            ├─ pre-adder AD = D ± A (27 bits, wraps) ── × B (27x18 signed) ── M ──┐  X+Y
 *   D ───────┘                                                                     │
 *   W ∈ {0, P, RND, C}, Z ∈ {0, PCIN, P, C, PCIN>>17, P>>17}  ─────────────────────┴─ ALU ── P
 *
 * Anything outside this configuration throws an InputError naming the field and value,
 * so a trace using it is refused rather than replayed with a wrong answer.
 */
import { InputError } from '../util/errors.ts';

/** Port widths in bits (UG579, DSP48E2 port descriptions). */
export const PORT_BITS = { a: 30, b: 18, c: 48, d: 27, pcin: 48, p: 48 } as const;

/** One clock's worth of inputs. Data ports are unsigned bit patterns of the port width. */
export interface SlicePorts {
  a: bigint;
  b: bigint;
  c: bigint;
  d: bigint;
  pcin: bigint;
  /** 5-bit INMODE[4:0]. */
  inmode: number;
  /** 9-bit OPMODE[8:0]. */
  opmode: number;
  /** 4-bit ALUMODE[3:0]. */
  alumode: number;
  /** CARRYIN, 0 or 1. */
  carryin: number;
}

/** Attributes that change the result and are not fixed by the modelled configuration. */
export interface SliceAttributes {
  /** RND attribute, selected by W = 10. @default 0n (the unisim default) */
  rnd?: bigint;
}

/** Two's-complement reading of the low `bits` bits of `value`. */
export function sext(value: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, value);
}

/** The low `bits` bits of `value` as an unsigned pattern (wraps negatives). */
export function wrap(value: bigint, bits: number): bigint {
  return BigInt.asUintN(bits, value);
}

/** P as the 12 hex digits the golden files use. */
export function toHex48(p: bigint): string {
  return wrap(p, 48).toString(16).padStart(12, '0');
}

/** `value[hi:lo]` as an unsigned number. */
export function bits(value: bigint, hi: number, lo: number): bigint {
  return wrap(value >> BigInt(lo), hi - lo + 1);
}

function reject(field: string, value: string, why: string): never {
  throw new InputError(`${field} ${value}: ${why}`);
}

const bin = (v: number, width: number) => v.toString(2).padStart(width, '0');
const hex3 = (v: number) => `0x${v.toString(16).padStart(3, '0')}`;

/** INMODE fields that matter with PREADDINSEL="A" and AREG=BREG=0. */
export interface Inmode {
  /** INMODE[1]: A into the pre-adder forced to 0. */
  zeroA: boolean;
  /** INMODE[2]: D enters the pre-adder (otherwise 0). */
  useD: boolean;
  /** INMODE[3]: AD = D − A instead of D + A. */
  subtract: boolean;
}

/**
 * UG579, "INMODE Functions" table. INMODE[0] (A1/A2) and INMODE[4] (B1/B2) choose input
 * pipeline registers this configuration does not have, so they must be 0.
 */
export function decodeInmode(inmode: number): Inmode {
  if (!Number.isInteger(inmode) || inmode < 0 || inmode > 0b11111) reject('INMODE', String(inmode), 'not a 5-bit value');
  if (inmode & 0b10001) {
    reject('INMODE', bin(inmode, 5), 'INMODE[0]/INMODE[4] select the A1/B1 registers, not modelled (UG579 INMODE Functions)');
  }
  return { zeroA: (inmode & 0b00010) !== 0, useD: (inmode & 0b00100) !== 0, subtract: (inmode & 0b01000) !== 0 };
}

/** Pre-adder output AD, 27-bit signed: D ± A[26:0], wrapping (no saturation). */
export function preAdder(a: bigint, d: bigint, inmode: Inmode): bigint {
  const aIn = inmode.zeroA ? 0n : sext(a, 27); // A[29:27] never reach the pre-adder
  const dIn = inmode.useD ? sext(d, 27) : 0n;
  return sext(inmode.subtract ? dIn - aIn : dIn + aIn, 27);
}

/** 27x18 two's-complement multiply (UG579, multiplier section); the 45-bit product is exact in BigInt. */
export function multiply(ad: bigint, b: bigint): bigint {
  return sext(ad, 27) * sext(b, 18);
}

/** What the W, X+Y and Z multiplexers select. */
export interface Opmode {
  w: 'zero' | 'P' | 'RND' | 'C';
  /** The multiplier's two partial products go through X and Y together: X + Y = M. */
  xy: 'zero' | 'M';
  z: 'zero' | 'PCIN' | 'P' | 'C' | 'PCIN>>17' | 'P>>17';
}

const W_MUX = ['zero', 'P', 'RND', 'C'] as const; // OPMODE[8:7], UG579 Table 2-3
const Z_MUX = ['zero', 'PCIN', 'P', 'C', null, 'PCIN>>17', 'P>>17', null] as const; // OPMODE[6:4], UG579 Table 2-6

/**
 * OPMODE[8:0] = W[8:7] Z[6:4] Y[3:2] X[1:0]. X and Y are modelled for 00 (zero) and
 * 01 (M, legal only in both at once, UG579 Tables 2-4 and 2-5). Z = 100 (P for MACC_EXTEND)
 * and 111 (reserved) are refused.
 */
export function decodeOpmode(opmode: number): Opmode {
  if (!Number.isInteger(opmode) || opmode < 0 || opmode > 0x1ff) reject('OPMODE', String(opmode), 'not a 9-bit value');
  const x = opmode & 0b11;
  const y = (opmode >> 2) & 0b11;
  const zCode = (opmode >> 4) & 0b111;
  if (x !== y || x > 0b01) {
    const why = x === 0b01 || y === 0b01
      ? 'M must be selected by X and Y together'
      : 'X/Y sources P, A:B, all-ones and C are not modelled';
    reject('OPMODE', hex3(opmode), `X=${bin(x, 2)} Y=${bin(y, 2)}: ${why} (UG579 Tables 2-4, 2-5)`);
  }
  const z = Z_MUX[zCode];
  if (!z) reject('OPMODE', hex3(opmode), `Z mux code ${bin(zCode, 3)} is not modelled (UG579 Table 2-6)`);
  return { w: W_MUX[(opmode >> 7) & 0b11]!, xy: x === 0b01 ? 'M' : 'zero', z };
}

/** The four arithmetic ALUMODEs (UG579 Table 2-7, three-input ALUMODE operations). */
export type Alumode = 0b0000 | 0b0001 | 0b0010 | 0b0011;

/** The logic-unit ALUMODEs (ALUMODE[3:2] ≠ 00) are refused. */
export function decodeAlumode(alumode: number): Alumode {
  if (!Number.isInteger(alumode) || alumode < 0 || alumode > 0b1111) reject('ALUMODE', String(alumode), 'not a 4-bit value');
  if (alumode > 0b0011) reject('ALUMODE', bin(alumode, 4), 'only the arithmetic ALUMODEs 0000..0011 are modelled (UG579 Table 2-7)');
  return alumode as Alumode;
}

/**
 * The ALU, mod 2^48, with s = W + X + Y + CIN (UG579 Table 2-7):
 *   0000: Z + s
 *   0001: −Z + s − 1   (= ~Z + s)
 *   0010: −Z − s − 1   (= ~(Z + s))
 *   0011: Z − s
 */
export function alu(alumode: Alumode, z: bigint, s: bigint): bigint {
  switch (alumode) {
    case 0b0000: return wrap(z + s, 48);
    case 0b0001: return wrap(-z + s - 1n, 48);
    case 0b0010: return wrap(-z - s - 1n, 48);
    case 0b0011: return wrap(z - s, 48);
  }
}

/** CARRYINSEL = 000: CIN is the CARRYIN port (UG579, CARRYINSEL table). */
export function decodeCarryin(carryin: number): 0n | 1n {
  if (carryin !== 0 && carryin !== 1) reject('CARRYIN', String(carryin), 'must be 0 or 1');
  return carryin === 1 ? 1n : 0n;
}

function checkPort(name: keyof typeof PORT_BITS, value: bigint): bigint {
  if (value < 0n || value >> BigInt(PORT_BITS[name]) !== 0n) {
    reject(name.toUpperCase(), value < 0n ? String(value) : `0x${value.toString(16)}`, `not an unsigned ${PORT_BITS[name]}-bit pattern`);
  }
  return value;
}

/** The multiplier output M for these ports, as a 48-bit pattern (product sign-extended to 48 bits). */
export function multiplierOutput(ports: SlicePorts): bigint {
  const ad = preAdder(checkPort('a', ports.a), checkPort('d', ports.d), decodeInmode(ports.inmode));
  return wrap(multiply(ad, checkPort('b', ports.b)), 48);
}

/** Arithmetic right shift by 17 of a 48-bit pattern: the Z mux's shifted inputs (UG579 Table 2-6). */
const shr17 = (v: bigint) => wrap(sext(v, 48) >> 17n, 48);

/** One clock: the P register after this edge, given the ports and the P register before it. */
export function stepSlice(ports: SlicePorts, pPrev: bigint, attrs: SliceAttributes = {}): bigint {
  const op = decodeOpmode(ports.opmode);
  const alumode = decodeAlumode(ports.alumode);
  const cin = decodeCarryin(ports.carryin);
  const m = multiplierOutput(ports); // always computed, so a bad INMODE/A/B/D is refused even when unused
  const p = checkPort('p', pPrev);
  const c = checkPort('c', ports.c);
  const pcin = checkPort('pcin', ports.pcin);

  const w = { zero: 0n, P: p, RND: wrap(attrs.rnd ?? 0n, 48), C: c }[op.w];
  const xy = op.xy === 'M' ? m : 0n;
  const z = { zero: 0n, PCIN: pcin, P: p, C: c, 'PCIN>>17': shr17(pcin), 'P>>17': shr17(p) }[op.z];
  return alu(alumode, z, w + xy + cin);
}

/**
 * Bit-exact reference model of one Xilinx DSP48E2 slice, written for clarity (BigInt throughout):
 * the combinational datapath (pre-adder, multiplier, W/X/Y/Z multiplexers, SIMD ALU) and
 * `stepSlice`, one clock of the configuration the 11-column golden trace was simulated with.
 *
 * stepSlice's configuration: AREG=BREG=DREG=ADREG=MREG=CREG=0, all control registers 0 and
 * PREG=1, so one call = one clock: `P[t+1] = stepSlice(ports[t], P[t])`. AMULTSEL="AD",
 * BMULTSEL="B", PREADDINSEL="A", USE_MULT="MULTIPLY", USE_SIMD="ONE48", CARRYINSEL=000
 * (CIN = CARRYIN), every CE 1 and every RST 0. It is the special case of the register-accurate
 * model (slice-pipeline.ts, `Dsp48e2`) with the attributes `GOLDEN_COMBINATIONAL`
 * (slice-attributes.ts), kept as a plain function because the cycle simulators call it millions
 * of times; test/dsp48e2-pipeline.test.ts checks that both give the same P.
 *
 * Datapath (UG579, chapter 2, DSP48E2 slice description):
 *
 *   A[26:0] ─┐
 *            ├─ pre-adder AD = D ± A (27 bits, wraps) ── × B (27x18 signed) ── M = U, V ──┐
 *   D ───────┘                                                                            │
 *   W ∈ {0, P, RND, C}   X ∈ {0, M(U), P, A:B}   Y ∈ {0, M(V), all-ones, C}               │
 *   Z ∈ {0, PCIN, P, C, PCIN>>17, P>>17}  ────────────────────────────────────────────────┴─ ALU ── P
 *
 * Anything outside the modelled encodings throws an InputError naming the field and value,
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

/** Attributes of stepSlice's configuration that change the result. */
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

const MASK48 = (1n << 48n) - 1n;

function reject(field: string, value: string, why: string): never {
  throw new InputError(`${field} ${value}: ${why}`);
}

const bin = (v: number, width: number) => v.toString(2).padStart(width, '0');
const hex3 = (v: number) => `0x${v.toString(16).padStart(3, '0')}`;

/** INMODE fields with PREADDINSEL="A" (UG579, "INMODE Functions"). */
export interface Inmode {
  /** INMODE[0]: the pre-adder/multiplier takes A1 instead of A2. */
  a1: boolean;
  /** INMODE[1]: A into the pre-adder forced to 0. */
  zeroA: boolean;
  /** INMODE[2]: D enters the pre-adder (otherwise 0). */
  useD: boolean;
  /** INMODE[3]: AD = D − A instead of D + A. */
  subtract: boolean;
  /** INMODE[4]: the multiplier takes B1 instead of B2. */
  b1: boolean;
}

/** Which of the A1/B1 registers the slice has (AREG/BREG ≥ 1); stepSlice has neither. */
export interface InputRegisters {
  /** @default false */
  a1?: boolean;
  /** @default false */
  b1?: boolean;
}

/**
 * UG579, "INMODE Functions" table. INMODE[0] (A1/A2) and INMODE[4] (B1/B2) choose input
 * registers: setting one the slice does not have (AREG/BREG = 0) is refused.
 */
export function decodeInmode(inmode: number, regs: InputRegisters = {}): Inmode {
  if (!Number.isInteger(inmode) || inmode < 0 || inmode > 0b11111) reject('INMODE', String(inmode), 'not a 5-bit value');
  if (inmode & 0b00001 && !regs.a1) {
    reject('INMODE', bin(inmode, 5), 'INMODE[0] selects the A1 register, which AREG=0 does not have (UG579 INMODE Functions)');
  }
  if (inmode & 0b10000 && !regs.b1) {
    reject('INMODE', bin(inmode, 5), 'INMODE[4] selects the B1 register, which BREG=0 does not have (UG579 INMODE Functions)');
  }
  return {
    a1: (inmode & 0b00001) !== 0,
    zeroA: (inmode & 0b00010) !== 0,
    useD: (inmode & 0b00100) !== 0,
    subtract: (inmode & 0b01000) !== 0,
    b1: (inmode & 0b10000) !== 0,
  };
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

const EVEN44 = 0x55555555555n; // product bits 0, 2, ..., 42
const ODD44 = 0xaaaaaaaaaaan; // product bits 1, 3, ..., 43

/** The multiplier's two partial products as the M register holds them (golden README). */
export interface PartialProducts {
  /** 45 bits: `{1, p[43:0] & 0x55555555555}`; enters X sign-extended from 45 bits. */
  u: bigint;
  /** 45 bits: `{~p[44], p[43:0] & 0xAAAAAAAAAAA}`; enters Y zero-extended. */
  v: bigint;
}

/**
 * Splits a 45-bit signed product into the partial products U and V. X + Y = p sign-extended
 * mod 2^48 as required, but the unreduced sum is p + 2^48 when p ≥ 0: CARRYOUT[3] depends on
 * this split, so the model keeps U and V (and the M register stores them) instead of p.
 */
export function partialProducts(product: bigint): PartialProducts {
  const q = wrap(product, 45);
  const low = q & ((1n << 44n) - 1n);
  return { u: (1n << 44n) | (low & EVEN44), v: ((q >> 44n) ^ 1n) << 44n | (low & ODD44) };
}

/** U as the X multiplexer passes it: sign-extended from 45 to 48 bits. */
export function xOfU(u: bigint): bigint {
  return (u >> 44n) & 1n ? u | (0b111n << 45n) : u;
}

/** The W multiplexer, OPMODE[8:7] (UG579 Table 2-3). */
export type WSel = 'zero' | 'P' | 'RND' | 'C';
/** The X multiplexer, OPMODE[1:0] (UG579 Table 2-4). */
export type XSel = 'zero' | 'M' | 'P' | 'A:B';
/** The Y multiplexer, OPMODE[3:2] (UG579 Table 2-5). */
export type YSel = 'zero' | 'M' | 'ones' | 'C';
/** The Z multiplexer, OPMODE[6:4] (UG579 Table 2-6). */
export type ZSel = 'zero' | 'PCIN' | 'P' | 'C' | 'PCIN>>17' | 'P>>17';

/** What the W, X, Y and Z multiplexers select. */
export interface Opmode {
  w: WSel;
  x: XSel;
  y: YSel;
  z: ZSel;
}

const W_MUX = ['zero', 'P', 'RND', 'C'] as const;
const X_MUX = ['zero', 'M', 'P', 'A:B'] as const;
const Y_MUX = ['zero', 'M', 'ones', 'C'] as const;
const Z_MUX = ['zero', 'PCIN', 'P', 'C', null, 'PCIN>>17', 'P>>17', null] as const;

/** Every 9-bit OPMODE decoded once: the Opmode, or why it is refused. */
const OPMODE_TABLE: Array<Opmode | string> = Array.from({ length: 512 }, (_, opmode) => {
  const x = opmode & 0b11;
  const y = (opmode >> 2) & 0b11;
  const zCode = (opmode >> 4) & 0b111;
  if ((x === 0b01) !== (y === 0b01)) {
    return `X=${bin(x, 2)} Y=${bin(y, 2)}: M must be selected by X and Y together (UG579 Tables 2-4, 2-5)`;
  }
  const z = Z_MUX[zCode];
  if (!z) {
    const what = zCode === 0b100 ? ' (P for MACC_EXTEND, used with MULTSIGNIN)' : ' (reserved)';
    return `Z mux code ${bin(zCode, 3)}${what} is not modelled (UG579 Table 2-6)`;
  }
  return { w: W_MUX[(opmode >> 7) & 0b11]!, x: X_MUX[x]!, y: Y_MUX[y]!, z };
});

/**
 * OPMODE[8:0] = W[8:7] Z[6:4] Y[3:2] X[1:0]. M must be selected by X and Y together
 * (OPMODE[3:0] = 0101). Z = 100 (P for MACC_EXTEND) and 111 (reserved) are refused.
 */
export function decodeOpmode(opmode: number): Opmode {
  if (!Number.isInteger(opmode) || opmode < 0 || opmode > 0x1ff) reject('OPMODE', String(opmode), 'not a 9-bit value');
  const op = OPMODE_TABLE[opmode]!;
  if (typeof op === 'string') reject('OPMODE', hex3(opmode), op);
  return op;
}

/** True when the OPMODE reads the P register (W, X or Z): needs PREG=1 (UG579 Tables 2-3..2-6). */
export function opmodeReadsP(op: Opmode): boolean {
  return op.w === 'P' || op.x === 'P' || op.z === 'P' || op.z === 'P>>17';
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

/** USE_SIMD: one 48-bit ALU, two 24-bit or four 12-bit lanes. */
export type Simd = 'ONE48' | 'TWO24' | 'FOUR12';

/** Per SIMD mode: lane width, and which CARRYOUT bit each lane drives (lane 0 first). */
export const SIMD_LANES: Record<Simd, { width: number; carryBits: readonly number[] }> = {
  ONE48: { width: 48, carryBits: [3] },
  TWO24: { width: 24, carryBits: [1, 3] },
  FOUR12: { width: 12, carryBits: [0, 1, 2, 3] },
};

/** The CARRYOUT bits a SIMD mode drives; the others are X in the vendor model. */
export function carryoutKnownMask(simd: Simd): number {
  return SIMD_LANES[simd].carryBits.reduce((m, b) => m | (1 << b), 0);
}

/** ALU result: P and CARRYOUT[3:0] (bit k = CARRYOUT[k]; only `known` bits are driven). */
export interface AluOutput {
  p: bigint;
  carryout: number;
  known: number;
}

/**
 * The ALU lane by lane (golden README, "ALU and CARRYOUT"): with Z' = ~Z when ALUMODE[0] = 1,
 * lane k sums `Z'_k + W_k + X_k + Y_k (+ CIN in lane 0)` without reducing it; P_k is the sum
 * mod 2^w, NOT-ed when ALUMODE[1] = 1, and the lane's CARRYOUT is bit w of the sum, inverted
 * only for ALUMODE 0011. No carry crosses a lane boundary. Operands are 48-bit patterns.
 */
export function aluLanes(alumode: Alumode, simd: Simd, w: bigint, x: bigint, y: bigint, z: bigint, cin: 0n | 1n): AluOutput {
  const zz = alumode & 0b01 ? ~z & MASK48 : z;
  const { width, carryBits } = SIMD_LANES[simd];
  const lw = BigInt(width);
  const laneMask = (1n << lw) - 1n;
  let p = 0n;
  let carryout = 0;
  for (let k = 0; k < carryBits.length; k++) {
    const off = lw * BigInt(k);
    const lane = (v: bigint) => (v >> off) & laneMask;
    const sum = lane(zz) + lane(w) + lane(x) + lane(y) + (k === 0 ? cin : 0n);
    const pk = alumode & 0b10 ? ~sum & laneMask : sum & laneMask;
    p |= pk << off;
    const carry = Number((sum >> lw) & 1n) ^ (alumode === 0b0011 ? 1 : 0);
    carryout |= carry << carryBits[k]!;
  }
  return { p, carryout, known: carryoutKnownMask(simd) };
}

/** CARRYINSEL = 000: CIN is the CARRYIN port (UG579, CARRYINSEL table). */
export function decodeCarryin(carryin: number): 0n | 1n {
  if (carryin !== 0 && carryin !== 1) reject('CARRYIN', String(carryin), 'must be 0 or 1');
  return carryin === 1 ? 1n : 0n;
}

/** Throws an InputError unless `value` is an unsigned pattern of the port's width. */
export function checkPort(name: keyof typeof PORT_BITS, value: bigint): bigint {
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
export const shr17 = (v: bigint) => wrap(sext(v, 48) >> 17n, 48);

/** A:B, the X multiplexer's concatenated input: `{A[29:0], B[17:0]}`. */
export const concatAB = (a: bigint, b: bigint) => (a << 18n) | b;

/**
 * One clock of stepSlice's configuration (header): the P register after this edge, given the
 * ports and the P register before it. Only P is computed (no CARRYOUT): this is the fast path.
 */
export function stepSlice(ports: SlicePorts, pPrev: bigint, attrs: SliceAttributes = {}): bigint {
  const op = decodeOpmode(ports.opmode);
  const alumode = decodeAlumode(ports.alumode);
  const cin = decodeCarryin(ports.carryin);
  const m = multiplierOutput(ports); // always computed, so a bad INMODE/A/B/D is refused even when unused
  const p = checkPort('p', pPrev);
  const c = checkPort('c', ports.c);
  const pcin = checkPort('pcin', ports.pcin);

  let w = 0n;
  if (op.w === 'P') w = p;
  else if (op.w === 'RND') w = wrap(attrs.rnd ?? 0n, 48);
  else if (op.w === 'C') w = c;
  // X + Y = M: the partial products' sum mod 2^48 is the sign-extended product.
  let xy = op.x === 'M' ? m : op.x === 'P' ? p : op.x === 'A:B' ? concatAB(ports.a, ports.b) : 0n;
  if (op.y === 'ones') xy += MASK48;
  else if (op.y === 'C') xy += c;
  let z = 0n;
  switch (op.z) {
    case 'PCIN': z = pcin; break;
    case 'P': z = p; break;
    case 'C': z = c; break;
    case 'PCIN>>17': z = shr17(pcin); break;
    case 'P>>17': z = shr17(p); break;
  }
  return alu(alumode, z, w + xy + cin);
}

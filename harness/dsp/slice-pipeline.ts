/**
 * Register-accurate DSP48E2 slice: every pipeline register the parameters can enable, with its
 * clock enable and synchronous reset, the SIMD ALU with per-lane CARRYOUT, and the pattern
 * detector. Written from UG579 (chapter 2) and the golden README's "Pipelined, SIMD and cascade
 * traces" section; one `clock(ports, controls)` call is one rising edge.
 *
 *   A ─ A1 ─ A2 ─┬─ INMODE[0] ─ (INMODE[1]: 0) ─┐                          ┌─ X: 0, M(U), P, A:B
 *                │                              ├─ pre-adder ─ AD ─┐       ├─ Y: 0, M(V), ones, C
 *   D ─────────────── D ─── (INMODE[2]: 0) ─────┘   (INMODE[3]: −) │       ├─ W: 0, P, RND, C
 *   B ─ B1 ─ B2 ─┬─ INMODE[4] ──────────────────────────────────── × ─ M ──┼─ Z: 0, PCIN, P, C, >>17
 *                └─ A:B = {A2, B2} ──────────────────────── X ─────────────┘   ALU ─ P, CARRYOUT, flags
 *   C ─ C     INMODE, OPMODE, CARRYINSEL, ALUMODE, CARRYIN ─ their registers
 *
 * Register rules (README): a register loads on its CE and holds without it; its RST clears it
 * whatever the CE (reset has priority). RSTD clears D and AD. CECTRL/RSTCTRL drive the OPMODE
 * and CARRYINSEL registers. A reset OPMODE register selects W=X=Y=Z=0. With AREG=1, A1 still
 * loads A on CEA1 (for INMODE[0]); with AREG=2, A2 loads A1. The D and AD registers exist only
 * when the pre-adder feeds the multiplier and USE_MULT ≠ NONE. CEP/RSTP drive P, CARRYOUT and
 * the pattern-detect flags; the previous flags (for OVERFLOW/UNDERFLOW) shift only with CEP.
 *
 * Port values are checked when presented (`portChecks`): an encoding the configuration cannot
 * use (INMODE[0] without A1, M with USE_MULT=NONE, P with PREG=0, logic ALUMODEs, ...) is an
 * InputError naming the port, never a silent wrong answer.
 */
import { InputError } from '../util/errors.ts';
import {
  type Alumode, type Opmode, type PartialProducts, type SlicePorts, aluLanes, checkPort, concatAB, decodeAlumode, decodeCarryin, decodeInmode,
  decodeOpmode, multiply, opmodeReadsP, partialProducts, preAdder, shr17, xOfU,
} from './slice.ts';
import { GOLDEN_COMBINATIONAL, type SliceConfig, checkSliceConfig } from './slice-attributes.ts';

/** Clock enables, in the golden trace's column order. */
export const CE_PINS = ['CEA1', 'CEA2', 'CEB1', 'CEB2', 'CEC', 'CED', 'CEAD', 'CEM', 'CEP', 'CEINMODE', 'CECTRL', 'CEALUMODE', 'CECARRYIN'] as const;
/** Synchronous resets, in the golden trace's column order. */
export const RST_PINS = ['RSTA', 'RSTB', 'RSTC', 'RSTD', 'RSTM', 'RSTP', 'RSTINMODE', 'RSTCTRL', 'RSTALUMODE', 'RSTALLCARRYIN'] as const;
export type CePin = (typeof CE_PINS)[number];
export type RstPin = (typeof RST_PINS)[number];
export type ControlPin = CePin | RstPin;

/** CE and RST pin levels for one clock; a missing CE is 1, a missing RST is 0. */
export type SliceControls = Partial<Record<ControlPin, 0 | 1>>;

/** The pattern-detector outputs (only with USE_PATTERN_DETECT="PATDET"). */
export const FLAG_NAMES = ['PATTERNDETECT', 'PATTERNBDETECT', 'OVERFLOW', 'UNDERFLOW'] as const;
export type FlagName = (typeof FLAG_NAMES)[number];
export type PatternFlags = Record<FlagName, 0 | 1>;

/** Inputs of one clock beyond the 11-column trace's: all default to 0 (the golden files tie them). */
export interface PipelinePorts extends SlicePorts {
  /** CARRYINSEL[2:0]. @default 0 */
  carryinsel?: number;
  /** ACIN, used with A_INPUT="CASCADE". @default 0n */
  acin?: bigint;
  /** BCIN, used with B_INPUT="CASCADE". @default 0n */
  bcin?: bigint;
  /** CARRYCASCIN, CIN with CARRYINSEL=010. @default 0 */
  carrycascin?: number;
}

/** The outputs after a rising edge. */
export interface SliceOutputs {
  /** P (= PCOUT), a 48-bit pattern. */
  p: bigint;
  /** CARRYOUT[3:0], bit k = CARRYOUT[k]. */
  carryout: number;
  /** The CARRYOUT bits that are driven; the others are X in the vendor model (README). */
  carryoutKnown: number;
  /** PATTERNDETECT, PATTERNBDETECT, OVERFLOW, UNDERFLOW; undefined with NO_PATDET. */
  flags?: PatternFlags;
}

/** An InputError about one port's value: `port` is its name (e.g. 'OPMODE'), for locating it in a trace. */
export class PortError extends InputError {
  constructor(readonly port: string, message: string) {
    super(message);
  }
}

/** Port encodings a configuration can use: each throws a PortError for a value it cannot. */
export interface PortChecks {
  inmode(v: number): void;
  opmode(v: number): void;
  alumode(v: number): void;
  carryin(v: number): void;
  carryinsel(v: number): void;
}

function asPortError(port: string, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError && !(e instanceof PortError)) throw new PortError(port, e.message);
    throw e;
  }
}

const bin = (v: number, width: number) => v.toString(2).padStart(width, '0');

/** The checks of `cfg` (values are the pins' levels, before IS_*_INVERTED). */
export function portChecks(cfg: Readonly<SliceConfig>): PortChecks {
  const regs = { a1: cfg.AREG >= 1, b1: cfg.BREG >= 1 };
  return {
    inmode: (v) => asPortError('INMODE', () => decodeInmode(v ^ cfg.IS_INMODE_INVERTED, regs)),
    opmode: (v) => asPortError('OPMODE', () => {
      const op = decodeOpmode(v ^ cfg.IS_OPMODE_INVERTED);
      const hex = `0x${v.toString(16).padStart(3, '0')}`;
      if (op.x === 'M' && cfg.USE_MULT === 'NONE') throw new InputError(`OPMODE ${hex}: X=Y=M but USE_MULT="NONE" removes the multiplier`);
      if (opmodeReadsP(op) && cfg.PREG === 0) throw new InputError(`OPMODE ${hex}: selects P, which needs PREG=1 (UG579 Tables 2-3..2-6)`);
    }),
    alumode: (v) => asPortError('ALUMODE', () => decodeAlumode(v ^ cfg.IS_ALUMODE_INVERTED)),
    carryin: (v) => asPortError('CARRYIN', () => decodeCarryin(v)),
    carryinsel: (v) => asPortError('CARRYINSEL', () => {
      if (!Number.isInteger(v) || v < 0 || v > 7) throw new InputError(`CARRYINSEL ${v}: not a 3-bit value`);
      if (v === 0b100 || v === 0b110) {
        throw new InputError(`CARRYINSEL ${bin(v, 3)}: ${v === 0b100 ? 'CARRYCASCOUT feedback' : 'the multiplier sign (A[26] XNOR B[17])'} is not modelled`);
      }
      if ((v === 0b101 || v === 0b111) && cfg.PREG === 0) throw new InputError(`CARRYINSEL ${bin(v, 3)}: P[47] needs PREG=1`);
    }),
  };
}

const MASK48 = (1n << 48n) - 1n;

/** Combinational values before an edge: what the registers would load, and the ALU result. */
interface Evaluation {
  aIn: bigint;
  bIn: bigint;
  adNew: bigint;
  u: bigint;
  v: bigint;
  p: bigint;
  carryout: number;
  known: number;
  pd: 0 | 1;
  pdb: 0 | 1;
}

/**
 * One DSP48E2 slice. Before the first clock every register is 0 (the state after GSR).
 *
 *   const dsp = new Dsp48e2(config);
 *   const out = dsp.clock(ports, { CEP: 0 });   // P, CARRYOUT, flags after this rising edge
 */
export class Dsp48e2 {
  readonly config: Readonly<SliceConfig>;
  private readonly checks: PortChecks;
  private readonly hasMult: boolean;
  /** The D and AD registers exist only when the pre-adder feeds the multiplier (README). */
  private readonly hasD: boolean;
  private readonly hasAD: boolean;

  // Data registers (GSR state: 0).
  private a1 = 0n;
  private a2 = 0n;
  private b1 = 0n;
  private b2 = 0n;
  private c = 0n;
  private d = 0n;
  private ad = 0n;
  /** The M register holds the two partial products, not their sum (CARRYOUT[3] depends on it). */
  private mU = 0n;
  private mV = 0n;
  // Control registers hold the pins' levels after IS_*_INVERTED.
  private inmodeReg = 0;
  private opmodeReg = 0;
  private alumodeReg = 0;
  private carryinReg = 0;
  private carryinselReg = 0;
  // Output registers.
  private pReg = 0n;
  private carryoutReg = 0;
  /** Before the first load CARRYOUT reads 0000 (README). */
  private carryoutKnownReg = 0b1111;
  private pd: 0 | 1 = 0;
  private pdb: 0 | 1 = 0;
  private pdPast: 0 | 1 = 0;
  private pdbPast: 0 | 1 = 0;

  /** `source` names where the parameters came from, for messages. */
  constructor(config: Readonly<SliceConfig> = GOLDEN_COMBINATIONAL, source = 'attributes') {
    checkSliceConfig(config, source);
    this.config = Object.freeze({ ...config });
    this.checks = portChecks(config);
    this.hasMult = config.USE_MULT !== 'NONE';
    const preadderFeedsMult = this.hasMult && (config.AMULTSEL === 'AD' || config.BMULTSEL === 'AD');
    this.hasD = preadderFeedsMult && config.DREG === 1;
    this.hasAD = preadderFeedsMult && config.ADREG === 1;
  }

  /** The P register (PREG=1). */
  get p(): bigint {
    return this.pReg;
  }

  /**
   * Overwrites the P register, e.g. with a trace's recorded P so that one wrong row stays one
   * mismatch. CARRYOUT and the flags are left as they are. Needs PREG=1.
   */
  loadP(p: bigint): void {
    if (this.config.PREG !== 1) throw new InputError('loadP: PREG=0, there is no P register');
    this.pReg = checkPort('p', p);
  }

  /** Checks every port of one clock against this configuration (PortError naming the port). */
  checkPorts(ports: PipelinePorts): void {
    for (const port of ['a', 'b', 'c', 'd', 'pcin'] as const) asPortError(port.toUpperCase(), () => checkPort(port, ports[port]));
    if (ports.acin !== undefined) asPortError('ACIN', () => checkPort('a', ports.acin!));
    if (ports.bcin !== undefined) asPortError('BCIN', () => checkPort('b', ports.bcin!));
    this.checks.inmode(ports.inmode);
    this.checks.opmode(ports.opmode);
    this.checks.alumode(ports.alumode);
    this.checks.carryin(ports.carryin);
    this.checks.carryinsel(ports.carryinsel ?? 0);
    const cc = ports.carrycascin ?? 0;
    if (cc !== 0 && cc !== 1) throw new PortError('CARRYCASCIN', `CARRYCASCIN ${cc}: must be 0 or 1`);
  }

  /** One rising edge with these ports and CE/RST levels; the outputs after it. */
  clock(ports: PipelinePorts, controls: SliceControls = {}): SliceOutputs {
    this.checkPorts(ports);
    const cfg = this.config;
    const ce = (pin: CePin) => (controls[pin] ?? 1) === 1;
    const rst = (pin: RstPin, inverted: number) => ((controls[pin] ?? 0) ^ inverted) === 1;
    const now = this.evaluate(ports);

    // Every register takes its next value from the state before the edge.
    if (cfg.AREG > 0) {
      if (rst('RSTA', cfg.IS_RSTA_INVERTED)) {
        this.a1 = this.a2 = 0n;
      } else {
        const a2 = ce('CEA2') ? (cfg.AREG === 2 ? this.a1 : now.aIn) : this.a2;
        if (ce('CEA1')) this.a1 = now.aIn;
        this.a2 = a2;
      }
    }
    if (cfg.BREG > 0) {
      if (rst('RSTB', cfg.IS_RSTB_INVERTED)) {
        this.b1 = this.b2 = 0n;
      } else {
        const b2 = ce('CEB2') ? (cfg.BREG === 2 ? this.b1 : now.bIn) : this.b2;
        if (ce('CEB1')) this.b1 = now.bIn;
        this.b2 = b2;
      }
    }
    if (cfg.CREG === 1) this.c = rst('RSTC', cfg.IS_RSTC_INVERTED) ? 0n : ce('CEC') ? ports.c : this.c;
    const rstD = rst('RSTD', cfg.IS_RSTD_INVERTED); // clears D and AD
    if (this.hasD) this.d = rstD ? 0n : ce('CED') ? ports.d : this.d;
    if (this.hasAD) this.ad = rstD ? 0n : ce('CEAD') ? now.adNew : this.ad;
    if (this.hasMult && cfg.MREG === 1) {
      if (rst('RSTM', cfg.IS_RSTM_INVERTED)) {
        this.mU = this.mV = 0n; // U = V = 0: X + Y = 0 without the extra 2^48
      } else if (ce('CEM')) {
        this.mU = now.u;
        this.mV = now.v;
      }
    }
    if (cfg.INMODEREG === 1) {
      this.inmodeReg = rst('RSTINMODE', cfg.IS_RSTINMODE_INVERTED) ? 0 : ce('CEINMODE') ? ports.inmode ^ cfg.IS_INMODE_INVERTED : this.inmodeReg;
    }
    const rstCtrl = rst('RSTCTRL', cfg.IS_RSTCTRL_INVERTED);
    if (cfg.OPMODEREG === 1) this.opmodeReg = rstCtrl ? 0 : ce('CECTRL') ? ports.opmode ^ cfg.IS_OPMODE_INVERTED : this.opmodeReg;
    if (cfg.CARRYINSELREG === 1) this.carryinselReg = rstCtrl ? 0 : ce('CECTRL') ? ports.carryinsel ?? 0 : this.carryinselReg;
    if (cfg.ALUMODEREG === 1) {
      this.alumodeReg = rst('RSTALUMODE', cfg.IS_RSTALUMODE_INVERTED) ? 0 : ce('CEALUMODE') ? ports.alumode ^ cfg.IS_ALUMODE_INVERTED : this.alumodeReg;
    }
    if (cfg.CARRYINREG === 1) {
      this.carryinReg = rst('RSTALLCARRYIN', cfg.IS_RSTALLCARRYIN_INVERTED) ? 0 : ce('CECARRYIN') ? ports.carryin ^ cfg.IS_CARRYIN_INVERTED : this.carryinReg;
    }
    if (cfg.PREG === 1) {
      if (rst('RSTP', cfg.IS_RSTP_INVERTED)) {
        this.pReg = 0n;
        this.carryoutReg = 0;
        this.carryoutKnownReg = 0b1111;
        this.pd = this.pdb = this.pdPast = this.pdbPast = 0;
      } else if (ce('CEP')) {
        this.pReg = now.p;
        this.carryoutReg = now.carryout;
        this.carryoutKnownReg = now.known;
        this.pdPast = this.pd;
        this.pdbPast = this.pdb;
        this.pd = now.pd;
        this.pdb = now.pdb;
      }
      return this.registeredOutputs();
    }
    // PREG=0: P is the ALU output of the state after the edge and the ports still presented.
    const after = this.evaluate(ports);
    return { p: after.p, carryout: after.carryout, carryoutKnown: after.known };
  }

  private registeredOutputs(): SliceOutputs {
    const out: SliceOutputs = { p: this.pReg, carryout: this.carryoutReg, carryoutKnown: this.carryoutKnownReg };
    if (this.config.USE_PATTERN_DETECT === 'PATDET') {
      const none = this.pd === 0 && this.pdb === 0;
      out.flags = {
        PATTERNDETECT: this.pd,
        PATTERNBDETECT: this.pdb,
        OVERFLOW: none && this.pdPast === 1 ? 1 : 0,
        UNDERFLOW: none && this.pdbPast === 1 ? 1 : 0,
      };
    }
    return out;
  }

  /** The combinational datapath for the current register state and these ports. */
  private evaluate(ports: PipelinePorts): Evaluation {
    const cfg = this.config;
    const aIn = cfg.A_INPUT === 'DIRECT' ? ports.a : ports.acin ?? 0n;
    const bIn = cfg.B_INPUT === 'DIRECT' ? ports.b : ports.bcin ?? 0n;
    const a2 = cfg.AREG === 0 ? aIn : this.a2;
    const b2 = cfg.BREG === 0 ? bIn : this.b2;

    // Pre-adder and multiplier: what the AD and M registers load at this edge.
    let adNew = 0n;
    let mNew = { u: 0n, v: 0n };
    if (this.hasMult) {
      const inmodePins = cfg.INMODEREG ? this.inmodeReg : ports.inmode ^ cfg.IS_INMODE_INVERTED;
      const inmode = decodeInmode(inmodePins, { a1: cfg.AREG >= 1, b1: cfg.BREG >= 1 });
      adNew = preAdder(inmode.a1 ? this.a1 : a2, this.hasD ? this.d : ports.d, inmode);
      const ad = this.hasAD ? this.ad : adNew;
      mNew = partialProducts(multiply(ad, inmode.b1 ? this.b1 : b2));
    }
    const m = cfg.MREG === 1 ? { u: this.mU, v: this.mV } : mNew;
    return { aIn, bIn, adNew, u: mNew.u, v: mNew.v, ...this.alu(ports, m, concatAB(a2, b2)) };
  }

  /** The W/X/Y/Z multiplexers, the ALU and the pattern detector. */
  private alu(ports: PipelinePorts, m: PartialProducts, ab: bigint): Omit<Evaluation, 'aIn' | 'bIn' | 'adNew' | 'u' | 'v'> {
    const cfg = this.config;
    const c = cfg.CREG === 1 ? this.c : ports.c;
    const op: Opmode = decodeOpmode(cfg.OPMODEREG ? this.opmodeReg : ports.opmode ^ cfg.IS_OPMODE_INVERTED);
    const alumode = decodeAlumode(cfg.ALUMODEREG ? this.alumodeReg : ports.alumode ^ cfg.IS_ALUMODE_INVERTED) as Alumode;
    const carryin = cfg.CARRYINREG ? this.carryinReg : ports.carryin ^ cfg.IS_CARRYIN_INVERTED;
    const carryinsel = cfg.CARRYINSELREG ? this.carryinselReg : ports.carryinsel ?? 0;
    const p = this.pReg;

    const w = op.w === 'P' ? p : op.w === 'RND' ? cfg.RND : op.w === 'C' ? c : 0n;
    const x = op.x === 'M' ? xOfU(m.u) : op.x === 'P' ? p : op.x === 'A:B' ? ab : 0n;
    const y = op.y === 'M' ? m.v : op.y === 'ones' ? MASK48 : op.y === 'C' ? c : 0n;
    let z = 0n;
    switch (op.z) {
      case 'PCIN': z = ports.pcin; break;
      case 'P': z = p; break;
      case 'C': z = c; break;
      case 'PCIN>>17': z = shr17(ports.pcin); break;
      case 'P>>17': z = shr17(p); break;
    }
    const out = aluLanes(alumode, cfg.USE_SIMD, w, x, y, z, carryIn(carryinsel, carryin, ports, p));

    // Pattern detector on the new ALU result (UG579 chapter 2, pattern detect logic).
    const pattern = cfg.SEL_PATTERN === 'C' ? c : cfg.PATTERN;
    let mask = cfg.MASK;
    if (cfg.SEL_MASK === 'C') mask = c;
    else if (cfg.SEL_MASK === 'ROUNDING_MODE1') mask = (~c << 1n) & MASK48; // C-bar shifted left by 1
    else if (cfg.SEL_MASK === 'ROUNDING_MODE2') mask = (~c << 2n) & MASK48;
    const care = ~mask & MASK48;
    const pd = ((out.p ^ pattern) & care) === 0n ? 1 : 0;
    const pdb = ((out.p ^ ~pattern) & care) === 0n ? 1 : 0;
    return { p: out.p, carryout: out.carryout, known: out.known, pd, pdb };
  }
}

/** CIN by CARRYINSEL (UG579, CARRYINSEL table); 100 and 110 are refused by portChecks. */
function carryIn(carryinsel: number, carryin: number, ports: PipelinePorts, p: bigint): 0n | 1n {
  const bit = (v: bigint | number) => (BigInt(v) & 1n) as 0n | 1n;
  switch (carryinsel) {
    case 0b000: return bit(carryin);
    case 0b001: return bit(~(ports.pcin >> 47n));
    case 0b010: return bit(ports.carrycascin ?? 0);
    case 0b011: return bit(ports.pcin >> 47n);
    case 0b101: return bit(~(p >> 47n));
    case 0b111: return bit(p >> 47n);
    default: throw new InputError(`CARRYINSEL ${bin(carryinsel, 3)}: not modelled`);
  }
}

/**
 * What one DSP of engine (a) computes: a packing scheme of harness/dsp/schemes.ts or one plain
 * product, as the ports of the DSP48E2 slice model (harness/dsp/slice.ts) and the decode of
 * its P register into lanes.
 */
import { type SchemeName, SCHEMES, decodeLanes } from '../../dsp/schemes.ts';
import { type SlicePorts, sext, wrap } from '../../dsp/slice.ts';
import type { EngineScheme } from '../models/splitconv.ts';

/** What one DSP does: its packed multiply, and how its P splits into (channel, pixel) lanes. */
export interface DspFunction {
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

export function dspFunction(scheme: EngineScheme): DspFunction {
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
export class PortsCache {
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


/**
 * What a sweep collects: the feasible configurations as points in typed arrays, and the
 * infeasible ones counted by the reason they fail.
 */
import { InputError } from '../util/errors.ts';
import { InfeasibleError } from './models/common.ts';
import type { InfeasibleCount, SweepShare } from './sweep-types.ts';

export class Tally {
  private readonly reasons = new Map<string, InfeasibleCount>();
  total = 0;

  /** Adds another tally's counts (their examples only for reasons this one has not seen). */
  merge(other: { total: number; reasons: InfeasibleCount[] }): void {
    this.total += other.total;
    for (const r of other.reasons) {
      const mine = this.reasons.get(r.reason);
      if (mine) mine.count += r.count;
      else this.reasons.set(r.reason, { ...r });
    }
  }

  add(reason: string, example: () => string): void {
    this.total++;
    const r = this.reasons.get(reason);
    if (r) r.count++;
    else this.reasons.set(reason, { reason, count: 1, example: example() });
  }

  /** A thrown error: an InfeasibleError's reason, 'invalid' for another InputError; anything else is a bug. */
  addError(e: unknown, where: string): void {
    if (e instanceof InfeasibleError) this.add(e.reason, () => `${where}: ${e.message}`);
    else if (e instanceof InputError) this.add('invalid', () => `${where}: ${e.message}`);
    else throw e;
  }

  list(): InfeasibleCount[] {
    return [...this.reasons.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }
}

/** Feasible points in typed arrays; `config` is the configuration's index in the space. */
export class Points {
  readonly config: Float64Array;
  readonly cycles: Float64Array;
  readonly fps: Float64Array;
  readonly dsp: Float64Array;
  readonly bram: Float64Array;
  readonly memBound: Int32Array;
  n = 0;

  constructor(capacity: number) {
    this.config = new Float64Array(capacity);
    this.cycles = new Float64Array(capacity);
    this.fps = new Float64Array(capacity);
    this.dsp = new Float64Array(capacity);
    this.bram = new Float64Array(capacity);
    this.memBound = new Int32Array(capacity);
  }

  /** Points of several shares, in share order. */
  static concat(shares: readonly SweepShare[]): Points {
    const p = new Points(shares.reduce((n, s) => n + s.fps.length, 0));
    for (const s of shares) {
      for (let i = 0; i < s.fps.length; i++) p.push(s.config[i]!, s.cycles[i]!, s.fps[i]!, s.dsp[i]!, s.bram[i]!, s.memBound[i]!);
    }
    return p;
  }

  push(config: number, cycles: number, fps: number, dsp: number, bram: number, memBound: number): void {
    const i = this.n++;
    this.config[i] = config;
    this.cycles[i] = cycles;
    this.fps[i] = fps;
    this.dsp[i] = dsp;
    this.bram[i] = bram;
    this.memBound[i] = memBound;
  }
}

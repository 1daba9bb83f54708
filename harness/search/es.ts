/**
 * The (1+lambda) evolution strategy of harness/prune/global.ts (Rechenberg; Beyer and Schwefel
 * 2002), run on the search genome (space.ts) once per scalarisation (objectives.ts), all
 * parents advancing together so that a generation is one batch of K * lambda candidates for the
 * worker pool.
 *
 * The same rules as global.ts: every parent starts at the reference candidate; a child is
 * x + sigma * N(0, I) on the active genes, clipped to [0, 1); the best child replaces the parent
 * when its score is <= the parent's (equal scores let it drift over the plateaus a discrete
 * decoding makes); sigma *= exp((successes / moved - 1/5) / sqrt(n + 1)) kept in [0.02, 1], where
 * `moved` counts the children that decode to another candidate than the parent (the others carry
 * no information; when there is none, sigma *= 1.5). The seeded Rng is the only randomness.
 */
import { Rng, gaussian } from '../util/rng.ts';
import { SCALARIZATIONS, scalarize } from './objectives.ts';
import type { Proposal, Scored, Strategy } from './strategy.ts';
import { type SearchSpace, canonical, decode, encode, referenceCandidate } from './space.ts';

interface Parent {
  x: Float64Array;
  key: string;
  score: number;
  sigma: number;
}

export class EvolutionStrategy implements Strategy {
  readonly name = 'es';
  private readonly gauss: () => number;
  private parents: Parent[] = [];
  private readonly active: number[];

  constructor(private readonly space: SearchSpace, seed: number, private readonly lambda = 4, private readonly sigma0 = 0.3) {
    this.gauss = gaussian(new Rng(seed));
    this.active = [...space.active.keys()].filter((i) => space.active[i]);
  }

  ask(): Proposal[] {
    if (this.parents.length === 0) return [{ x: encode(this.space, referenceCandidate(this.space)), tag: -1 }];
    const out: Proposal[] = [];
    this.parents.forEach((p, k) => {
      for (let i = 0; i < this.lambda; i++) {
        const x = Float64Array.from(p.x);
        for (const g of this.active) x[g] = Math.min(1 - 1e-9, Math.max(0, p.x[g]! + p.sigma * this.gauss()));
        out.push({ x, tag: k });
      }
    });
    return out;
  }

  tell(scored: readonly Scored[], reference: Scored['result']): void {
    if (this.parents.length === 0) {
      const s = scored[0]!;
      this.parents = SCALARIZATIONS.map((w) => ({ x: s.x, key: canonical(this.space, decode(this.space, s.x)), score: scalarize(s.result, w, reference), sigma: this.sigma0 }));
      return;
    }
    const damping = Math.sqrt(this.active.length + 1);
    this.parents = this.parents.map((p, k) => {
      const w = SCALARIZATIONS[k]!;
      let [successes, moved] = [0, 0];
      let top: { x: Float64Array; key: string; score: number } | undefined;
      for (const s of scored) {
        if (s.tag !== k) continue;
        const key = canonical(this.space, s.candidate);
        if (key === p.key) continue;
        moved++;
        const score = scalarize(s.result, w, reference);
        if (score < p.score) successes++;
        if (!top || score < top.score) top = { x: s.x, key, score };
      }
      const next = top && top.score <= p.score ? { ...p, ...top } : p;
      const step = moved ? Math.exp((successes / moved - 0.2) / damping) : 1.5;
      return { ...next, sigma: Math.min(1, Math.max(0.02, p.sigma * step)) };
    });
  }
}

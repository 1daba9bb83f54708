/** What the search driver (search.ts) asks of a strategy: batches of genomes, then their results. */
import type { EvalResult } from './job.ts';
import type { Candidate } from './space.ts';

export interface Proposal {
  x: Float64Array;
  /** The strategy's own bookkeeping (a parent, an episode). */
  tag: number;
}

export interface Scored extends Proposal {
  candidate: Candidate;
  result: EvalResult;
}

export interface Strategy {
  readonly name: string;
  /** The next batch (its candidates are evaluated in parallel). */
  ask(): Proposal[];
  /** The batch's results, in the order asked (a batch may be cut short by the budget); `reference` is the reference candidate's. */
  tell(scored: readonly Scored[], reference: EvalResult): void;
}

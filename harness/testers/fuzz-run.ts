/**
 * Runs the kernel property (fuzz-checks.ts on the cases of fuzz-cases.ts) with fast-check:
 *
 *   const r = runKernelFuzz({ cases: 300, seed: 11 });
 *   if (r.failure) throw new Error(r.failure.message);
 *
 * On a failure fast-check shrinks the case to a minimal one; the message carries the error of
 * that case (kernel, module, configuration, index, got/want), the case itself, and the command
 * that replays exactly it (fast-check's seed and path).
 */
import fc from 'fast-check';
import { type FuzzCase, describeCase, fuzzCaseArbitrary } from './fuzz-cases.ts';
import { type CheckOptions, type FuzzCounts, type FuzzTargets, checkCase, emptyCounts, fuzzTargets } from './fuzz-checks.ts';

export interface FuzzRunOptions {
  /** Random cases to check (fast-check's numRuns). */
  cases: number;
  /** fast-check's seed: the same seed draws the same cases. */
  seed: number;
  /** With `seed`, replays the one case a failure report named (and shrinks on from it). */
  path?: string;
  /** @default every kernel in every module this engine loads */
  targets?: FuzzTargets;
  check?: CheckOptions;
  /** Called after each passing case before any failure, with the count so far. */
  onCase?: (done: number) => void;
  /** Called for each case tried while shrinking a failure, with the count so far. */
  onShrink?: (tries: number) => void;
}

export interface FuzzFailure {
  /** The whole report: error, case, seed, path, replay command. */
  message: string;
  /** The error the shrunk case threw. */
  error: string;
  counterexample: FuzzCase;
  path: string;
  shrinks: number;
}

export interface FuzzRunResult {
  seed: number;
  /** Cases that passed before the first failure (all of them when none failed). */
  cases: number;
  counts: FuzzCounts;
  ms: number;
  failure?: FuzzFailure;
}

/** The engine a report was made on, and the wasm flags it ran with (they decide which modules load). */
function engine(): { name: string; flags: string[] } {
  const flags = process.execArgv.filter((a) => /^--(experimental-)?wasm/.test(a));
  return { name: `Node ${process.version}${flags.length ? ` ${flags.join(' ')}` : ''}`, flags };
}

/** How to rerun one counterexample: with npm, and with this very engine. */
export function replayCommands(seed: number, path: string): string[] {
  const args = `--seed ${seed} --path ${path}`;
  const e = engine();
  return [`npm run fuzz -- ${args}`, `${[process.execPath, ...e.flags].join(' ')} --import tsx scripts/fuzz.ts ${args}   (${e.name}, the engine that failed)`];
}

export function runKernelFuzz(opts: FuzzRunOptions): FuzzRunResult {
  const targets = opts.targets ?? fuzzTargets();
  const counts = emptyCounts();
  let failing = false;
  let shrinkTries = 0;
  const started = performance.now();
  const property = fc.property(fuzzCaseArbitrary(), (c) => {
    if (failing) opts.onShrink?.(++shrinkTries);
    try {
      // After the first failure every case is a shrink candidate: it is not counted as checked.
      checkCase(c, targets, failing ? emptyCounts() : counts, opts.check);
    } catch (e) {
      failing = true;
      throw e;
    }
    if (!failing) opts.onCase?.(counts.cases);
  });
  const details = fc.check(property, { numRuns: opts.cases, seed: opts.seed, ...(opts.path !== undefined ? { path: opts.path } : {}) });
  const ms = performance.now() - started;
  const result: FuzzRunResult = { seed: details.seed, cases: counts.cases, counts, ms };
  if (!details.failed) return result;

  const [counterexample] = details.counterexample ?? [];
  const err = details.errorInstance;
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const path = details.counterexamplePath ?? '';
  const [npm, direct] = replayCommands(details.seed, path);
  const message = [
    `kernel fuzz: a case failed after ${counts.cases} passing cases (fast-check seed ${details.seed}, shrunk ${details.numShrinks} times) on ${engine().name}`,
    `  ${error}`,
    `  minimal case: ${counterexample ? describeCase(counterexample) : '(none)'}`,
    `  replay: ${npm}`,
    `      or: ${direct}`,
  ].join('\n');
  return { ...result, failure: { message, error, counterexample: counterexample!, path, shrinks: details.numShrinks } };
}

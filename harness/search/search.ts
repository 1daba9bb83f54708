/**
 * `fkb search`: a hardware-aware compression search on one model (the embedded Fashion-MNIST
 * CNN by default), candidates evaluated by a worker_threads pool and kept in an SQLite store.
 *
 * Images (test-set indices of Debian's Fashion-MNIST test set; the committed 2,000 are its first
 * 2,000):
 *   0 .. 199                         calibration (as in `fkb compress`)
 *   200 .. 200 + final - 1           the held-out images the final front is measured on (1,800 by
 *                                    default: the images `fkb compress --images 1800` measures)
 *   2000 .. 2000 + search - 1        the search images every candidate is selected on
 * so the search never sees an image its final figures are measured on.
 *
 * Driver: the reference candidate first; then each strategy in turn (es, ddpg) asks for batches,
 * each genome is decoded (space.ts) and keyed (sha256 of context, seed and configuration); a key
 * in the store is read back, the others go to the pool, and each result is stored as it
 * arrives. A strategy's budget counts the distinct candidates it scored (read or evaluated); a
 * batch is cut to what is left of it. Batches are built from the seed and earlier results only,
 * so the same seed gives the same candidates, results and fronts for any thread count, and a
 * resumed search (the same replay, stored keys read back) ends where an uninterrupted one does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FASHION_MNIST_MODEL } from '../model/fashion-mnist.ts';
import { importOnnxFile } from '../model/onnx-import.ts';
import { CALIBRATION_IMAGES } from '../quant/calibrate.ts';
import { WorkerPool } from '../parallel/pool.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { REPORTED_SETTINGS } from '../pipelines/compression-points.ts';
import { DdpgAgent } from './ddpg.ts';
import { EvolutionStrategy } from './es.ts';
import type { EvalJob } from './job.ts';
import type { Candidate, EvalResult, HandPicked, SearchPoint, SearchResult, StrategySummary } from '../results/search.ts';

export type { SearchResult } from '../results/search.ts';
import { feasible, front, hypervolume, normalizer } from './objectives.ts';
import { type SearchSpace, buildSpace, candidateKey, compressCommand, compressionKey, decode, referenceCandidate } from './space.ts';
import { SearchStore } from './store.ts';
import type { Scored, Strategy } from './strategy.ts';

export const STRATEGIES = ['es', 'ddpg'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Where the search images start: after the committed 2,000 (calibration and held-out). */
export const SEARCH_FIRST = 2000;

export interface SearchOptions {
  model?: string;
  strategies: readonly StrategyName[];
  /** Distinct candidates per strategy. */
  budget: number;
  seed: number;
  threads: number;
  /** Search images (from SEARCH_FIRST on). @default 500 */
  searchImages?: number;
  /** Held-out images the final front is measured on (from CALIBRATION_IMAGES on). @default 1800 */
  finalImages?: number;
  device?: string;
  /** Pruning ratios a layer may take. @default space.ts RATIO_LEVELS */
  ratios?: readonly number[];
  /** Children per parent and generation of the ES; episodes per batch of DDPG is 6 * lambda. @default 4 */
  lambda?: number;
  db: string;
  resume?: boolean;
  /** Also measure `fkb run`'s hand-picked settings on the held-out images. @default true */
  handPicked?: boolean;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  strategy: string;
  scored: number;
  budget: number;
  evaluated: number;
  reused: number;
}





const range = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);

export async function runSearch(o: SearchOptions): Promise<SearchResult> {
  const t0 = performance.now();
  requireInt('--budget', o.budget, 1, 1_000_000);
  requireInt('--seed', o.seed, 0, 2 ** 31 - 1);
  requireInt('--threads', o.threads, 1, 64);
  const searchImages = requireInt('--search-images', o.searchImages ?? 500, 1, 10000 - SEARCH_FIRST);
  const finalImages = requireInt('--final-images', o.finalImages ?? 1800, 1, SEARCH_FIRST - CALIBRATION_IMAGES);
  const lambda = requireInt('--lambda', o.lambda ?? 4, 1, 64);
  if (o.strategies.length === 0) throw new InputError('--strategy: give es, ddpg or both');
  const modelPath = o.model ?? FASHION_MNIST_MODEL;
  const graph = importOnnxFile(modelPath);
  const space = buildSpace(graph, { ...(o.device ? { device: o.device } : {}), ...(o.ratios ? { ratios: o.ratios } : {}) });
  const modelSha = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
  const searchIdx = range(SEARCH_FIRST, searchImages);
  const context = JSON.stringify({ modelSha, device: space.device, search: [SEARCH_FIRST, searchImages], calibration: CALIBRATION_IMAGES });
  const spec = { model: o.model ?? 'embedded', modelSha, device: space.device, seed: o.seed, searchImages: [SEARCH_FIRST, searchImages], ratios: space.ratios, bits: space.bits, lambda, strategies: o.strategies };
  const store = new SearchStore<Candidate, EvalResult>(o.db, spec, Boolean(o.resume));
  const pool = new WorkerPool<EvalJob>(new URL('./job.ts', import.meta.url), o.threads);
  /** The pool's run; a worker's InputError (its class is lost crossing threads) stays an InputError. */
  const runPool: typeof pool.run = async (tasks, onResult) => {
    try {
      await pool.run(tasks, onResult);
    } catch (e) {
      if (e instanceof Error && e.name === 'InputError') throw new InputError(e.message);
      throw e;
    }
  };
  let [evaluatedHere, reusedHere] = [0, 0];
  const job = (candidate: Candidate, extra: Partial<EvalJob>): EvalJob => ({
    ...(o.model ? { model: o.model } : {}), fullTestSet: true, device: space.device, candidate, compressionKey: compressionKey(space, candidate), ...extra,
  });
  /** Results of candidates (by key), from the store or evaluated now; each new one is stored as it arrives. */
  const scoreAll = async (cands: Candidate[], keys: string[]): Promise<{ results: EvalResult[]; evaluated: number }> => {
    const results: (EvalResult | undefined)[] = keys.map((k) => store.get(k));
    const todo = [...new Set(keys.filter((_, i) => !results[i]))];
    await runPool(
      todo.map((k, id) => ({ id, job: job(cands[keys.indexOf(k)]!, { measureImages: searchIdx }) })),
      (id, r) => {
        const key = todo[id]!;
        store.putAll([{ key, config: cands[keys.indexOf(key)]!, result: r as EvalResult }]);
      },
    );
    evaluatedHere += todo.length;
    reusedHere += keys.length - todo.length;
    return { results: keys.map((k, i) => results[i] ?? store.get(k)!), evaluated: todo.length };
  };

  try {
    const refCandidate = referenceCandidate(space);
    const [reference] = (await scoreAll([refCandidate], [candidateKey(context, o.seed, space, refCandidate)])).results as [EvalResult];
    if (!feasible(reference)) throw new InputError(`the reference candidate (8-bit, engine L=16 Po=8 Pp=1) is infeasible on ${space.device}: ${reference.infeasible}`);

    const all: { strategy: string; key: string; candidate: Candidate; result: EvalResult }[] = [];
    const summaries: StrategySummary[] = [];
    for (const name of o.strategies) {
      const t1 = performance.now();
      const strategy: Strategy = name === 'es' ? new EvolutionStrategy(space, o.seed, lambda) : new DdpgAgent(space, o.seed, o.budget, 6 * lambda);
      const seen = new Map<string, number>();
      let [proposals, evaluated] = [0, 0];
      while (seen.size < o.budget && proposals < 50 * o.budget) {
        const batch = strategy.ask();
        // Cut the batch where the budget of distinct candidates runs out.
        const cands: Candidate[] = [];
        const keys: string[] = [];
        const fresh = new Set<string>();
        let take = 0;
        for (const p of batch) {
          const c = decode(space, p.x);
          const k = candidateKey(context, o.seed, space, c);
          if (!seen.has(k) && !fresh.has(k)) {
            if (seen.size + fresh.size >= o.budget) break;
            fresh.add(k);
          }
          cands.push(c);
          keys.push(k);
          take++;
        }
        proposals += take;
        if (take === 0) break;
        const r = await scoreAll(cands, keys);
        evaluated += r.evaluated;
        const scored: Scored[] = batch.slice(0, take).map((p, i) => ({ ...p, candidate: cands[i]!, result: r.results[i]! }));
        keys.forEach((k, i) => {
          if (!seen.has(k)) {
            seen.set(k, all.length);
            all.push({ strategy: name, key: k, candidate: cands[i]!, result: r.results[i]! });
          }
        });
        strategy.tell(scored, reference);
        o.onProgress?.({ strategy: name, scored: seen.size, budget: o.budget, evaluated: evaluatedHere, reused: reusedHere });
      }
      summaries.push({ name, scored: seen.size, evaluated, reused: 0, seconds: (performance.now() - t1) / 1000, feasible: 0, front: 0, hypervolume: 0, hypervolume2d: 0 });
    }

    // Fronts per strategy and their hypervolumes, in the box of every point of every strategy.
    const norm = normalizer([reference, ...all.map((a) => a.result)]);
    for (const s of summaries) {
      const mine = all.filter((a) => a.strategy === s.name);
      const f = front(mine.map((a) => a.result));
      s.feasible = mine.filter((a) => feasible(a.result)).length;
      s.front = f.length;
      s.reused = s.scored - s.evaluated;
      const pts = f.map((i) => norm(mine[i]!.result));
      s.hypervolume = hypervolume(pts);
      s.hypervolume2d = hypervolume(pts.map((p) => [p[0]!, p[1]!]));
    }

    // The joint front (one entry per distinct candidate), measured on the held-out images.
    const distinct = [...new Map(all.map((a) => [a.key, a])).values()];
    const joint = front(distinct.map((a) => a.result)).map((i) => distinct[i]!);
    const heldOut: EvalResult[] = [];
    await runPool(joint.map((a, id) => ({ id, job: job(a.candidate, { images: finalImages }) })), (id, r) => (heldOut[id] = r as EvalResult));
    const points: SearchPoint[] = joint.map((a, i) => ({
      strategy: a.strategy, key: a.key, candidate: a.candidate, search: a.result,
      heldOut: { top1: heldOut[i]!.top1, correct: heldOut[i]!.correct, images: heldOut[i]!.images },
      command: compressCommand(a.candidate, { ...(o.model ? { model: o.model } : {}), device: space.device, images: finalImages }),
    }));

    // fkb run's hand-picked settings on the same held-out images, engine (a) at its default.
    const handPicked: HandPicked[] = [];
    if (o.handPicked ?? true) {
      const settings = REPORTED_SETTINGS;
      const res: EvalResult[] = [];
      await runPool(settings.map((s, id) => ({ id, job: { ...job(refCandidate, { images: finalImages }), compressionKey: `hand-picked ${s.setting}`, options: s.options } })), (id, r) => (res[id] = r as EvalResult));
      settings.forEach((s, i) => {
        const r = res[i]!;
        if (!feasible(r)) return;
        const faster = points.filter((p) => p.search.latencyUs! <= r.latencyUs);
        // Chosen on the search images (the held-out ones only measure it): the best search top-1, then the lower latency.
        const best = faster.reduce<SearchPoint | undefined>((b, p) => (!b || p.search.top1 > b.search.top1 || (p.search.top1 === b.search.top1 && p.search.latencyUs! < b.search.latencyUs!) ? p : b), undefined);
        handPicked.push({
          setting: s.setting, top1: r.top1, latencyUs: r.latencyUs, dsp: r.dsp, sizeBits: r.sizeBits,
          ...(best ? { best: { key: best.key, top1: best.heldOut!.top1, latencyUs: best.search.latencyUs!, dsp: best.search.dsp!, beats: best.heldOut!.top1 > r.top1 } } : {}),
        });
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      model: o.model ?? 'embedded Fashion-MNIST CNN', device: space.device, seed: o.seed, budget: o.budget, threads: o.threads,
      images: { calibration: `0..${CALIBRATION_IMAGES - 1}`, search: `${SEARCH_FIRST}..${SEARCH_FIRST + searchImages - 1}`, heldOut: `${CALIBRATION_IMAGES}..${CALIBRATION_IMAGES + finalImages - 1}` },
      strategies: summaries, evaluatedHere, reusedHere, seconds,
      // The strategies' phase only (not the loading, the held-out measurement, the hand-picked settings).
      candidatesPerSecond: summaries.reduce((n, x) => n + x.evaluated, 0) / summaries.reduce((t, x) => t + x.seconds, 0),
      reference, front: points, handPicked,
    };
  } finally {
    store.close();
    await pool.close();
  }
}

export type { SearchSpace };

/**
 * A sweep's result from the points an evaluation path collected: the Pareto fronts of
 * throughput against DSPs and BRAM (pareto.ts), each front point described in full.
 */
import { performance } from 'node:perf_hooks';
import type { Device } from './devices.ts';
import type { ModelInfo } from './models/index.ts';
import { paretoFront } from './pareto.ts';
import type { Tally } from './sweep-points.ts';
import type { RunResult } from './sweep-run.ts';
import type { SweepOptions, SweepPoint, SweepResult } from './sweep-types.ts';

export function assemble(opts: SweepOptions, model: ModelInfo, device: Device, run: RunResult, tally: Tally, netMacs: number, t0: number): SweepResult {
  const { points, space, evaluated, materialise } = run;
  const fronts = [
    paretoFront(points.n, points.fps, [points.dsp, points.bram]),
    paretoFront(points.n, points.fps, [points.dsp]),
    paretoFront(points.n, points.fps, [points.bram]),
  ];
  const toPoint = (i: number): SweepPoint => {
    const { config, params, cores, foldings } = materialise(points.config[i]!);
    const fps = points.fps[i]!;
    return {
      config,
      params,
      cores,
      cyclesPerFrame: points.cycles[i]!,
      fps,
      gops: (2 * netMacs * fps) / 1e9,
      dsp: points.dsp[i]!,
      bram: points.bram[i]!,
      memoryBoundLayers: points.memBound[i]!,
      ...(foldings ? { foldings } : {}),
    };
  };
  return {
    model: `${model.id} (${model.name})`,
    device: `${device.name} (${device.board})`,
    network: opts.network.name,
    clockMHz: opts.clockMHz,
    dims: run.dims,
    space,
    evaluated,
    feasible: points.n,
    infeasible: { total: tally.total, reasons: tally.list() },
    front: fronts[0]!.map(toPoint),
    frontDsp: fronts[1]!.map(toPoint),
    frontBram: fronts[2]!.map(toPoint),
    elapsedMs: performance.now() - t0,
  };
}

/**
 * An analytical FPGA model evaluated on every layer of a network (what `fkb model` prints): per
 * layer cycles, time, bound, GOPS, DSP and BRAM, and the design's totals. A pipelined dataflow
 * engine (FINN) runs every layer on its own hardware at once, so its totals are f / slowest layer
 * and the sum of the layers' resources; a reused engine takes the largest layer's.
 */
import { describeShape } from '../conv/layer.ts';
import { loadNetwork, type NetworkLayer } from '../networks/index.ts';
import type { ModelReport } from '../results/index.ts';
import { InputError } from '../util/errors.ts';
import { setOwn } from '../util/records.ts';
import { type Device, getDevice } from './devices.ts';
import { requireBram, requireDsp } from './models/common.ts';
import { modelEvaluator, requireModel, type LayerEstimate, type ModelInfo } from './models/index.ts';

export interface NetworkModelOptions {
  /** Model id ('a'..'e') or name. */
  arch: string;
  /** Model parameters as `key=value`. */
  set?: readonly string[];
  device: string;
  /** @default the device's typical clock */
  clockMhz?: string;
  /** A built-in network name or a .json / .csv layer table. */
  layers: string;
}

/** `key=value` pairs into an object; a repeated key keeps the last value. */
export function parseSettings(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)\s*$/.exec(pair);
    if (!m) throw new InputError(`--set expects key=value, got '${pair}'`);
    setOwn(out, m[1]!, m[2]!);
  }
  return out;
}

/** FPGA fabric clocks this tool models, MHz: below 1 MHz the times say nothing about a real design. */
export const CLOCK_RANGE_MHZ = [1, 2000] as const;

/** `--clock-mhz`, or the device's typical clock when not given. */
export function parseClockMHz(raw: string | undefined, device: Device): number {
  if (raw === undefined) return device.typicalClockMHz;
  const [lo, hi] = CLOCK_RANGE_MHZ;
  const mhz = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(mhz) || mhz < lo || mhz > hi) throw new InputError(`--clock-mhz must be a number of MHz in [${lo}, ${hi}], got '${raw}'`);
  return mhz;
}

/** Runs the evaluation behind `fkb model` (exported for tests and other front ends). */
export function runModel(opts: NetworkModelOptions): ModelReport {
  const { model, device, clockMHz } = resolveTarget(opts);
  const net = loadNetwork(opts.layers);
  const { params, evaluate } = modelEvaluator(model, parseSettings(opts.set ?? []), device, clockMHz);

  const layers = net.layers.map((l: NetworkLayer) => {
    let e: LayerEstimate;
    try {
      e = evaluate(l);
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`layer ${l.name}: ${err.message}`);
      throw err;
    }
    return { name: l.name, shape: describeShape(l) + (l.groups > 1 ? ` g${l.groups}` : ''), ...e };
  });

  const sum = (f: (e: LayerEstimate) => number) => layers.reduce((a, e) => a + f(e), 0);
  const macs = sum((e) => e.macs);
  let cycles = sum((e) => e.cycles);
  let fps: number | undefined;
  let bottleneck: string | undefined;
  const pipelined = model.dataflow === 'pipelined';
  if (pipelined) {
    // FINN: every layer has its own engine, all run concurrently (Umuroglu et al. 2017, Sec. 4).
    const slow = layers.reduce((a, e) => (e.computeCycles > a.computeCycles ? e : a));
    cycles = slow.computeCycles;
    fps = (clockMHz * 1e6) / cycles;
    bottleneck = slow.name;
    requireDsp(sum((e) => e.dsp), () => 'FINN: sum of the per-layer DSPs', device);
    requireBram(sum((e) => e.bram), () => 'FINN: sum of the per-layer weight memories', device);
  }
  const timeNs = (cycles * 1e3) / clockMHz;
  const warnings = [...new Set(layers.flatMap((e) => e.warnings.map((w) => `${e.name}: ${w}`)))];
  return {
    model: `${model.id} (${model.name})`,
    device: `${device.name} (${device.board})`,
    clockMHz,
    network: net.name,
    params,
    layers,
    totals: {
      macs,
      cycles,
      timeNs,
      gops: (2 * macs) / timeNs,
      ...(fps !== undefined ? { fps, bottleneck } : {}),
      dsp: pipelined ? sum((e) => e.dsp) : Math.max(...layers.map((e) => e.dsp)),
      bram: pipelined ? sum((e) => e.bram) : Math.max(...layers.map((e) => e.bram)),
      ...(layers.every((e) => e.lut !== undefined && e.ff !== undefined)
        ? { lut: pipelined ? sum((e) => e.lut!) : Math.max(...layers.map((e) => e.lut!)), ff: pipelined ? sum((e) => e.ff!) : Math.max(...layers.map((e) => e.ff!)) }
        : {}),
      resources: pipelined ? 'sum' : 'max',
      memoryBoundLayers: layers.filter((e) => e.bound === 'memory').length,
    },
    warnings,
  };
}

/**
 * The model, device and clock of --arch, --device and --clock-mhz (default: the device's typical
 * clock); an InputError names the option.
 */
export function resolveTarget(opts: { arch: string; device: string; clockMhz?: string | undefined }): { model: ModelInfo; device: Device; clockMHz: number } {
  const model = requireModel(opts.arch);
  const device = getDevice(opts.device);
  const clockMHz = parseClockMHz(opts.clockMhz, device);
  return { model, device, clockMHz };
}

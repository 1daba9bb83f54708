/**
 * `fkb sweep`: design-space exploration of one analytical model on one device and network
 * (harness/fpga/sweep.ts). Prints the Pareto front of throughput against DSPs and BRAM as a
 * table, or the whole result as JSON; a progress bar goes to stderr when it is a terminal.
 * Bad input throws InputError naming the option (exit code 2).
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { getDevice, listDevices } from '../../fpga/devices.ts';
import { MODELS, MODEL_IDS } from '../../fpga/models/index.ts';
import { DEFAULT_LIMIT, sweep, sweepThreaded, type DimValue, type SweepOptions, type SweepPoint, type SweepResult } from '../../fpga/sweep.ts';
import { BUILTIN_NETWORKS, loadNetwork } from '../../networks/index.ts';
import { InputError } from '../../util/errors.ts';
import { setOwn } from '../../util/records.ts';
import { progressBar } from '../progress.ts';
import { parseSettings, resolveTarget } from '../../fpga/network.ts';
import { MAX_THREADS, collect, fmt, positiveInt } from '../options.ts';

export interface SweepCliOptions {
  arch: string;
  device: string;
  network: string;
  clockMhz?: string;
  limit?: string;
  range?: readonly string[];
  set?: readonly string[];
  front?: string;
  rows?: string;
  json?: boolean;
}

const FRONTS = { all: 'front', dsp: 'frontDsp', bram: 'frontBram' } as const;
const MAX_RANGE_VALUES = 1_000_000;


function wholeNumber(option: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`${option} must be a non-negative integer, got '${raw}'`);
  return n;
}

/**
 * `key=values` of --range: a comma list whose items are numbers, `lo..hi`, `lo..hi:step`,
 * or names (for choice parameters such as arch or scheme).
 */
export function parseRanges(pairs: readonly string[]): Record<string, DimValue[]> {
  const out: Record<string, DimValue[]> = {};
  for (const pair of pairs) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)\s*$/.exec(pair);
    if (!m) throw new InputError(`--range expects key=values (e.g. Tm=4..128:4 or arch=B1024,B4096), got '${pair}'`);
    const values: DimValue[] = [];
    for (const item of m[2]!.split(',').map((s) => s.trim())) {
      const r = /^(\d+)\.\.(\d+)(?::(\d+))?$/.exec(item);
      if (r) {
        const [lo, hi, step] = [Number(r[1]), Number(r[2]), Number(r[3] ?? 1)];
        if (hi < lo || step < 1) throw new InputError(`--range ${m[1]}: '${item}' must be lo..hi with lo <= hi and a step >= 1`);
        if ((hi - lo) / step + values.length >= MAX_RANGE_VALUES) throw new InputError(`--range ${m[1]}: more than ${MAX_RANGE_VALUES} values`);
        for (let v = lo; v <= hi; v += step) values.push(v);
      } else if (/^[+-]?\d+(\.\d+)?$/.test(item)) values.push(Number(item));
      else if (item !== '') values.push(item);
      else throw new InputError(`--range ${m[1]}: empty value in '${m[2]}'`);
    }
    setOwn(out, m[1]!, values);
  }
  return out;
}

/** The sweep options behind `fkb sweep` (exported for tests and other front ends). */
export function sweepOptions(opts: SweepCliOptions, onProgress?: (done: number, total: number) => void): SweepOptions {
  const { model, device, clockMHz } = resolveTarget(opts);
  const limit = wholeNumber('--limit', opts.limit, DEFAULT_LIMIT);
  if (limit < 1) throw new InputError('--limit must be at least 1');
  const net = loadNetwork(opts.network);
  return {
    model: model.id,
    device,
    network: net,
    clockMHz,
    limit,
    ranges: parseRanges(opts.range ?? []),
    fixed: parseSettings(opts.set ?? []),
    ...(onProgress ? { onProgress } : {}),
  };
}

/** Runs the sweep behind `fkb sweep` in this thread. */
export function runSweep(opts: SweepCliOptions, onProgress?: (done: number, total: number) => void): SweepResult {
  return sweep(sweepOptions(opts, onProgress));
}


/** `rows` of `points`, evenly spaced, always the first and the last (0: all). */
function thin<T>(points: readonly T[], rows: number): T[] {
  if (rows === 0 || points.length <= rows) return [...points];
  if (rows === 1) return [points[0]!];
  return Array.from({ length: rows }, (_, i) => points[Math.round((i * (points.length - 1)) / (rows - 1))]!);
}

export function formatSweep(r: SweepResult, front: keyof typeof FRONTS = 'all', rows = 40): string {
  const points: SweepPoint[] = r[FRONTS[front]];
  const [dspMax, bramMax] = deviceLimits(r);
  const withCores = r.dims.some((d) => d.name === 'cores');
  const t = new Table({
    head: ['#', 'configuration', ...(withCores ? ['cores'] : []), 'frames/s', 'GOPS', 'DSP', 'DSP %', 'BRAM36', 'BRAM %', 'mem-bound'],
    colAligns: ['right', 'left', ...(withCores ? (['right'] as const) : []), 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  const shown = thin(points, rows);
  for (const p of shown) {
    const config = Object.entries(p.config)
      .filter(([k]) => k !== 'cores')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    t.push([
      String(points.indexOf(p) + 1),
      config,
      ...(withCores ? [String(p.cores)] : []),
      fmt(p.fps, 1),
      fmt(p.gops, 1),
      fmt(p.dsp),
      dspMax ? fmt((100 * p.dsp) / dspMax, 1) : '',
      fmt(p.bram, 1),
      bramMax ? fmt((100 * p.bram) / bramMax, 1) : '',
      String(p.memoryBoundLayers),
    ]);
  }
  const dims = r.dims.map((d) => `${d.name} ${d.values.length}`).join(' x ');
  const rate = r.elapsedMs > 0 ? ` (${fmt((r.evaluated * 1e3) / r.elapsedMs)} configurations/s)` : '';
  const lines = [
    `sweep model ${r.model} on ${r.device} at ${r.clockMHz} MHz, network ${r.network}`,
    `space ${fmt(r.space)} configurations (${dims}); evaluated ${fmt(r.evaluated)}${r.evaluated < r.space ? ' at an even stride (--limit)' : ''} in ${fmt(r.elapsedMs)} ms${rate}`,
    `feasible ${fmt(r.feasible)}; infeasible ${fmt(r.infeasible.total)}${r.infeasible.reasons.map((x) => `, ${x.reason} ${fmt(x.count)}`).join('')}`,
    ...r.infeasible.reasons.map((x) => `  ${x.reason}: e.g. ${x.example}`),
  ];
  const what = { all: 'throughput vs DSP and BRAM', dsp: 'throughput vs DSP', bram: 'throughput vs BRAM' }[front];
  if (points.length === 0) {
    lines.push(`Pareto front (${what}): empty, no configuration fits ${r.device}`);
    return lines.join('\n');
  }
  lines.push(`Pareto front (${what}): ${points.length} points${shown.length < points.length ? `, showing ${shown.length} (--rows 0 for all, --json for everything)` : ''}`);
  lines.push(t.toString());
  const others = (Object.keys(FRONTS) as (keyof typeof FRONTS)[]).filter((k) => k !== front);
  lines.push(`other fronts: ${others.map((k) => `--front ${k}: ${r[FRONTS[k]].length} points`).join(', ')}`);
  return lines.join('\n');
}

function deviceLimits(r: SweepResult): [number, number] {
  const name = r.device.split(' ')[0]!;
  try {
    const d = getDevice(name);
    return [d.dsp, d.bram36];
  } catch {
    return [0, 0];
  }
}

function help(): string {
  return [
    '',
    'Examples:',
    '  fkb sweep --arch b --device zcu102 --network vgg16',
    '  fkb sweep --arch e --device zcu104 --network resnet50 --range R=8..64:8 --range C=8..64:8',
    '  fkb sweep --arch d --device zcu102 --network mobilenet-v1 --front dsp',
    '  fkb sweep --arch a --device zcu102 --network net.csv --set bramBudget=600 --json',
    '  fkb sweep --arch c --device u250 --network mobilenet-v1 --limit 500',
    '',
    'Default spaces (harness/fpga/sweep.ts): a: L, Po, Pp, scheme; b: Tm, Tn, Tr, Tc;',
    'c: FINN PE/SIMD per layer from a folding rule, for every reachable target and packing;',
    'd: B512..B4096 x 1..4 cores; e: R, C, packing. Throughput is frames/s of the network:',
    'f / sum of layer cycles (f / slowest layer for FINN), x cores for d.',
    '',
    `Models: ${MODEL_IDS.map((id) => `${id}|${MODELS[id].name}`).join(', ')}`,
    `Devices: ${listDevices().map((d) => `${d.name} (${d.board})`).join(', ')}`,
    `Networks: ${Object.keys(BUILTIN_NETWORKS).join(', ')}, or a .json / .csv layer table`,
  ].join('\n');
}

export function registerSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description('design-space exploration: the Pareto front of throughput vs DSPs and BRAM of one model on a device and network')
    .requiredOption('--arch <model>', `model: ${MODEL_IDS.map((id) => `${id}|${MODELS[id].name}`).join(', ')}`)
    .requiredOption('--device <name>', 'device or board from harness/fpga/devices.json')
    .requiredOption('--network <name|file>', 'built-in network name, or a .json / .csv layer table')
    .option('--clock-mhz <n>', "clock in MHz (default: the device's typical clock)")
    .option('--limit <n>', `at most n configurations; a larger space is sampled at an even stride (default ${DEFAULT_LIMIT})`)
    .option('--range <key=values>', 'values of one dimension: 1,2,4 | 4..128 | 4..128:4 | B1024,B4096 (repeatable)', collect, [] as string[])
    .option('--set <key=value>', 'hold a model parameter at one value (repeatable)', collect, [] as string[])
    .option('--front <kind>', 'front shown in the table: all (throughput, DSP, BRAM), dsp, bram', 'all')
    .option('--rows <n>', 'table rows at most, evenly spaced along the front (0: all)', '40')
    .option('--threads <n>', `worker threads sharing the configurations (same result), 1..${MAX_THREADS}`, positiveInt('--threads', MAX_THREADS), 1)
    .option('--json', 'print the whole result as JSON')
    .addHelpText('after', help)
    .action(async (opts: SweepCliOptions & { threads: number }) => {
      const front = opts.front ?? 'all';
      if (!Object.hasOwn(FRONTS, front)) throw new InputError(`--front must be one of ${Object.keys(FRONTS).join(', ')}, got '${front}'`);
      const rows = wholeNumber('--rows', opts.rows, 40);
      const threads = opts.threads;
      const bar = progressBar(!opts.json);
      let result: SweepResult;
      try {
        result = await sweepThreaded(sweepOptions(opts, (done, total) => bar.update('configurations', done, total)), threads);
      } finally {
        bar.stop();
      }
      console.log(opts.json ? JSON.stringify(result, null, 2) : formatSweep(result, front as keyof typeof FRONTS, rows));
    });
}

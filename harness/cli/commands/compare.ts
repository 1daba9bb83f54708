/**
 * `fkb compare`: the WASM kernels' measured GMAC/s per layer (a report of `fkb bench`) next to
 * an analytical FPGA model's on the same shapes, with the roofline position of each FPGA layer
 * (harness/fpga/compare.ts). With --measured, a published per-layer latency table of a real
 * accelerator (harness/fpga/validation/) against the model it names instead: per layer measured
 * vs model time and error, the model's bound (memory-bound layers flagged), median and worst
 * error. Bad input throws InputError naming the option (exit code 2).
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import {
  MEASURED_TABLES,
  compareBench,
  latestBenchReport,
  readBenchReport,
  readMeasuredTable,
  validateMeasured,
  type CompareReport,
} from '../../fpga/compare.ts';
import type { MeasuredValidation } from '../../results/index.ts';
import { listDevices } from '../../fpga/devices.ts';
import { MODELS, MODEL_IDS } from '../../fpga/models/index.ts';
import { InputError } from '../../util/errors.ts';
import { parseSettings, resolveTarget } from '../../fpga/network.ts';
import { RESULTS_DIR, collect, fmt } from '../options.ts';

export interface CompareCliOptions {
  bench?: string;
  arch?: string;
  device?: string;
  /** A built-in measured table (see MEASURED_TABLES) or a file: validates the model against it. */
  measured?: string;
  clockMhz?: string;
  set?: readonly string[];
  json?: boolean;
}


/** Runs the comparison behind `fkb compare` (exported for tests). `resultsDir` is where 'latest' looks. */
export function runCompare(opts: CompareCliOptions, resultsDir = RESULTS_DIR): CompareReport {
  if (opts.arch === undefined || opts.device === undefined) throw new InputError('--arch and --device are required with --bench');
  const { model, device, clockMHz } = resolveTarget({ arch: opts.arch, device: opts.device, clockMhz: opts.clockMhz });
  if (!opts.bench || opts.bench.trim() === '') throw new InputError("--bench needs a report file or 'latest'");
  const { file, report } = opts.bench === 'latest' ? latestBenchReport(resultsDir) : { file: opts.bench, report: readBenchReport(opts.bench) };
  return compareBench({ report, file, model: model.id, device, clockMHz, params: parseSettings(opts.set ?? []) });
}


/** Runs `fkb compare --measured`: the table's model, device and clock; --set overrides for what-if runs. */
export function runMeasured(opts: CompareCliOptions): MeasuredValidation {
  if (!opts.measured || opts.measured.trim() === '') throw new InputError(`--measured needs a table file or one of ${Object.keys(MEASURED_TABLES).join(', ')}`);
  if (opts.bench !== undefined || opts.arch !== undefined || opts.device !== undefined || opts.clockMhz !== undefined) {
    throw new InputError('--measured takes the model, device and clock from its table: drop --bench, --arch, --device and --clock-mhz');
  }
  return validateMeasured(readMeasuredTable(opts.measured), parseSettings(opts.set ?? []));
}

const pct = (x: number) => `${fmt(100 * x, 1)} %`;

export function formatMeasured(v: MeasuredValidation): string {
  const t = new Table({
    head: ['network', 'layer', 'shape', 'MMAC', 'measured ms', 'model ms', 'error', 'bound', 'compute cyc', 'load cyc', 'measured util'],
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const l of v.layers) {
    t.push([
      l.network.replace(/\s*\(.*$/, ''),
      l.layer.length > 26 ? `${l.layer.slice(0, 23)}...` : l.layer,
      l.shape,
      fmt(l.macs / 1e6, 1),
      fmt(l.measuredMs, 3),
      fmt(l.modelMs, 3),
      `${l.error >= 0 ? '+' : ''}${pct(l.error)}`,
      l.bound === 'memory' ? 'MEMORY' : 'compute',
      fmt(l.computeCycles),
      fmt(l.loadCycles),
      l.measuredUtilizationPct === undefined ? '' : `${fmt(l.measuredUtilizationPct, 1)} %`,
    ]);
  }
  const params = Object.entries(v.params).map(([k, x]) => `${k}=${x}`).join(' ');
  return [
    `model ${v.model} on ${v.device} at ${v.clockMHz} MHz; params: ${params}`,
    `measured: ${v.accelerator}`,
    `source: ${v.source}`,
    t.toString(),
    `${v.layers.length} layers: median |error| ${pct(v.medianAbsError)}, worst ${pct(v.worstAbsError)} (${v.worstLayer}); ` +
      `compute-bound ${v.computeBound.layers} (median ${pct(v.computeBound.medianAbsError)}), ` +
      `memory-bound ${v.memoryBound.layers} (median ${pct(v.memoryBound.medianAbsError)}): ${v.memoryBound.names.join(', ')}`,
    ...(v.excluded.length ? [`not compared: ${v.excluded.join('; ')}`] : []),
    'error = model / measured - 1; bound = the model\'s (MEMORY: its transfers set more of the layer\'s cycles than compute).',
  ].join('\n');
}

export function formatCompare(r: CompareReport): string {
  const t = new Table({
    head: ['layer', 'shape', 'MMAC', 'best WASM kernel', 'WASM GMAC/s', 'FPGA GMAC/s', 'FPGA GOPS', 'FPGA/WASM', 'bound', 'ops/B', 'ridge', 'FPGA us', 'WASM ms', 'load cyc'],
    colAligns: ['left', 'left', 'right', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of r.rows) {
    const f = row.fpga;
    t.push([
      row.layer.length > 32 ? `${row.layer.slice(0, 29)}...` : row.layer,
      row.shape,
      fmt(row.macs / 1e6, 1),
      row.wasm.kernel.length > 44 ? `${row.wasm.kernel.slice(0, 41)}...` : row.wasm.kernel,
      fmt(row.wasm.gmacs, 2),
      fmt(f.gmacs, 1),
      fmt(f.gops, 1),
      `${fmt(row.ratio, 1)}x`,
      f.bound,
      f.opsPerByte === null ? 'n/a' : fmt(f.opsPerByte, 1),
      fmt(f.ridgeOpsPerByte, 1),
      fmt(f.timeMs * 1e3, 1),
      fmt(row.wasm.p50Ms, 3),
      fmt(f.loadCycles),
    ]);
  }
  const tt = r.totals;
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ');
  return [
    `model ${r.model} on ${r.device} at ${r.clockMHz} MHz (${r.offChipGBps} GB/s); params: ${params}`,
    `bench ${r.bench.file ?? ''} (${r.bench.date}; ${r.bench.machine})`,
    t.toString(),
    `all ${r.rows.length} shapes: FPGA ${fmt(tt.fpgaTimeMs, 3)} ms at ${fmt(tt.fpgaGmacs, 1)} GMAC/s, WASM ${fmt(tt.wasmTimeMs, 3)} ms at ${fmt(tt.wasmGmacs, 2)} GMAC/s: ${fmt(tt.ratio, 1)}x; ${tt.memoryBoundLayers} memory-bound on the FPGA`,
    'ops/B: operational intensity of the FPGA layer (2*MACs / off-chip bytes); ridge: peak GOPS / the bandwidth the layer gets;',
    'load cyc: cycles the layer waits on transfers beyond its compute (load phases not hidden by double buffering).',
  ].join('\n');
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('measured WASM GMAC/s per layer (an fkb bench report) next to an analytical FPGA model, with the roofline position')
    .option('--bench <file|latest>', "a report of 'fkb bench' (bench/results/*.json), or 'latest'")
    .option('--arch <model>', `model: ${MODEL_IDS.map((id) => `${id}|${MODELS[id].name}`).join(', ')}`)
    .option('--device <name>', 'device or board from harness/fpga/devices.json')
    .option('--measured <name|file>', `instead of --bench: a published per-layer latency table (${Object.keys(MEASURED_TABLES).join(', ')}, or a file like harness/fpga/validation/*.json) against the model it names`)
    .option('--clock-mhz <n>', "clock in MHz (default: the device's typical clock)")
    .option('--set <key=value>', 'model parameter, repeatable (see fkb model --help)', collect, [] as string[])
    .option('--json', 'print the comparison as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  fkb bench --reference --no-ort --time 200',
        '  fkb compare --bench latest --arch d --set arch=B4096 --device zcu104',
        '  fkb compare --bench bench/results/splitconv-node20-<date>.json --arch a --set L=16 --set Po=8 --device zcu102 --json',
        '  fkb compare --measured dpu-zcu102      (DPU B4096 on a ZCU102, Vitis AI 1.2 profiler: AlexNet and FCN8 per layer)',
        '  fkb compare --measured dpu-zcu102 --set doubleBuffer=off --json',
        '',
        'Layers are matched by shape; the FPGA model evaluates each measured shape with int8 weights and activations.',
        `Devices: ${listDevices().map((d) => `${d.name} (${d.board})`).join(', ')}`,
      ].join('\n'),
    )
    .action((opts: CompareCliOptions) => {
      if (opts.measured !== undefined) {
        const v = runMeasured(opts);
        console.log(opts.json ? JSON.stringify(v, null, 2) : formatMeasured(v));
        return;
      }
      const report = runCompare(opts);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatCompare(report));
    });
}

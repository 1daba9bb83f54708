/**
 * `fkb compare`: the WASM kernels' measured GMAC/s per layer (a report of `fkb bench`) next to
 * an analytical FPGA model's on the same shapes, with the roofline position of each FPGA layer
 * (harness/fpga/compare.ts). Bad input throws InputError naming the option (exit code 2).
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { compareBench, latestBenchReport, readBenchReport, type CompareReport } from '../../fpga/compare.ts';
import { listDevices } from '../../fpga/devices.ts';
import { MODELS, MODEL_IDS } from '../../fpga/models/index.ts';
import { InputError } from '../../util/errors.ts';
import { parseSettings, resolveTarget } from '../../fpga/network.ts';
import { RESULTS_DIR, collect, fmt } from '../options.ts';

export interface CompareCliOptions {
  bench: string;
  arch: string;
  device: string;
  clockMhz?: string;
  set?: readonly string[];
  json?: boolean;
}


/** Runs the comparison behind `fkb compare` (exported for tests). `resultsDir` is where 'latest' looks. */
export function runCompare(opts: CompareCliOptions, resultsDir = RESULTS_DIR): CompareReport {
  const { model, device, clockMHz } = resolveTarget(opts);
  if (!opts.bench || opts.bench.trim() === '') throw new InputError("--bench needs a report file or 'latest'");
  const { file, report } = opts.bench === 'latest' ? latestBenchReport(resultsDir) : { file: opts.bench, report: readBenchReport(opts.bench) };
  return compareBench({ report, file, model: model.id, device, clockMHz, params: parseSettings(opts.set ?? []) });
}


export function formatCompare(r: CompareReport): string {
  const t = new Table({
    head: ['layer', 'shape', 'MMAC', 'best WASM kernel', 'WASM GMAC/s', 'FPGA GMAC/s', 'FPGA GOPS', 'FPGA/WASM', 'bound', 'ops/B', 'ridge', 'FPGA us', 'WASM ms'],
    colAligns: ['left', 'left', 'right', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right'],
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
    ]);
  }
  const tt = r.totals;
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ');
  return [
    `model ${r.model} on ${r.device} at ${r.clockMHz} MHz (${r.offChipGBps} GB/s); params: ${params}`,
    `bench ${r.bench.file ?? ''} (${r.bench.date}; ${r.bench.machine})`,
    t.toString(),
    `all ${r.rows.length} shapes: FPGA ${fmt(tt.fpgaTimeMs, 3)} ms at ${fmt(tt.fpgaGmacs, 1)} GMAC/s, WASM ${fmt(tt.wasmTimeMs, 3)} ms at ${fmt(tt.wasmGmacs, 2)} GMAC/s: ${fmt(tt.ratio, 1)}x; ${tt.memoryBoundLayers} memory-bound on the FPGA`,
    'ops/B: operational intensity of the FPGA layer (2*MACs / off-chip bytes); ridge: peak GOPS / bandwidth.',
  ].join('\n');
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('measured WASM GMAC/s per layer (an fkb bench report) next to an analytical FPGA model, with the roofline position')
    .requiredOption('--bench <file|latest>', "a report of 'fkb bench' (bench/results/*.json), or 'latest'")
    .requiredOption('--arch <model>', `model: ${MODEL_IDS.map((id) => `${id}|${MODELS[id].name}`).join(', ')}`)
    .requiredOption('--device <name>', 'device or board from harness/fpga/devices.json')
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
        '',
        'Layers are matched by shape; the FPGA model evaluates each measured shape with int8 weights and activations.',
        `Devices: ${listDevices().map((d) => `${d.name} (${d.board})`).join(', ')}`,
      ].join('\n'),
    )
    .action((opts: CompareCliOptions) => {
      const report = runCompare(opts);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatCompare(report));
    });
}

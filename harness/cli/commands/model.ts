/**
 * `fkb model`: evaluates an analytical FPGA model on every layer of a network.
 *
 *   fkb model --arch a --set L=16 --set Po=8 --device zcu102 --clock-mhz 300 --layers resnet50
 *   fkb model --arch dpu --set arch=B1024 --device ultra96 --layers net.csv --json
 *
 * Prints one row per layer (cycles, time, bound, GOPS, DSP, BRAM) and the totals; with the FINN
 * model (c) layers are pipelined, so the totals line reports f / slowest layer instead.
 * Bad input (unknown model, device, parameter, malformed layer table, infeasible
 * configuration) throws InputError: exit code 2.
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { listDevices } from '../../fpga/devices.ts';
import { MODELS, MODEL_IDS, getModel } from '../../fpga/models/index.ts';
import { parseSettings, runModel } from '../../fpga/network.ts';
import { simulateLayerReport } from '../../fpga/sim/splitconv-sim.ts';
import { BUILTIN_NETWORKS, loadNetwork } from '../../networks/index.ts';
import type { ModelReport } from '../../results/index.ts';
import { InputError } from '../../util/errors.ts';
import { collect, fmt } from '../options.ts';

interface ModelOptions {
  arch: string;
  set: string[];
  device: string;
  clockMhz?: string;
  layers: string;
  json?: boolean;
  simulate?: boolean;
  maxDspOps?: string;
}

function modelHelp(): string {
  const lines = [
    '',
    'Examples:',
    '  fkb model --arch a --device zcu104 --layers resnet18',
    '  fkb model --arch a --set L=16 --set Po=8 --set scheme=int8x8 --layers my-net.csv --simulate',
    '  fkb model --arch d --set arch=B4096 --device zcu102 --layers mobilenet-v1 --json',
    '',
    'Models and their --set parameters (default in brackets):',
  ];
  for (const id of MODEL_IDS) {
    const m = MODELS[id];
    lines.push(`  ${id} | ${m.name}: ${m.title}`);
    for (const [k, s] of Object.entries(m.params)) lines.push(`      ${k} [${s.default}]  ${s.description}`);
  }
  lines.push('', `Devices: ${listDevices().map((d) => `${d.name} (${d.board})`).join(', ')}`);
  lines.push(`Networks: ${Object.keys(BUILTIN_NETWORKS).join(', ')}, or a .json / .csv layer table`);
  return lines.join('\n');
}


export function formatReport(r: ModelReport): string {
  const fabric = r.totals.lut !== undefined;
  const t = new Table({
    head: ['layer', 'shape', 'MMAC', 'cycles', 'load cyc', 'time ns', 'bound', 'GOPS', 'util %', 'DSP', 'BRAM36', ...(fabric ? ['LUT', 'FF'] : [])],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const e of r.layers) {
    t.push([e.name, e.shape, fmt(e.macs / 1e6, 2), fmt(e.cycles), fmt(e.loadCycles ?? e.cycles - e.computeCycles), fmt(e.timeNs), e.bound, fmt(e.attainableGops, 1), fmt(100 * e.utilization, 1), fmt(e.dsp), fmt(e.bram, 1), ...(fabric ? [fmt(e.lut ?? 0), fmt(e.ff ?? 0)] : [])]);
  }
  const tt = r.totals;
  const load = r.layers.reduce((a, e) => a + (e.loadCycles ?? e.cycles - e.computeCycles), 0);
  t.push(['total', `${r.layers.length} layers`, fmt(tt.macs / 1e6, 2), fmt(tt.cycles), tt.fps === undefined ? fmt(load) : '', fmt(tt.timeNs), `${tt.memoryBoundLayers} mem`, fmt(tt.gops, 1), '', `${tt.resources} ${fmt(tt.dsp)}`, `${tt.resources} ${fmt(tt.bram, 1)}`, ...(fabric ? [`${tt.resources} ${fmt(tt.lut ?? 0)}`, `${tt.resources} ${fmt(tt.ff ?? 0)}`] : [])]);
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ');
  const lines = [
    `model ${r.model} on ${r.device} at ${r.clockMHz} MHz, network ${r.network}`,
    `params: ${params}`,
    t.toString(),
    'load cyc: cycles a layer waits on off-chip transfers beyond its compute (the load phases double buffering does not hide).',
  ];
  if (fabric) lines.push('LUT, FF: fitted on Yosys synth_xilinx of the engine RTL (docs/synthesis.md; compare with fkb synth).');
  if (tt.fps !== undefined) {
    lines.push(`pipelined (FINN): ${fmt(tt.cycles)} cycles per frame at the slowest layer ${tt.bottleneck} -> ${fmt(tt.fps, 1)} frames/s`);
  }
  if (r.warnings.length > 0) {
    lines.push(`warnings (${r.warnings.length}):`, ...r.warnings.slice(0, 5).map((w) => `  ${w}`));
    if (r.warnings.length > 5) lines.push(`  ... ${r.warnings.length - 5} more (see --json)`);
  }
  return lines.join('\n');
}

export function registerModelCommand(program: Command): void {
  program
    .command('model')
    .description('evaluate an analytical FPGA accelerator model on every layer of a network')
    .requiredOption('--arch <model>', `model: ${MODEL_IDS.map((id) => `${id}|${MODELS[id].name}`).join(', ')}`)
    .option('--set <key=value>', 'model parameter, repeatable (see below)', collect, [] as string[])
    .option('--device <name>', 'device or board from harness/fpga/devices.json', 'zcu102')
    .option('--clock-mhz <n>', "clock in MHz (default: the device's typical clock)")
    .requiredOption('--layers <network|file>', 'built-in network name, or a .json / .csv layer table')
    .option('--json', 'print the full report as JSON')
    .option('--simulate', 'model a only: also run the cycle-level simulator on each layer (small layers; see --max-dsp-ops)')
    .option('--max-dsp-ops <n>', 'with --simulate: the largest layer (DSP operations) to simulate; larger ones are listed as skipped', '500000')
    .addHelpText('after', modelHelp)
    .action((opts: ModelOptions) => {
      const report = runModel(opts);
      if (!opts.simulate) {
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatReport(report));
        return;
      }
      if (getModel(opts.arch)?.name !== 'splitconv') throw new InputError(`--simulate runs the cycle-level simulator of model a, not ${report.model}`);
      const maxDspOps = Number(opts.maxDspOps);
      if (!Number.isInteger(maxDspOps) || maxDspOps < 1) throw new InputError(`--max-dsp-ops must be a positive integer, got '${opts.maxDspOps}'`);
      const params = parseSettings(opts.set ?? []);
      const net = loadNetwork(opts.layers);
      const simulated = net.layers.map((l) => {
        try {
          return simulateLayerReport({ ...l }, { params, device: opts.device, clockMHz: report.clockMHz, maxDspOps });
        } catch (err) {
          if (err instanceof InputError) return { layer: l.name, skipped: err.message };
          throw err;
        }
      });
      if (opts.json) {
        console.log(JSON.stringify({ ...report, simulated }, null, 2));
        return;
      }
      console.log(formatReport(report));
      const t = new Table({ head: ['layer', 'simulated cycles', 'analytical', 'agree', 'outputs exact'], style: { head: [], border: [] } });
      for (const s of simulated) {
        if ('skipped' in s) t.push([s.layer, { colSpan: 4, content: `skipped: ${s.skipped}` }]);
        else t.push([s.layer, s.cycles.simulated, s.cycles.analytical, s.cycles.agree ? 'yes' : `no (${s.cycles.explanation})`, s.outputs.exact ? 'yes' : `${s.outputs.outputsDiffering} differ`]);
      }
      console.log(`\ncycle-level simulation (DSP emulation through the slice model):\n${t.toString()}`);
    });
}

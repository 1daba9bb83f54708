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
import { describeShape } from '../../conv/layer.ts';
import { getDevice, listDevices } from '../../fpga/devices.ts';
import { requireBram, requireDsp } from '../../fpga/models/common.ts';
import { MODELS, MODEL_IDS, getModel, modelEvaluator, type LayerEstimate } from '../../fpga/models/index.ts';
import { loadNetwork, BUILTIN_NETWORKS, type NetworkLayer } from '../../networks/index.ts';
import { InputError } from '../../util/errors.ts';
import { simulateLayerReport } from '../../fpga/sim/splitconv-sim.ts';

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `key=value` pairs into an object; a repeated key keeps the last value. */
export function parseSettings(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*?)\s*$/.exec(pair);
    if (!m) throw new InputError(`--set expects key=value, got '${pair}'`);
    out[m[1]!] = m[2]!;
  }
  return out;
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

export interface ModelReport {
  model: string;
  device: string;
  clockMHz: number;
  network: string;
  params: Record<string, number | string>;
  layers: (LayerEstimate & { name: string; shape: string })[];
  totals: {
    macs: number;
    cycles: number;
    timeNs: number;
    gops: number;
    /** FINN only: pipelined throughput f / slowest layer. */
    fps?: number;
    bottleneck?: string;
    /** DSPs / BRAM36 of the design: the largest layer's for a reused engine, the sum for FINN. */
    dsp: number;
    bram: number;
    resources: 'max' | 'sum';
    memoryBoundLayers: number;
  };
  warnings: string[];
}

/** Runs the evaluation behind `fkb model` (exported for tests and other front ends). */
export function runModel(opts: Omit<ModelOptions, 'set'> & { set?: readonly string[] }): ModelReport {
  const model = getModel(opts.arch);
  if (!model) {
    throw new InputError(`--arch must be one of ${MODEL_IDS.map((id) => `${id} (${MODELS[id].name})`).join(', ')}, got '${opts.arch}'`);
  }
  const device = getDevice(opts.device);
  const clockMHz = opts.clockMhz === undefined ? device.typicalClockMHz : Number(opts.clockMhz);
  if (!Number.isFinite(clockMHz) || clockMHz <= 0 || clockMHz > 2000) {
    throw new InputError(`--clock-mhz must be a number in (0, 2000], got '${opts.clockMhz}'`);
  }
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
  const pipelined = model.id === 'c';
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
      resources: pipelined ? 'sum' : 'max',
      memoryBoundLayers: layers.filter((e) => e.bound === 'memory').length,
    },
    warnings,
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function formatReport(r: ModelReport): string {
  const t = new Table({
    head: ['layer', 'shape', 'MMAC', 'cycles', 'time ns', 'bound', 'GOPS', 'util %', 'DSP', 'BRAM36'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const e of r.layers) {
    t.push([e.name, e.shape, fmt(e.macs / 1e6, 2), fmt(e.cycles), fmt(e.timeNs), e.bound, fmt(e.attainableGops, 1), fmt(100 * e.utilization, 1), fmt(e.dsp), fmt(e.bram, 1)]);
  }
  const tt = r.totals;
  t.push(['total', `${r.layers.length} layers`, fmt(tt.macs / 1e6, 2), fmt(tt.cycles), fmt(tt.timeNs), `${tt.memoryBoundLayers} mem`, fmt(tt.gops, 1), '', `${tt.resources} ${fmt(tt.dsp)}`, `${tt.resources} ${fmt(tt.bram, 1)}`]);
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ');
  const lines = [`model ${r.model} on ${r.device} at ${r.clockMHz} MHz, network ${r.network}`, `params: ${params}`, t.toString()];
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
      if (!report.model.startsWith('a ')) throw new InputError(`--simulate runs the cycle-level simulator of model a, not ${report.model}`);
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

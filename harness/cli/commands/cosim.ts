/**
 * `fkb cosim`: the engine's RTL (rtl/) against the cycle simulator and the packed-DSP engine, or
 * a user's cascade unit (--rtl, rtl/CONTRACT.md) against the slice model.
 *
 *   fkb cosim --model embedded --scheme all --set L=4,Po=2,Pp=2
 *   fkb cosim --random 20 --seed 3 --scheme int4 --sim icarus
 *   fkb cosim --rtl my_unit.v --top my_unit --scheme int8x8 --set L=8
 *   fkb cosim --overpack int4-2x3-d1 --decode all --exhaustive
 *
 * --overpack runs rtl/overpack_unit.v (overpacked multiply + correction, harness/dsp/overpack.ts)
 * for one layout against decodeOverpacked and overpackStats (harness/cosim/overpack-cosim.ts).
 *
 * Exit codes: 0 everything equal, 1 a mismatch (the first one is printed), 2 bad input or a
 * missing simulator (the message names the Debian package).
 */
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { type ContractReport } from '../../cosim/contract.ts';
import {
  type CosimLayerSpec, type CosimReport, embeddedLayers, randomLayers, referenceLayers, runContractCheck, runCosim,
} from '../../cosim/run.ts';
import { SIMULATORS, type SimulatorName } from '../../cosim/simulators.ts';
import { type OverpackCosimReport, type OverpackMismatch, overpackModes, runOverpackCosim } from '../../cosim/overpack-cosim.ts';
import { type OverpackCorrectionCost, overpackCorrectionCosts } from '../../cosim/overpack-synth.ts';
import { DECODE_MODES, type DecodeMode, OVERPACK_NAMES, getOverpack } from '../../dsp/overpack.ts';
import type { CosimDifference } from '../../cosim/types.ts';
import { ENGINE_SCHEMES, type EngineScheme } from '../../fpga/models/splitconv.ts';
import { parseSettings } from '../../fpga/network.ts';
import { InputError, VerificationError } from '../../util/errors.ts';
import { collect, fmt, positiveInt } from '../options.ts';
import { progressBar } from '../progress.ts';

interface CosimCliOptions {
  layer?: string;
  model?: string;
  random?: number;
  seed: number;
  scheme: string;
  sim: SimulatorName;
  set: string[];
  operands: 'random' | 'extremes';
  trace?: boolean;
  against: 'sim' | 'model';
  keep?: boolean;
  json?: boolean;
  rtl: string[];
  top?: string;
  vectors?: number;
  modelIssues: number;
  overpack?: string;
  decode: string;
  exhaustive?: boolean;
  synth?: boolean;
}

const ARCH_KEYS = ['L', 'Po', 'Pp', 'dspLatency', 'accLatency', 'weightWordCycles'] as const;

function parseArch(set: string[]): Record<string, number> {
  const pairs = set.flatMap((s) => s.split(',')).filter((s) => s.trim() !== '');
  const kv = parseSettings(pairs);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(kv)) {
    if (!(ARCH_KEYS as readonly string[]).includes(k)) throw new InputError(`--set ${k}: unknown; the architecture takes ${ARCH_KEYS.join(', ')}`);
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InputError(`--set ${k}=${v}: not an integer`);
    out[k] = n;
  }
  return out;
}

function schemesOf(s: string): EngineScheme[] {
  if (s === 'all') return [...ENGINE_SCHEMES];
  if (!(ENGINE_SCHEMES as readonly string[]).includes(s)) throw new InputError(`--scheme must be one of ${ENGINE_SCHEMES.join(', ')}, all; got '${s}'`);
  return [s as EngineScheme];
}

function layersOf(o: CosimCliOptions): CosimLayerSpec[] {
  const picked = [o.layer !== undefined, o.model !== undefined, o.random !== undefined].filter(Boolean).length;
  if (picked !== 1) throw new InputError('choose the layers with exactly one of --layer reference, --model embedded, --random N (or check a design with --rtl)');
  if (o.layer !== undefined) {
    if (o.layer !== 'reference') throw new InputError(`--layer takes 'reference', got '${o.layer}'`);
    return referenceLayers();
  }
  if (o.model !== undefined) {
    if (o.model !== 'embedded') throw new InputError(`--model takes 'embedded', got '${o.model}'`);
    return embeddedLayers();
  }
  return randomLayers(o.random!, o.seed);
}

export function describeDifference(d: CosimDifference): string {
  if (d.where === 'cascade') {
    const ops = d.operands ? Object.entries(d.operands).map(([k, v]) => `${k}=${v}`).join(' ') : 'no operands (no P expected)';
    const lane = d.lane !== undefined ? `, decoded lane ${d.lane} got ${d.gotLane} want ${d.wantLane}` : '';
    return `cycle ${d.cycle}, pixel lane ${d.pixelLane}, cascade ${d.cascade}, stage ${d.stage}${d.issue !== undefined ? ` (issue ${d.issue})` : ''}: P got ${d.got} want ${d.want}${lane}; ports ${ops}`;
  }
  if (d.where === 'accumulator') return `every traced P agrees; output (oh ${d.oh}, ow ${d.ow}, oc ${d.oc}) accumulator got ${d.got} want ${d.want}`;
  return `outputs equal; cycles got ${d.got} want ${d.want}`;
}

export function formatCosim(r: CosimReport): string {
  const a = r.arch;
  const lines = [`${r.simulator}; L=${a.L} Po=${a.Po} Pp=${a.Pp} dspLatency=${a.dspLatency} accLatency=${a.accLatency} weightWordCycles=${a.weightWordCycles}; ${r.operands} operands, seed ${r.seed}`];
  const t = new Table({
    head: ['scheme', 'layer', 'shape', 'outputs', 'mismatch vs sim', 'vs packed', 'cycles RTL', `cycles ${r.layers[0]?.cycles.from ?? 'sim'}`, 'RTL ms'],
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const l of r.layers) {
    t.push([l.scheme, l.layer, l.shape, fmt(l.outputs), l.mismatches.vsSim ?? '-', l.mismatches.vsPacked, fmt(l.cycles.rtl), `${fmt(l.cycles.sim)}${l.cycles.equal ? '' : ' !'}`, fmt(l.ms.rtl, 0)]);
  }
  lines.push(t.toString());
  for (const s of r.schemes) {
    lines.push(`${s.scheme}: ${s.layers} layers, ${fmt(s.outputs)} outputs, ${s.mismatches} mismatches, ${s.cycleMismatches} cycle differences; ` +
      `build ${s.build.cached ? 'cached' : `${fmt(s.build.ms / 1000, 1)} s`}; ${fmt(s.dspCycles / (s.rtlMs / 1000) / 1e6, 2)} M DSP-cycles/s in the RTL simulator`);
  }
  for (const l of r.layers.filter((x) => !x.equal)) lines.push(`MISMATCH ${l.scheme} ${l.layer}: ${l.firstDifference ? describeDifference(l.firstDifference) : ''}`);
  return lines.join('\n');
}

export function formatContract(r: ContractReport): string {
  const lines = [
    `${r.top} (${r.files.join(', ')}) as ${r.scheme}, L=${r.L}, ${r.sim}, seed ${r.seed}: ${r.issues} issues (${r.randomIssues} random/boundary, ${r.modelIssues} from the embedded model) in ${r.cycles} cycles, latency ${r.latency ?? 'none'}`,
    `mismatches: ${r.mismatches}${r.mismatches ? ` (per lane ${r.perLane.slice(0, -1).join(', ')}; P only ${r.perLane.at(-1)})` : ''}`,
  ];
  const m = r.firstMismatch;
  if (m) {
    lines.push(
      `first mismatch (${m.kind}): cycle ${m.cycle}, issue ${m.issue} (presented in cycle ${m.inCycle}, ${m.source}), ` +
        `${m.lane >= 0 ? `lane ${m.lane} got ${m.laneGot} want ${m.laneWant}` : 'lanes equal'}; P got ${m.pGot} want ${m.pWant}`,
      ...m.operands.map((s, j) => `  stage ${j}: ${s}`),
    );
  }
  return lines.join('\n');
}

export function describeOverpackMismatch(m: OverpackMismatch): string {
  const what = m.kind === 'value' ? `${m.mode} lane ${m.lane} (${m.laneName}) got ${m.got} want ${m.want}` : `${m.kind}${m.mode ? ` (${m.mode})` : ''}: got ${m.got} want ${m.want}`;
  const p = m.pGot ? `; P got ${m.pGot} want ${m.pWant}` : '';
  return `vector ${m.vector} (${m.source}, presented in cycle ${m.inCycle}, result in cycle ${m.cycle}) w=[${m.w.join(',')}] a=[${m.a.join(',')}]: ${what}${p}`;
}

export function formatOverpackCosim(r: OverpackCosimReport): string {
  const kind = r.exhaustive ? `exhaustive (${fmt(r.space)} tuples)` : `${fmt(r.randomVectors)} random (seed ${r.seed}) + ${fmt(r.boundaryVectors)} boundary tuples`;
  const lines = [
    `${r.layout} on ${r.sim}: ${kind}, ${fmt(r.cycles)} cycles in ${r.simulations} simulation(s), latency ${r.latency}; build ${r.build.cached ? 'cached' : `${fmt(r.build.ms / 1000, 1)} s`}; ` +
      `RTL ${fmt(r.ms.rtl / 1000, 1)} s, check ${fmt(r.ms.check / 1000, 1)} s, total ${fmt(r.ms.total / 1000, 1)} s`,
  ];
  const t = new Table({
    head: ['decode', 'mismatches vs decodeOverpacked', `wrong results (of ${fmt(r.statsVectors * r.lanes)})`, 'max |error|', 'stats == overpackStats'],
    colAligns: ['left', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [] },
  });
  for (const m of r.modes) t.push([m.mode, fmt(m.mismatches), fmt(m.errorCount), m.maxAbsError, m.statsEqual === null ? '-' : m.statsEqual ? 'yes' : 'NO']);
  lines.push(t.toString(), `${fmt(r.laneResults)} lane results compared, ${r.mismatches} mismatches`);
  if (r.firstMismatch) lines.push(`first mismatch: ${describeOverpackMismatch(r.firstMismatch)}`);
  return lines.join('\n');
}

export function formatCorrectionCosts(costs: readonly OverpackCorrectionCost[]): string {
  const modes = [...new Set(costs.map((c) => c.mode))];
  const t = new Table({ head: ['layout', ...modes.map((m) => `${m} LUT/FF/CARRY`)], style: { head: [], border: [] } });
  for (const layout of [...new Set(costs.map((c) => c.layout))]) {
    t.push([layout, ...modes.map((m) => {
      const c = costs.find((x) => x.layout === layout && x.mode === m);
      return c ? `${c.lut} / ${c.ff} / ${c.carry}` : '-';
    })]);
  }
  return `${t.toString()}\nYosys synth_xilinx -family xcup cell counts (not Vivado's): approx = overpack_pack's C logic with the anticipation minus without; the others = rtl/overpack_correction.v`;
}

function overpackModesOf(layout: string, decode: string): DecodeMode[] {
  const have = overpackModes(getOverpack(layout));
  if (decode === 'all') return have;
  const picked = decode.split(',').map((x) => x.trim());
  for (const m of picked) if (!(DECODE_MODES as readonly string[]).includes(m)) throw new InputError(`--decode must be one of ${DECODE_MODES.join(', ')}, all (comma-separated), got '${m}'`);
  return picked as DecodeMode[];
}

function runOverpackCli(o: CosimCliOptions): void {
  const layouts = o.overpack === 'all' ? [...OVERPACK_NAMES] : o.overpack!.split(',').map((x) => x.trim());
  if (o.layer !== undefined || o.model !== undefined || o.random !== undefined || o.rtl.length > 1) {
    throw new InputError('--overpack checks one multiply unit: --layer, --model and --random choose engine layers and do not apply (--rtl may name one replacement overpack_decode.v)');
  }
  if (o.synth) {
    const costs = layouts.flatMap((layout) => overpackCorrectionCosts(layout, overpackModesOf(layout, o.decode)));
    console.log(o.json ? JSON.stringify(costs, null, 2) : formatCorrectionCosts(costs));
    return;
  }
  if (o.exhaustive && o.vectors !== undefined) throw new InputError('--exhaustive enumerates every tuple: --vectors does not apply');
  const bar = progressBar(!o.json);
  const reports = layouts.map((layout) => {
    const modes = overpackModesOf(layout, o.decode);
    return runOverpackCosim({
      layout, sim: o.sim, modes, seed: o.seed, ...(o.exhaustive ? { exhaustive: true } : {}), ...(o.vectors !== undefined ? { vectors: o.vectors } : {}),
      ...(o.rtl[0] ? { decodeFile: o.rtl[0] } : {}),
      onProgress: (done, total) => bar.update(`${layout} vectors`, done, total),
    });
  });
  bar.stop();
  console.log(o.json ? JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) : reports.map(formatOverpackCosim).join('\n\n'));
  const bad = reports.filter((r) => !r.equal);
  if (bad.length) throw new VerificationError(`${bad.map((r) => r.layout).join(', ')}: the overpacking RTL differs from decodeOverpacked/overpackStats (${bad.reduce((s, r) => s + r.mismatches, 0)} mismatches)`);
}

export function registerCosimCommand(program: Command): void {
  program
    .command('cosim')
    .description("co-simulate the engine's RTL (rtl/) with the cycle simulator and the packed-DSP engine, or check your own cascade RTL (--rtl)")
    .option('--layer <name>', "'reference': the reference layer 56x56x64 -> 64 3x3 (slow in RTL simulation)")
    .option('--model <name>', "'embedded': every conv layer of the embedded Fashion-MNIST model")
    .option('--random <n>', 'n seeded random small shapes', positiveInt('--random'))
    .option('--seed <n>', 'seed of the shapes and operands', positiveInt('--seed'), 1)
    .option('--scheme <scheme>', `${ENGINE_SCHEMES.join(' | ')} | all`, 'int8x8')
    .addOption(new Option('--sim <simulator>', 'RTL simulator').choices(SIMULATORS as unknown as string[]).default('verilator'))
    .option('--set <k=v[,k=v]>', `architecture: ${ARCH_KEYS.join(', ')} (default L=16 Po=8 Pp=1, latencies 4 and 1)`, collect, [] as string[])
    .addOption(new Option('--operands <kind>', 'seeded operand distribution').choices(['random', 'extremes']).default('random'))
    .addOption(new Option('--against <what>', "hold the RTL against simulateSplitConv + the packed engine ('sim'), or model (a)'s cycle formula + the packed engine ('model': much faster on big layers; the tests prove the two cycle counts equal)").choices(['sim', 'model']).default('sim'))
    .option('--trace', 'always write and compare the per-cycle trace (default: only to locate a mismatch)')
    .option('--keep', 'keep each run directory (operand files, outputs, trace) and print its path')
    .option('--rtl <file.v>', 'your design (repeatable): check it against rtl/CONTRACT.md', collect, [] as string[])
    .option('--top <module>', 'with --rtl: the top module')
    .option('--vectors <n>', 'with --rtl: random and boundary issues (default 2000); with --overpack: random tuples before the boundary ones (default: exhaustive up to 65,536 tuples, else 2000)', positiveInt('--vectors'))
    .option('--model-issues <n>', 'with --rtl: issues taken from each embedded-model layer', positiveInt('--model-issues'), 500)
    .option('--overpack <layout>', `an overpacked multiply unit (rtl/overpack_unit.v) for a layout: ${OVERPACK_NAMES.join(', ')}, or a comma list, or all`)
    .option('--decode <mode>', `with --overpack: ${DECODE_MODES.join(', ')}, or a comma list, or all`, 'all')
    .option('--exhaustive', 'with --overpack: every operand tuple of the layout')
    .option('--synth', "with --overpack: the Yosys cell counts of each decode's correction logic instead of simulating")
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  fkb cosim --model embedded --scheme all --set L=4,Po=2,Pp=2\n  fkb cosim --random 20 --seed 3 --scheme int4 --sim icarus\n  fkb cosim --layer reference --set L=16,Po=8,Pp=1\n  fkb cosim --rtl my_unit.v --top my_unit --scheme int8x8 --set L=8\n  fkb cosim --overpack int4-2x3-d1 --decode mr,mr-round --exhaustive\n  fkb cosim --overpack all --vectors 5000 --seed 2\n\nThe port contract for --rtl designs is rtl/CONTRACT.md. Builds are cached in .cache/cosim/.')
    .action((o: CosimCliOptions) => {
      const arch = parseArch(o.set);
      if (o.overpack !== undefined) {
        runOverpackCli(o);
        return;
      }
      if (o.rtl.length) {
        if (!o.top) throw new InputError('--rtl needs --top <module>');
        if (o.layer !== undefined || o.model !== undefined || o.random !== undefined) throw new InputError('--rtl checks a cascade unit: --layer, --model and --random choose engine layers and do not apply');
        const scheme = schemesOf(o.scheme);
        if (scheme.length !== 1) throw new InputError('--rtl: name the one scheme the design implements (--scheme all does not apply)');
        const extra = Object.keys(arch).filter((k) => k !== 'L');
        if (extra.length) throw new InputError(`--rtl: only L applies to a cascade unit, not ${extra.join(', ')}`);
        const r = runContractCheck({ files: o.rtl, top: o.top, scheme: scheme[0]!, L: arch['L'] ?? 4, sim: o.sim, seed: o.seed, vectors: o.vectors ?? 2000, modelIssues: o.modelIssues });
        console.log(o.json ? JSON.stringify(r, null, 2) : formatContract(r));
        if (!r.equal) throw new VerificationError(`${r.top}: ${r.mismatches} of ${r.issues} issues differ from the slice model`);
        return;
      }
      const layers = layersOf(o);
      const bar = progressBar(!o.json);
      const r = runCosim({
        layers, schemes: schemesOf(o.scheme), sim: o.sim,
        arch: { L: 16, Po: 8, Pp: 1, ...arch } as { L: number; Po: number; Pp: number },
        operands: o.operands, seed: o.seed, against: o.against, trace: o.trace ? 'always' : 'auto', keep: Boolean(o.keep),
        onProgress: (label, done, total) => bar.update(label, done, total),
      });
      bar.stop();
      console.log(o.json ? JSON.stringify(r, null, 2) : formatCosim(r));
      if (!r.equal) {
        const bad = r.layers.filter((l) => !l.equal);
        throw new VerificationError(`${bad.length} of ${r.layers.length} layer runs differ (first: ${bad[0]!.scheme} ${bad[0]!.layer})`);
      }
    });
}

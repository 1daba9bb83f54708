/**
 * `fkb synth`: engine (a)'s RTL through Yosys (synth_xilinx -family xcup), its DSP48E2, LUT, FF
 * and CARRY counts next to model (a)'s DSP count and fitted LUT / FF estimate.
 *
 *   fkb synth                                    the fit's held-out configurations
 *   fkb synth --scheme int8x8,int4 --set L=2/4,Po=2,Pp=1    ('/' alternatives: every combination)
 *   fkb synth --grid                             every configuration of the fit's grid
 *   fkb synth --fit                              synthesize the grid, refit, write splitconv-fabric.json
 *
 * Exit code 0 when every DSP count equals the model's and LUT and FF are within --tolerance,
 * 1 otherwise, 2 on bad input or without Yosys (Debian package `yosys`).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { ENGINE_SCHEMES } from '../../fpga/models/splitconv.ts';
import type { FabricConfig } from '../../fpga/models/splitconv-fabric.ts';
import { FIT_GRID, type SynthReport, compareEngine, runFit } from '../../synth/engine.ts';
import { InputError } from '../../util/errors.ts';
import { collect, fmt } from '../options.ts';
import { progressBar } from '../progress.ts';

interface SynthOptions {
  scheme?: string;
  set: string[];
  grid?: boolean;
  fit?: boolean;
  tolerance: string;
  cache: boolean;
  json?: boolean;
}

const LIMITS = { L: 16, Po: 8, Pp: 8 } as const;

/** The configurations of --scheme (comma list) and --set (L=2/4,Po=1,Pp=2: '/' alternatives): their product. */
export function synthConfigs(scheme: string | undefined, sets: readonly string[]): FabricConfig[] {
  const schemes = (scheme ?? 'int8x8').split(',');
  for (const s of schemes) if (!(ENGINE_SCHEMES as readonly string[]).includes(s)) throw new InputError(`--scheme must be one of ${ENGINE_SCHEMES.join(', ')}, got '${s}'`);
  const v: Record<keyof typeof LIMITS, number[]> = { L: [2], Po: [1], Pp: [1] };
  for (const pair of sets.flatMap((s) => s.split(','))) {
    const m = /^\s*(L|Po|Pp)\s*=\s*([0-9]+(?:\s*\/\s*[0-9]+)*)\s*$/.exec(pair);
    if (!m) throw new InputError(`--set expects L=, Po= or Pp= with integers ('/' between alternatives), got '${pair}'`);
    const key = m[1] as keyof typeof LIMITS;
    v[key] = m[2]!.split('/').map((x) => Number(x.trim()));
    for (const n of v[key]) if (n < 1 || n > LIMITS[key]) throw new InputError(`--set ${key} must be in [1, ${LIMITS[key]}] (synthesis time grows with the array), got ${n}`);
  }
  return schemes.flatMap((s) => v.L.flatMap((L) => v.Po.flatMap((Po) => v.Pp.map((Pp) => ({ scheme: s as FabricConfig['scheme'], L, Po, Pp })))));
}

export function formatSynthReport(r: SynthReport): string {
  const t = new Table({
    head: ['scheme', 'L', 'Po', 'Pp', 'set', 'DSP model', 'DSP yosys', 'eq', 'LUT model', 'LUT yosys', 'LUT err %', 'FF model', 'FF yosys', 'FF err %', 'CARRY', 'LUTRAM', 's', 'cached'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const x of r.rows) {
    t.push([x.scheme, x.L, x.Po, x.Pp, x.role ?? '', x.dsp.model, x.dsp.yosys, x.dsp.equal ? 'yes' : 'NO', fmt(x.lut.model), fmt(x.lut.yosys), fmt(x.lut.errorPct, 1),
      fmt(x.ff.model), fmt(x.ff.yosys), fmt(x.ff.errorPct, 1), fmt(x.carry), x.lutram, fmt(x.seconds, 1), x.cached ? 'yes' : 'no']);
  }
  const lines = [`${r.yosysVersion}: ${r.flow}`, t.toString()];
  lines.push(`DSP: ${r.rows.filter((x) => x.dsp.equal).length}/${r.rows.length} equal to the model; LUT/FF ${r.withinTolerance ? 'within' : 'NOT within'} ${r.tolerancePct} %`);
  if (r.fit) lines.push(`fit written: held-out LUT error median ${r.fit.heldout.lut.medianPct} %, max ${r.fit.heldout.lut.maxPct} %; FF median ${r.fit.heldout.ff.medianPct} %, max ${r.fit.heldout.ff.maxPct} %`);
  return lines.join('\n');
}

export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description("synthesize engine (a)'s RTL with Yosys and compare DSP / LUT / FF with model (a)")
    .option('--scheme <list>', `engine scheme(s): ${ENGINE_SCHEMES.join(', ')} (comma list)`)
    .option('--set <key=values>', "L=, Po=, Pp= (e.g. L=2/4,Po=2: '/' separates alternatives); default L=2,Po=1,Pp=1", collect, [] as string[])
    .option('--grid', "every configuration of the fit's grid (training and held-out)")
    .option('--fit', 'synthesize the grid, refit LUT / FF and write harness/fpga/models/splitconv-fabric.json')
    .option('--tolerance <pct>', 'LUT / FF error allowed, percent', '10')
    .option('--no-cache', 'synthesize even when .cache/synth has the result')
    .option('--json', 'print the report as JSON')
    .action((opts: SynthOptions) => {
      const tolerancePct = Number(opts.tolerance);
      if (!Number.isFinite(tolerancePct) || tolerancePct < 0) throw new InputError(`--tolerance must be a non-negative number, got '${opts.tolerance}'`);
      const chosen = opts.scheme !== undefined || opts.set.length > 0;
      if (chosen && (opts.grid || opts.fit)) throw new InputError('--grid / --fit synthesize the fixed grid: drop --scheme and --set');
      const configs = chosen ? synthConfigs(opts.scheme, opts.set).map((config) => ({ config }))
        : opts.grid || opts.fit ? FIT_GRID : FIT_GRID.filter((g) => g.role === 'heldout');
      const cache = opts.cache ? {} : { cacheDir: null };
      const bar = progressBar(!opts.json);
      try {
        const fit = opts.fit ? runFit({ ...cache, onProgress: bar.update }) : undefined;
        if (fit) writeFileSync(new URL('../../fpga/models/splitconv-fabric.json', import.meta.url), `${JSON.stringify(fit, null, 2)}\n`);
        const report = compareEngine(configs, { ...cache, tolerancePct, ...(fit ? { fit } : {}), onProgress: bar.update });
        if (fit) report.fit = fit;
        bar.stop();
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatSynthReport(report));
        process.exitCode = report.dspAllEqual && report.withinTolerance ? 0 : 1;
      } finally {
        bar.stop();
      }
    });
}

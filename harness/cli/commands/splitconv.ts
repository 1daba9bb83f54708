/**
 * `fkb run`, `fkb verify` and `fkb bench`: the split-convolution kernels' verification and
 * benchmark, on the reference layer and the layers of bench/shapes/*.json.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import Table from 'cli-table3';
import { type BenchReport, benchmarkExhaustive, benchmarkLayers } from '../../bench/bench-kernels.ts';
import { type BenchLayer, loadBenchLayers, referenceLayer } from '../../bench/shapes.ts';
import { reportTables } from '../../report/bench-table.ts';
import { InputError, VerificationError } from '../../util/errors.ts';
import { writeJsonAtomically } from '../../util/files.ts';
import { type VerifyResult, verifyLayers } from '../../verify/verify-kernels.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { loadModules } from '../../wasm/modules.ts';
import { SPLITCONV_VARIANTS, STRATEGIES } from '../../registry/splitconv.ts';
import { progressBar } from '../progress.ts';
import { loadNetwork } from '../../networks/index.ts';
import { layerExactness } from '../../exactness/layer-exactness.ts';
import { schemeProblem } from '../../problems/scheme-problem.ts';
import { runModel } from './model.ts';
import { compressionResults } from '../../pipelines/compression-points.ts';
import { measureBlazeFace } from '../../pipelines/blazeface.ts';
import { graphLayers } from '../../fpga/graph-layers.ts';
import { foldBatchNorm } from '../../model/fold.ts';
import { importOnnxFile } from '../../model/onnx-import.ts';
import { FASHION_MNIST_MODEL } from '../../model/fashion-mnist.ts';
import { collectReportData } from '../../report/report-data.ts';
import { writeReport } from '../../report/html.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InputError(`${name} must be an integer in [1, 64], got '${v}'`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InputError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

function layersFrom(opts: { reference?: boolean; shapes?: string }): BenchLayer[] {
  return opts.reference ? [referenceLayer()] : loadBenchLayers(opts.shapes);
}

/** Re-runs this command on Node 24 from npm (relaxed SIMD on by default, AVX-VNNI lowering). */
function reexecOnNode24(): number {
  const which = spawnSync(process.execPath, [join(root, 'scripts', 'engines.js'), '--path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const node24 = which.stdout.trim();
  if (which.status !== 0 || !node24) throw new InputError('--engine node24: Node 24 could not be installed (node scripts/engines.js)');
  const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--engine') && all[i - 1] !== '--engine');
  const r = spawnSync(node24, [join(root, 'bin', 'fkb.js'), ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

function verifyTable(results: VerifyResult[]): string {
  const t = new Table({ head: ['layer', 'kernel', 'module', 'modes ok', 'outputs'], style: { head: [], border: [] } });
  const groups = new Map<string, VerifyResult[]>();
  for (const r of results) {
    const key = `${r.layer}|${r.kernel}|${r.module}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const rs of groups.values()) {
    const ok = rs.filter((r) => r.ok).map((r) => r.mode);
    const bad = rs.filter((r) => !r.ok).map((r) => r.mode);
    t.push([rs[0]!.layer, rs[0]!.kernel, rs[0]!.module, bad.length ? `FAIL ${bad.join(',')}` : ok.join(','), rs[0]!.outputs]);
  }
  return t.toString();
}

async function runVerify(layers: BenchLayer[], ort: boolean, json: boolean, threads = 1): Promise<VerifyResult[]> {
  const bar = progressBar(!json);
  const results = await verifyLayers(layers, { ort, threads, onStep: bar.update });
  bar.stop();
  if (!json) console.log(verifyTable(results));
  return results;
}

/** Lines stating the issue's targets on the reference layer, from one benchmark run. */
export function targetSummary(report: BenchReport): string[] {
  const ref = report.measurements.filter((m) => m.layer === report.measurements[0]?.layer);
  const best = (pred: (m: (typeof ref)[number]) => boolean) =>
    ref.filter(pred).sort((a, b) => a.p50Ms - b.p50Ms)[0];
  const simd = best((m) => m.module === 'simd');
  const relaxed = best((m) => m.module === 'relaxed');
  const packed = best((m) => m.dsp !== undefined);
  const scalar = best((m) => m.module === 'scalar');
  const ort = best((m) => m.module === 'onnxruntime-web');
  const lines: string[] = [];
  if (simd && scalar) lines.push(`best plain SIMD ${simd.kernel}: ${simd.gmacs.toFixed(1)} GMAC/s = ${(scalar.p50Ms / simd.p50Ms).toFixed(1)}x scalar`);
  if (simd && ort) lines.push(`best plain SIMD vs ${ort.kernel} (${ort.gmacs.toFixed(1)} GMAC/s): ${(ort.p50Ms / simd.p50Ms).toFixed(2)}x`);
  if (packed && simd) {
    const d = packed.dsp!;
    lines.push(
      `best packed-DSP ${packed.kernel}: ${packed.gmacs.toFixed(1)} GMAC/s = ${(simd.p50Ms / packed.p50Ms).toFixed(2)}x best plain SIMD; ` +
        `${d.outputsDifferingFromExact} outputs differ from the exact convolution (max ${d.maxOutputError})`,
    );
  }
  if (relaxed && simd) {
    lines.push(`best relaxed SIMD ${relaxed.kernel}: ${relaxed.gmacs.toFixed(1)} GMAC/s = ${(simd.p50Ms / relaxed.p50Ms).toFixed(2)}x best plain SIMD`);
  }
  return lines;
}

export function registerSplitconvCommands(program: Command): void {
  program
    .command('variants')
    .description('list the registered split-convolution kernel variants and whether this engine runs them')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  fkb variants\n  fkb variants --json')
    .action((o: { json?: boolean }) => {
      const modules = loadModules();
      const rows = SPLITCONV_VARIANTS.map((v) => ({
        name: v.name,
        module: v.module,
        strategy: STRATEGIES[v.strategy],
        tile: `${v.mr}x${v.nr}, ${v.cb} channels/step${v.unroll === 2 ? ', unrolled x2' : ''}`,
        weights: `[${v.weightRange.join(', ')}]`,
        here: modules.get(v.module)?.kernel ? 'yes' : `no: ${modules.get(v.module)?.reason}`,
      }));
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      const t = new Table({ head: ['variant', 'module', 'tile', 'weights', 'runs here'], style: { head: [], border: [] } });
      for (const r of rows) t.push([r.name, r.module, r.tile, r.weights, r.here]);
      console.log(t.toString());
    });

  program
    .command('verify')
    .description('check every kernel variant (every module this engine accepts) and onnxruntime-web against the reference')
    .option('--all-layers', 'every layer of the shapes file, not just the reference layer (slow: the reference is plain JS)')
    .option('--shapes <file>', 'a shapes file like bench/shapes/default.json')
    .option('--no-ort', 'skip onnxruntime-web')
    .option('--threads <n>', 'worker threads sharing the checks (results are the same)', positiveInt('--threads'), 1)
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExamples:\n  fkb verify\n  fkb verify --all-layers --no-ort --threads 2\n\nExit code 1 when any output differs.')
    .action(async (o: { allLayers?: boolean; shapes?: string; ort: boolean; threads: number; json?: boolean }) => {
      ensureBuilt();
      const results = await runVerify(layersFrom({ reference: !o.allLayers, shapes: o.shapes }), o.ort, Boolean(o.json), o.threads);
      if (o.json) console.log(JSON.stringify(results, null, 2));
      const failed = results.filter((r) => !r.ok);
      if (failed.length) throw new VerificationError(`${failed.length} of ${results.length} checks failed; first: ${failed[0]!.error}`);
      if (!o.json) console.log(`${results.length} checks, all bit-exact`);
    });

  program
    .command('bench')
    .description('benchmark every kernel variant and onnxruntime-web (tinybench: p50 ± MAD, GMAC/s, speedups)')
    .option('--reference', 'only the reference layer')
    .option('--shapes <file>', 'a shapes file like bench/shapes/default.json')
    .option('--filter <substring...>', 'only variants whose name contains one of these (the scalar baseline always runs)')
    .option('--time <ms>', 'minimum measuring time per kernel and layer', positiveNumber('--time'), 400)
    .addOption(new Option('--mode <mode>', 'requantization mode of the kernels').choices(['fp32', 'gemmlowp', 'single']).default('fp32'))
    .addOption(new Option('--engine <engine>', 'run on Node 24 from npm (relaxed SIMD) instead of this Node').choices(['node24']))
    .option('--no-ort', 'skip onnxruntime-web')
    .option('--threads <n>', 'worker threads measuring layers at the same time (timings then share the machine)', positiveInt('--threads'), 1)
    .option('--json', 'print the report as JSON instead of tables')
    .addHelpText('after', '\nExamples:\n  fkb bench --reference\n  fkb bench --filter dot16x8 --time 200\n  fkb bench --reference --engine node24\n\nWrites bench/results/splitconv-node<major>-<date>.json.')
    .action(async (o: { reference?: boolean; shapes?: string; filter?: string[]; time: number; mode: 'fp32'; engine?: string; ort: boolean; threads: number; json?: boolean }) => {
      if (o.engine === 'node24' && process.versions.node.split('.')[0] !== '24') {
        process.exitCode = reexecOnNode24();
        return;
      }
      ensureBuilt();
      const bar = progressBar(!o.json);
      const report = await benchmarkLayers(layersFrom(o), { timeMs: o.time, mode: o.mode, ort: o.ort, filter: o.filter, threads: o.threads, onTask: bar.update });
      bar.stop();
      report.exhaustive = await benchmarkExhaustive(o.time);
      const file = join(root, 'bench', 'results', `splitconv-node${process.versions.node.split('.')[0]}-${report.date.replace(/[:.]/g, '-')}.json`);
      writeJsonAtomically(file, report);
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else console.log(`${reportTables(report)}\n\n${targetSummary(report).join('\n')}\n\nwrote ${file}`);
    });

  program
    .command('run')
    .description(
      'the main job: build; verify every kernel variant and DSP scheme; benchmark; packed-DSP exactness and the FPGA model on ResNet-18; compress the embedded model; BlazeFace int8 vs float; write report/<date>/report.html',
    )
    .option('--time <ms>', 'minimum measuring time per kernel', positiveNumber('--time'), 400)
    .option('--out <dir>', 'where the report folder goes', 'report')
    .option('--images <n>', 'held-out images (1..1800) the compression settings are measured on', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1800) throw new InputError(`--images must be an integer in [1, 1800], got '${v}'`);
      return n;
    }, 500)
    .option('--json', 'print the benchmark report as JSON')
    .addHelpText('after', '\nExample:\n  fkb run\n  fkb run --time 1000 --out /tmp/reports\n\nExit code 1 when a verification fails (nothing is benchmarked then).')
    .action(async (o: { time: number; out: string; images: number; json?: boolean }) => {
      ensureBuilt();
      const modules = [...loadModules()].map(([n, s]) => `${n}: ${s.kernel ? 'used' : `not used (${s.reason})`}`);
      if (!o.json) console.log(`WASM modules on Node ${process.version}:\n  ${modules.join('\n  ')}\n`);
      const layer = referenceLayer();
      // The reference layer, and every convolution of the embedded model (its own shapes).
      const modelLayers: BenchLayer[] = graphLayers(foldBatchNorm(importOnnxFile(FASHION_MNIST_MODEL)).graph)
        .filter((l) => l.groups === 1)
        .map((l) => ({ name: `fashion-mnist ${l.name}`, shape: l, reference: false }));
      const results = await runVerify([layer, ...modelLayers], true, Boolean(o.json));
      const failed = results.filter((r) => !r.ok);
      if (failed.length) throw new VerificationError(`${failed.length} of ${results.length} checks failed; first: ${failed[0]!.error}`);
      if (!o.json) console.log(`${results.length} checks on ${layer.name} and the ${modelLayers.length} convolutions of the embedded model: all bit-exact\n`);
      const bar = progressBar(!o.json);
      const report = await benchmarkLayers([layer], { timeMs: o.time, onTask: bar.update });
      bar.stop();
      report.exhaustive = await benchmarkExhaustive(Math.min(o.time, 400));
      const file = join(root, 'bench', 'results', `run-node${process.versions.node.split('.')[0]}-${report.date.replace(/[:.]/g, '-')}.json`);
      writeJsonAtomically(file, { verification: results, benchmark: report });
      if (o.json) console.log(JSON.stringify({ verification: results, benchmark: report }, null, 2));
      else console.log(`${reportTables(report)}\n\n${targetSummary(report).join('\n')}\n\nwrote ${file}`);

      // What the FPGA would do with ResNet-18: packed-DSP exactness per layer and model a.
      const net = loadNetwork('resnet18');
      const layers = net.layers.filter((l) => l.groups === 1);
      const dspConv = (['random', 'extremes'] as const).map((operands) => ({
        label: `int8x8, L=16, cascade, ${operands} operands`,
        rows: layers.map((l) =>
          layerExactness(`${net.name}/${l.name}`, schemeProblem(l, 'int8x8', operands, 'gemmlowp', 1), { scheme: 'int8x8', chain: 16, decode: 'cascade' }),
        ),
      }));
      const model = runModel({ arch: 'a', device: 'zcu104', layers: 'resnet18', set: [] });
      const cbar = progressBar(!o.json);
      const compression = compressionResults(o.images, cbar.update);
      cbar.stop();
      if (!o.json) {
        console.log(`\ncompression of the embedded Fashion-MNIST model, top-1 on ${o.images} held-out images:`);
        for (const p of compression.points) console.log(`  ${p.setting.padEnd(40)} ${(100 * p.accuracy).toFixed(2)} %  ${p.sizeBytes} bytes  ${p.macs} MACs`);
      }
      // A detector without labels: BlazeFace int8 on the kernels against float.
      const { intGraph: _, ...quantized } = measureBlazeFace({ backends: ['wasm', 'dsp'] });
      if (!o.json) {
        const s = quantized.scores!;
        console.log(
          `\n${quantized.model} int8 on the WASM kernels, ${quantized.measuredInputs} photos: SQNR ` +
            quantized.outputs.map((x) => `${x.name} ${x.byBackend.wasm!.sqnrDb.toFixed(1)} dB`).join(', ') +
            `; face decision as float on ${s.byBackend.wasm!.decisionAgree} of ${quantized.measuredInputs}`,
        );
      }
      const data = collectReportData({
        run: { verification: results, benchmark: report },
        dspConv,
        model,
        compression,
        quantized,
        title: 'fkb run',
        sources: ['fkb run: verify + bench on the reference layer; dsp conv and model a (ZCU104) on resnet18; fkb compress settings on the embedded model; fkb quantize on BlazeFace'],
      });
      const dir = join(o.out, report.date.replace(/[:.]/g, '-'));
      const written = writeReport(dir, data);
      if (!o.json) console.log(`report: ${written.html}`);
    });
}

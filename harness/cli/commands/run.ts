/** `fkb run` (`npm start`): the main job (harness/pipelines/run.ts), printed, its results saved and its report written. */
import { compressionTable, trainedTable } from '../compression-table.ts';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { CODE_MODES, type CodeMode } from '../../conv/layer.ts';
import { runMainJob } from '../../pipelines/run.ts';
import { writeReport } from '../../report/html.ts';
import { checkSynth, collectReportData, readJsonFile } from '../../report/report-data.ts';
import type { SynthReport } from '../../results/index.ts';
import { assertWritableDir, writeJsonAtomically } from '../../util/files.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { reportTables, targetSummary, verifyTable } from '../kernel-tables.ts';
import { MAX_TIME_MS, RESULTS_DIR, numberIn, positiveNumber, stamp } from '../options.ts';
import { progressBar } from '../progress.ts';

interface RunCliOptions {
  time: number;
  out: string;
  images: number;
  mode: CodeMode;
  synth?: string;
  json?: boolean;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'the main job: build; verify every kernel variant and DSP scheme; benchmark; packed-DSP exactness and the FPGA model on ResNet-18; compress the embedded model; BlazeFace int8 vs float; write report/<date>/report.html',
    )
    .option('--time <ms>', 'minimum measuring time per kernel', positiveNumber('--time', MAX_TIME_MS), 400)
    .option('--out <dir>', 'where the report folder goes', 'report')
    .option('--images <n>', 'held-out images (1..1800) the compression settings are measured on', numberIn('--images', 1, 1800, true), 500)
    .addOption(new Option('--mode <mode>', 'requantization of every step that produces int8 codes').choices(CODE_MODES).default('fp32'))
    .option('--synth <file>', "fkb synth --json output (e.g. fkb synth --grid --json > synth.json): the report's model-vs-Yosys section")
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExample:\n  fkb run\n  fkb run --time 1000 --out /tmp/reports\n  fkb synth --grid --json > synth.json; fkb run --synth synth.json\n\nExit code 1 when a verification fails (nothing is benchmarked then).')
    .action(async (o: RunCliOptions) => {
      // Outputs are checked before the work, not reported as unwritable after it.
      assertWritableDir(o.out);
      assertWritableDir(RESULTS_DIR);
      // Read and checked before the work: a bad file is reported at once.
      const synth = o.synth === undefined ? undefined : checkSynth(readJsonFile<SynthReport>(o.synth, 'fkb synth result'));
      ensureBuilt();
      const bar = progressBar(!o.json);
      const r = await runMainJob({ timeMs: o.time, images: o.images, requantMode: o.mode, onProgress: (step, label, done, total) => bar.update(`${step}: ${label}`, done, total) });
      bar.stop();

      const file = join(RESULTS_DIR, `run-node${process.versions.node.split('.')[0]}-${stamp(r.benchmark.date)}.json`);
      writeJsonAtomically(file, { verification: r.verification, benchmark: r.benchmark });
      const data = collectReportData({
        run: { verification: r.verification, benchmark: r.benchmark },
        dspConv: r.dspExactness.map((d) => ({ label: `${d.operands} operands`, rows: d.rows })),
        fpga: r.fpga,
        compression: r.compression,
        quantized: r.quantized,
        ...(synth ? { synth } : {}),
        title: 'fkb run',
        sources: [...r.sources, ...(o.synth ? [`fkb synth result: ${o.synth}`] : [])],
      });
      const written = writeReport(join(o.out, stamp(r.benchmark.date)), data);
      if (o.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      const modules = r.modules.map((m) => `${m.name}: ${m.used ? 'used' : `not used (${m.reason})`}`);
      console.log(`WASM modules on Node ${process.version}:\n  ${modules.join('\n  ')}\n`);
      console.log(verifyTable(r.verification));
      console.log(`${r.verification.length} checks on ${r.verifiedLayers.length} layers (the reference layer and the embedded model's ${r.verifiedLayers.length - 1} convolutions): all bit-exact\n`);
      console.log(`${reportTables(r.benchmark)}\n\n${targetSummary(r.benchmark).join('\n')}\n\nwrote ${file}`);
      console.log(`\ncompression of the embedded Fashion-MNIST model, top-1 on ${o.images} held-out images (${r.compression.dataset}):`);
      console.log(compressionTable(r.compression.points));
      if (r.compression.trained?.length) console.log(`\ntrained low-precision models (committed; fkb train's record and check):\n${trainedTable(r.compression.trained)}`);
      const q = r.quantized;
      console.log(
        `\n${q.model} int8 on the WASM kernels, ${q.measuredInputs} photos: SQNR ` +
          q.outputs.map((x) => `${x.name} ${x.byBackend.wasm!.sqnrDb.toFixed(1)} dB`).join(', ') +
          `; face decision as float on ${q.scores!.byBackend.wasm!.decisionAgree} of ${q.measuredInputs}`,
      );
      console.log(`\ntime per step: ${r.stepMs.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`).join(', ')}`);
      console.log(`report: ${written.html}`);
    });
}

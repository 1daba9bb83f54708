/** `fkb bench`: tinybench over every kernel variant and onnxruntime-web on the layers of a shapes file. */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { benchmarkExhaustive, benchmarkLayers } from '../../bench/bench-kernels.ts';
import { measurePeaks, withPeaks } from '../../bench/peak.ts';
import { loadBenchLayers, referenceLayer } from '../../bench/shapes.ts';
import { CODE_MODES, type CodeMode } from '../../conv/layer.ts';
import { assertWritableDir, writeJsonAtomically } from '../../util/files.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { reexecOnNode24 } from '../engines.ts';
import { peakTable, reportTables, targetSummary } from '../kernel-tables.ts';
import { MAX_THREADS, MAX_TIME_MS, RESULTS_DIR, positiveInt, positiveNumber, stamp } from '../options.ts';
import { MAX_POOL_THREADS } from '../../threads/protocol.ts';
import { progressBar } from '../progress.ts';
import { benchThreadsInLayer } from '../threads-bench.ts';

/** XNNPACK threads of LiteRT.js: the threaded build's pool is small, and this machine has 2 cores. */
const MAX_LITERT_THREADS = 8;

interface BenchCliOptions {
  reference?: boolean;
  shapes?: string;
  filter?: string[];
  time: number;
  mode: CodeMode;
  engine?: string;
  ort: boolean;
  litert?: true | string;
  threads: number;
  json?: boolean;
  threadsInLayer?: number;
  peak?: boolean;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmark every kernel variant and onnxruntime-web (tinybench: p50 ± MAD, GMAC/s, speedups)')
    .option('--reference', 'only the reference layer')
    .option('--shapes <file>', 'a shapes file like bench/shapes/default.json')
    .option('--filter <substring...>', 'only variants whose name contains one of these (the scalar baseline always runs)')
    .option('--time <ms>', 'minimum measuring time per kernel and layer', positiveNumber('--time', MAX_TIME_MS), 400)
    .addOption(new Option('--mode <mode>', 'requantization mode of the kernels').choices(CODE_MODES).default('fp32'))
    .addOption(new Option('--engine <engine>', 'run on Node 24 from npm (relaxed SIMD) instead of this Node').choices(['node24']))
    .option('--no-ort', 'skip onnxruntime-web')
    .option('--litert [threads]', 'also LiteRT.js (XNNPACK) as a .tflite CONV_2D, checked bit-exact first; threads as a list, e.g. 1,2 (above 1 needs relaxed SIMD: --engine node24)')
    .option('--threads <n>', 'worker threads measuring layers at the same time (timings then share the machine)', positiveInt('--threads', MAX_THREADS), 1)
    .option('--json', 'print the report as JSON instead of tables')
    .option('--threads-in-layer <n>', 'instead: every variant on 1 and on n threads inside each layer (WebAssembly threads, shared memory), side by side; outputs checked equal first', positiveInt('--threads-in-layer', MAX_POOL_THREADS))
    .option('--peak', 'only the peak MAC rate of each instruction path (weights in registers; all operands loaded): GMAC/s p50 ± MAD; without it the kernel tables show each kernel as % of it')
    .addHelpText('after', '\nExamples:\n  fkb bench --reference\n  fkb bench --peak --engine node24\n  fkb bench --filter dot16x8 --time 200\n  fkb bench --reference --engine node24\n  fkb bench --reference --litert 1,2 --engine node24\n  fkb bench --reference --threads-in-layer 2 (writes threads-node<major>-<date>.json)\n\nWrites bench/results/splitconv-node<major>-<date>.json.')
    .action(async (o: BenchCliOptions) => {
      if (o.engine === 'node24' && process.versions.node.split('.')[0] !== '24') {
        process.exitCode = reexecOnNode24();
        return;
      }
      assertWritableDir(RESULTS_DIR);
      ensureBuilt();
      if (o.threadsInLayer !== undefined) {
        await benchThreadsInLayer(o.reference ? [referenceLayer(o.shapes)] : loadBenchLayers(o.shapes), { ...o, threadsInLayer: o.threadsInLayer });
        return;
      }
      if (o.peak) {
        const peaks = measurePeaks({ timeMs: o.time });
        console.log(o.json ? JSON.stringify(peaks, null, 2) : peakTable(peaks));
        return;
      }
      const layers = o.reference ? [referenceLayer(o.shapes)] : loadBenchLayers(o.shapes);
      const bar = progressBar(!o.json);
      const litertThreads = o.litert === undefined ? [] : o.litert === true ? [1] : [...new Set(o.litert.split(',').map((v) => positiveInt('--litert', MAX_LITERT_THREADS)(v.trim())))];
      const report = await benchmarkLayers(layers, { timeMs: o.time, mode: o.mode, ort: o.ort, litertThreads, filter: o.filter, threads: o.threads, onTask: bar.update });
      bar.stop();
      withPeaks(report, measurePeaks({ timeMs: o.time }));
      report.exhaustive = await benchmarkExhaustive(o.time);
      const file = join(RESULTS_DIR, `splitconv-node${process.versions.node.split('.')[0]}-${stamp(report.date)}.json`);
      writeJsonAtomically(file, report);
      if (o.json) console.log(JSON.stringify(report, null, 2));
      else console.log(`${reportTables(report)}\n\n${targetSummary(report).join('\n')}\n\nwrote ${file}`);
    });
}

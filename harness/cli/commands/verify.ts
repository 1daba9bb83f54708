/** `fkb verify`: every kernel variant (every module this engine accepts) and onnxruntime-web against the reference. */
import type { Command } from 'commander';
import { loadBenchLayers, referenceLayer } from '../../bench/shapes.ts';
import { VerificationError } from '../../util/errors.ts';
import { verifyLayers } from '../../verify/verify-kernels.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { verifyTable } from '../kernel-tables.ts';
import { MAX_THREADS, positiveInt } from '../options.ts';
import { progressBar } from '../progress.ts';

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check every kernel variant (every module this engine accepts) and onnxruntime-web against the reference')
    .option('--all-layers', 'every layer of the shapes file, not just the reference layer (slow: the reference is plain JS)')
    .option('--shapes <file>', 'every layer of this shapes file (like bench/shapes/default.json; implies --all-layers)')
    .option('--no-ort', 'skip onnxruntime-web')
    .option('--threads <n>', 'worker threads sharing the checks (results are the same)', positiveInt('--threads', MAX_THREADS), 1)
    .option('--json', 'print the results as JSON')
    .addHelpText('after', [
      '',
      'Without --all-layers or --shapes, only the reference layer of bench/shapes/default.json.',
      'A shapes file given with --shapes is read and validated in full, and all its layers are verified.',
      '',
      'Examples:',
      '  fkb verify',
      '  fkb verify --all-layers --no-ort --threads 2',
      '  fkb verify --shapes my-shapes.json',
      '',
      'Exit code 1 when any output differs, 2 for a bad option or shapes file.',
    ].join('\n'))
    .action(async (o: { allLayers?: boolean; shapes?: string; ort: boolean; threads: number; json?: boolean }) => {
      // Read the shapes before building: a bad file is reported at once.
      const layers = o.allLayers || o.shapes !== undefined ? loadBenchLayers(o.shapes) : [referenceLayer()];
      ensureBuilt();
      const bar = progressBar(!o.json);
      const results = await verifyLayers(layers, { ort: o.ort, threads: o.threads, onStep: bar.update });
      bar.stop();
      console.log(o.json ? JSON.stringify(results, null, 2) : verifyTable(results));
      const failed = results.filter((r) => !r.ok);
      if (failed.length) throw new VerificationError(`${failed.length} of ${results.length} checks failed; first: ${failed[0]!.error}`);
      if (!o.json) console.log(`${results.length} checks, all bit-exact`);
    });
}

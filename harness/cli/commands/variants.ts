/** `fkb variants`: the registered kernel variants of both families and whether this engine runs them. */
import type { Command } from 'commander';
import Table from 'cli-table3';
import { DSPCONV_VARIANTS, type DspConvVariant } from '../../registry/dspconv.ts';
import { SPLITCONV_VARIANTS, STRATEGIES, type SplitConvVariant } from '../../registry/splitconv.ts';
import { loadModules, variantRefusal } from '../../wasm/modules.ts';

export function registerVariantsCommand(program: Command): void {
  program
    .command('variants')
    .description('list the registered kernel variants (split convolution and packed DSP) and whether this engine runs them')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  fkb variants\n  fkb variants --json')
    .action((o: { json?: boolean }) => {
      const modules = loadModules();
      const here = (v: SplitConvVariant | DspConvVariant) => {
        const s = modules.get(v.module);
        const why = s?.kernel ? variantRefusal(v, s) : (s?.reason ?? 'not loaded');
        return why ? `no: ${why}` : 'yes';
      };
      const rows = [
        ...SPLITCONV_VARIANTS.map((v) => ({
          name: v.name,
          family: 'split convolution',
          module: v.module,
          strategy: STRATEGIES[v.strategy],
          tile: `${v.mr}x${v.nr}, ${v.cb} channels/step${v.unroll === 2 ? ', unrolled x2' : ''}`,
          weights: `[${v.weightRange.join(', ')}]`,
          here: here(v),
        })),
        ...DSPCONV_VARIANTS.map((v) => ({
          name: v.name,
          family: 'packed DSP',
          module: v.module,
          strategy: v.description,
          tile: `${v.mr}x${v.nr}, ${v.cb} channels/step, schemes ${v.schemes.join(' ')}`,
          weights: `[${v.weightRange.join(', ')}]`,
          here: here(v),
        })),
      ];
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      const t = new Table({ head: ['variant', 'module', 'tile', 'weights', 'runs here'], style: { head: [], border: [] } });
      for (const r of rows) t.push([r.name, r.module, r.tile, r.weights, r.here]);
      console.log(t.toString());
    });
}

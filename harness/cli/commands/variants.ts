/** `fkb variants`: the registered split-convolution variants and whether this engine runs them. */
import type { Command } from 'commander';
import Table from 'cli-table3';
import { SPLITCONV_VARIANTS, STRATEGIES } from '../../registry/splitconv.ts';
import { loadModules } from '../../wasm/modules.ts';

export function registerVariantsCommand(program: Command): void {
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
}

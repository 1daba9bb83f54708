/**
 * `fkb bench --threads-in-layer N`: every variant on 1 and on N threads inside each layer
 * (harness/bench/bench-threads.ts), its terminal table and its JSON in bench/results/.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { type ThreadsReport, benchmarkThreadsInLayer } from '../bench/bench-threads.ts';
import type { BenchLayer } from '../bench/shapes.ts';
import type { CodeMode } from '../conv/layer.ts';
import { ThreadPools } from '../threads/mt-modules.ts';
import { nodeHost } from '../threads/node-host.ts';
import { writeJsonAtomically } from '../util/files.ts';
import { machineInfo } from '../bench/bench-kernels.ts';
import { RESULTS_DIR, stamp } from './options.ts';
import { progressBar } from './progress.ts';

const pm = (p50: number, mad: number) => `${p50.toFixed(3)} ± ${mad.toFixed(3)}`;

export function threadsTable(r: ThreadsReport): string {
  const out: string[] = [];
  for (const layer of [...new Set(r.rows.map((x) => x.layer))]) {
    const rows = r.rows.filter((x) => x.layer === layer);
    const t = new Table({
      head: ['kernel', 'module', '1 thread p50 ± MAD (ms)', 'GMAC/s', `${r.threads} threads p50 ± MAD (ms)`, 'GMAC/s', 'ratio', 'n'],
      colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
      style: { head: [], border: [] },
    });
    for (const x of [...rows].sort((a, b) => a.many.p50Ms - b.many.p50Ms)) {
      const kernel = x.dsp ? `${x.variant} (${x.dsp.scheme}, L=${x.dsp.chain}, ${x.dsp.decode})` : x.variant;
      t.push([kernel, x.module, pm(x.one.p50Ms, x.one.madMs), x.one.gmacs.toFixed(2), pm(x.many.p50Ms, x.many.madMs), x.many.gmacs.toFixed(2), `${x.speedup.toFixed(2)}x`, `${x.one.samples}/${x.many.samples}`]);
    }
    out.push(`${layer}: ${rows[0]!.shape}, mode ${r.mode}, outputs on ${r.threads} threads = 1 thread byte for byte\n${t.toString()}`);
  }
  for (const s of r.skipped) out.push(`skipped ${s.variant}: ${s.reason}`);
  return out.join('\n\n');
}

export async function benchThreadsInLayer(
  layers: BenchLayer[],
  o: { threadsInLayer: number; time: number; mode: CodeMode; filter?: string[]; json?: boolean },
): Promise<void> {
  const pools = new ThreadPools(o.threadsInLayer, nodeHost, '--threads-in-layer');
  const bar = progressBar(!o.json);
  try {
    const before = loadavg()[0]!;
    const report = await benchmarkThreadsInLayer(layers, { threads: o.threadsInLayer, pools, timeMs: o.time, mode: o.mode, filter: o.filter, onTask: bar.update });
    bar.stop();
    const date = new Date();
    const load = { before, after: loadavg()[0]! };
    const full = { date: date.toISOString(), machine: machineInfo(), loadAverage1m: load, ...report };
    const file = join(RESULTS_DIR, `threads-node${process.versions.node.split('.')[0]}-${stamp(date.toISOString())}.json`);
    writeJsonAtomically(file, full);
    if (o.json) console.log(JSON.stringify(full, null, 2));
    else console.log(`${threadsTable(report)}\n\n${full.machine.node}, 1-minute load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after\nwrote ${file}`);
  } finally {
    bar.stop();
    await pools.close();
  }
}

/** The machine the benchmark ran on, and the options it ran with. */
import { type ReportData } from '../../results/index.ts';
import { table } from './parts.ts';

export function machineSection(data: ReportData): string {
  const b = data.benchmark;
  const m = b.machine;
  const o = b.options as Partial<typeof b.options>;
  const rows: [string, string][] = [
    ['CPU', `${m.cpu}, ${m.cores} cores, AVX-VNNI ${m.avxVnni ? 'yes' : 'no'}`],
    ['Node / V8', `${m.node} / ${m.v8}`],
    ['benchmark date', b.date],
    ['requantization', String(o.mode ?? '–')],
    ['measuring time per task', `${o.timeMs ?? '–'} ms, at least ${o.minIterations ?? '–'} iterations, seed ${o.seed ?? '–'}`],
    ...(typeof (o as { threads?: unknown }).threads === 'number' ? [['worker threads', String((o as { threads: number }).threads)] as [string, string]] : []),
    ['onnxruntime-web', o.ort ? 'measured' : 'not measured in this run'],
    ['packed-DSP engine', o.dsp ? `${o.dsp.scheme}, chain ${o.dsp.chain}, decode per ${o.dsp.decode}` : '–'],
    ...b.modules.map((x): [string, string] => [`module ${x.name}`, x.used ? 'used' : `not used: ${x.reason ?? ''}`]),
  ];
  return table(rows, [
    { head: 'property', cell: (r) => r[0] },
    { head: 'value', cell: (r) => r[1] },
  ]);
}

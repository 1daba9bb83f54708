/**
 * Produces an HTML report from fresh data, for looking at it by hand:
 *
 *   npx tsx scripts/write-sample-report.ts                  # fkb run (verify + bench with ORT), ~1 min
 *   npx tsx scripts/write-sample-report.ts --quick          # fkb bench --reference --no-ort --time 100
 *   npx tsx scripts/write-sample-report.ts --out report/x --compression results.json
 *
 * Also runs `fkb dsp conv` on ResNet-18 (int8x8 with random and with extreme operands, int4)
 * and `fkb model --arch a --device zcu104 --layers resnet18`. Writes <out>/report.html and
 * <out>/report.json (default out: report/sample, git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeReport } from '../harness/report/html.ts';
import { type ReportInputs, type RunOutput, collectReportData } from '../harness/report/report-data.ts';
import { fpgaSection } from '../harness/fpga/compare.ts';
import type { BenchReport, ModelReport } from '../harness/results/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'report', 'sample') },
    quick: { type: 'boolean', default: false },
    time: { type: 'string', default: '200' },
    compression: { type: 'string' },
    network: { type: 'string', default: 'resnet18' },
    device: { type: 'string', default: 'zcu104' },
  },
});

/** Runs `fkb <args>` and parses its JSON output; a failure ends the script with its stderr. */
function fkb<T>(args: string[]): T {
  const line = `fkb ${args.join(' ')}`;
  process.stderr.write(`running ${line}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'fkb.js'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`${line} exited with ${r.status ?? r.signal}`);
  }
  sources.push(line);
  return JSON.parse(r.stdout) as T;
}

const sources: string[] = [];
const inputs: ReportInputs = { title: `fpga-kernel-bench sample report${values.quick ? ' (quick)' : ''}` };
if (values.quick) inputs.bench = fkb(['bench', '--reference', '--no-ort', '--time', '100', '--json']);
else inputs.run = fkb(['run', '--json', '--time', values.time]);
const net = values.network;
inputs.dspConv = [
  { label: 'random operands', rows: fkb(['dsp', 'conv', '--json', '--layers', net]) },
  { label: 'extreme operands', rows: fkb(['dsp', 'conv', '--json', '--layers', net, '--operands', 'extremes']) },
  { label: 'random operands', rows: fkb(['dsp', 'conv', '--json', '--layers', net, '--scheme', 'int4']) },
];
const benchmark = (inputs.bench ?? (inputs.run as RunOutput).benchmark) as BenchReport;
inputs.fpga = fpgaSection(fkb<ModelReport>(['model', '--arch', 'a', '--device', values.device, '--layers', net, '--json']), benchmark);
if (values.compression) inputs.compression = resolve(values.compression);
inputs.sources = sources;

const files = writeReport(resolve(values.out), collectReportData(inputs));
console.log(`wrote ${files.html}\n      ${files.json}`);

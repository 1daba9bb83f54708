/**
 * Every command fed malformed input: exit code 2, a message naming what was wrong, and no stack
 * trace. Exit 1 is reserved for a failed verification and 3 for a bug, so neither may appear.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'fkb-bad-input-'));
const file = (name: string, text: string) => {
  writeFileSync(join(work, name), text);
  return join(work, name);
};
const dir = join(work, 'a-directory');
mkdirSync(dir);
const notJson = file('not.json', '{"layers": [');
const emptyCsv = file('empty.csv', '');

/** [arguments, a pattern the message must match] */
const CASES: [string[], RegExp][] = [
  [['nosuch'], /unknown command/],
  [['verify', '--nosuch'], /unknown option/],
  [['verify', '--threads', '0'], /--threads/],
  [['verify', '--threads', 'x'], /--threads/],
  [['bench', '--time', '0'], /--time/],
  [['bench', '--time', ''], /--time/],
  [['bench', '--time', '1e308'], /--time/],
  [['bench', '--mode', 'raw'], /--mode/],
  [['bench', '--engine', 'node18'], /--engine/],
  [['bench', '--threads', '1000'], /--threads/],
  [['bench', '--reference', '--filter', 'scalar', '--no-ort', '--time', '5'], /--filter scalar matches no SIMD variant/],
  [['run', '--images', '0'], /--images/],
  [['run', '--images', '1801'], /--images/],
  [['run', '--mode', 'raw'], /--mode/],
  [['dsp', 'replay', join(work, 'missing.csv')], /missing\.csv/],
  [['dsp', 'replay', emptyCsv], /empty\.csv/],
  [['dsp', 'exhaustive', '--scheme', 'int9'], /--scheme/],
  [['dsp', 'bound', '--chain', '0'], /--chain/],
  [['dsp', 'conv', '--chain', '0'], /--chain/],
  [['dsp', 'conv', '--layers', 'nosuchnet'], /nosuchnet/],
  [['dsp', 'conv', '--decode', 'never'], /--decode/],
  [['model', '--arch', 'z', '--layers', 'resnet18'], /--arch/],
  [['model', '--arch', 'a', '--device', '', '--layers', 'resnet18'], /device name is empty/],
  [['model', '--arch', 'a', '--device', 'x', '--layers', 'resnet18'], /ambiguous/],
  [['model', '--arch', 'a', '--set', 'constructor=1', '--layers', 'resnet18'], /unknown parameter 'constructor'/],
  [['model', '--arch', 'a', '--set', '__proto__=1', '--layers', 'resnet18'], /unknown parameter '__proto__'/],
  [['model', '--arch', 'a', '--set', 'L', '--layers', 'resnet18'], /key=value/],
  [['model', '--arch', 'a', '--clock-mhz', '1e-300', '--layers', 'resnet18'], /--clock-mhz/],
  [['model', '--arch', 'a', '--clock-mhz', '', '--layers', 'resnet18'], /--clock-mhz/],
  [['model', '--arch', 'a', '--layers', notJson], /not\.json/],
  [['model', '--arch', 'a', '--layers', dir], /a-directory/],
  [['model', '--arch', 'b', '--layers', 'resnet18', '--simulate'], /--simulate/],
  [['sweep', '--arch', 'b', '--device', 'zcu104', '--network', 'vgg16', '--threads', '0'], /--threads/],
  [['sweep', '--arch', 'b', '--device', 'zcu104', '--network', 'vgg16', '--threads', '1000'], /--threads/],
  [['sweep', '--arch', 'b', '--device', 'zcu104', '--network', 'vgg16', '--front', 'constructor'], /--front/],
  [['sweep', '--arch', 'b', '--device', 'zcu104', '--network', 'vgg16', '--range', 'Tm=9..1'], /--range/],
  [['sweep', '--arch', 'b', '--device', 'zcu104', '--network', 'vgg16', '--range', 'toString=1'], /toString/],
  [['sweep', '--arch', 'b', '--device', 'zcu104', '--network', 'vgg16', '--limit', '-1'], /--limit/],
  [['compare', '--bench', join(work, 'missing.json'), '--arch', 'a', '--device', 'zcu104'], /missing\.json/],
  [['compare', '--bench', notJson, '--arch', 'a', '--device', 'zcu104'], /not\.json/],
  [['compress', '--ratio', ''], /--ratio/],
  [['compress', '--bits', '9'], /--bits/],
  [['compress', '--layer-bits', 'conv1'], /--layer-bits/],
  [['compress', '--layer-bits', '__proto__=4', '--images', '10'], /__proto__/],
  [['compress', '--images', '0'], /--images/],
  [['compress', '--layer-ratio', '/conv1/Conv=1.5'], /--layer-ratio/],
  [['compress', '--layer-abits', '/nosuch/Conv=4', '--images', '10'], /--layer-abits: no convolution named/],
  [['compress', '--engine', 'Po'], /--engine expects key=value/],
  [['compress', '--engine', 'Po=100000', '--images', '10'], /Po=100000 exceeds its maximum/],
  [['compress', '--engine', 'Po=4096', '--images', '10'], /DSP/],
  [['search', '--budget', '0'], /--budget/],
  [['search', '--prune-levels', '0,1.5'], /--prune-levels/],
  [['search', '--device', 'nosuch'], /unknown device 'nosuch'/],
  [['search', '--resume', '--db', join(work, 'missing.sqlite')], /missing\.sqlite does not exist/],
  [['search', '--db', notJson], /not\.json: not a search store/],
  [['compress', '--calibration', 'median'], /--calibration/],
  [['compress', '--model', join(work, 'missing.onnx')], /missing\.onnx/],
  [['compress', '--model', notJson], /not\.json/],
  [['quantize', '--input-range', '1'], /--input-range/],
  [['quantize', '--backends', 'gpu'], /--backends/],
  [['quantize', '--ratio', ''], /--ratio/],
  [['quantize', '--model', join(work, 'missing.onnx'), '--inputs', emptyCsv], /missing\.onnx/],
  [['compress', '--out', dir], /a-directory: it is a directory/],
  [['quantize', '--onnx', dir], /a-directory: it is a directory/],
  [['run', '--out', notJson], /not\.json: it exists and is not a directory/],
  [['serve', '--port', '-1'], /--port/],
  [['serve', '--port', 'x'], /--port/],
];

interface Run {
  code: number | null;
  out: string;
}

function fkb(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'fkb.js'), ...args], { cwd: work, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Runs every case, `parallel` processes at a time, results in case order. */
async function runAll(parallel: number): Promise<Run[]> {
  const results: Run[] = new Array(CASES.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < CASES.length) {
        const i = next++;
        results[i] = await fkb(CASES[i]![0]);
      }
    }),
  );
  return results;
}

test(`${CASES.length} malformed command lines: exit 2, the problem named, no stack trace`, async () => {
  const results = await runAll(3);
  const wrong: string[] = [];
  CASES.forEach(([args, want], i) => {
    const r = results[i]!;
    const problems = [
      r.code !== 2 && `exit ${r.code}`,
      /\n\s+at .+:\d+:\d+\)?/.test(r.out) && 'a stack trace',
      !want.test(r.out) && `no match for ${want}`,
    ].filter(Boolean);
    if (problems.length) wrong.push(`fkb ${args.map((a) => JSON.stringify(a)).join(' ')}: ${problems.join(', ')}\n    ${r.out.trim().split('\n').slice(0, 3).join('\n    ')}`);
  });
  assert.is(wrong.length, 0, `\n${wrong.join('\n')}`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();

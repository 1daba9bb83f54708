/**
 * `fkb model` (harness/cli/commands/model.ts): the report behind the command, its table and
 * JSON output, and InputError on bad input (the CLI maps it to exit code 2).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatReport, registerModelCommand } from '../harness/cli/commands/model.ts';
import { parseSettings, runModel } from '../harness/fpga/network.ts';
import { getDevice } from '../harness/fpga/devices.ts';
import { MODELS, modelEvaluator } from '../harness/fpga/models/index.ts';
import { loadNetwork } from '../harness/networks/index.ts';
import { InputError } from '../harness/util/errors.ts';

async function cli(args: string[]): Promise<string> {
  const program = new Command('fkb').exitOverride();
  registerModelCommand(program);
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'fkb', ...args]);
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

test('parseSettings: key=value pairs, last one wins, malformed rejected', () => {
  assert.equal(parseSettings(['L=16', 'Po = 4', 'L=8']), { L: '8', Po: '4' });
  for (const bad of ['L', '=4', 'L=', '1x=2']) {
    assert.throws(() => parseSettings([bad]), (e: unknown) => e instanceof InputError && /key=value/.test((e as Error).message));
  }
});

test('runModel totals equal the sum over the per-layer model evaluations', () => {
  const r = runModel({ arch: 'a', set: ['Po=8'], device: 'zcu102', clockMhz: '250', layers: 'resnet18' });
  const ev = modelEvaluator(MODELS.a, { Po: 8 }, getDevice('zcu102'), 250);
  const cycles = loadNetwork('resnet18').layers.reduce((a, l) => a + ev.evaluate(l).cycles, 0);
  assert.is(r.totals.cycles, cycles);
  assert.is(r.totals.timeNs, (cycles * 1e3) / 250);
  assert.is(r.layers.length, 21);
  assert.is(r.params['Po'], 8);
  assert.is(r.totals.resources, 'max');
});

test('clock defaults to the device typical clock; FINN reports pipelined throughput', () => {
  const r = runModel({ arch: 'finn', set: ['PE=2'], device: 'u250', layers: 'mobilenet-v1' });
  assert.is(r.clockMHz, getDevice('u250').typicalClockMHz);
  const slowest = Math.max(...r.layers.map((e) => e.computeCycles));
  assert.is(r.totals.cycles, slowest);
  assert.is(r.totals.fps, (r.clockMHz * 1e6) / slowest);
  assert.is(r.totals.resources, 'sum');
  assert.match(formatReport(r), /pipelined \(FINN\)/);
});

test('fkb model prints a table with one row per layer and a total, or JSON', async () => {
  const text = await cli(['model', '--arch', 'dpu', '--set', 'arch=B1024', '--device', 'ultra96', '--layers', 'alexnet']);
  for (const name of ['conv1', 'conv5', 'fc8', 'total']) assert.match(text, new RegExp(`│ ${name}\\s`));
  assert.match(text, /model d \(dpu\) on xczu3eg \(Ultra96\) at 200 MHz, network alexnet/);
  const json = JSON.parse(await cli(['model', '--arch', 'e', '--layers', 'vgg16', '--json'])) as { layers: unknown[]; totals: { cycles: number } };
  assert.is(json.layers.length, 16);
  assert.ok(json.totals.cycles > 0);
});

test('fkb model reads CSV layer tables', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-model-'));
  const f = join(dir, 'tiny.csv');
  writeFileSync(f, 'name,in_h,in_w,in_c,out_c,k_h,k_w,stride_h,stride_w,pad_top,pad_bottom,pad_left,pad_right,w_bits,a_bits\nc,4,4,16,16,3,3,1,1,1,1,1,1,8,8\n');
  const r = runModel({ arch: 'a', set: ['L=16', 'Po=4'], device: 'zcu102', layers: f });
  assert.is(r.layers[0]!.computeCycles, 308); // the hand-computed case of test/fpga-models.test.ts
});

test('bad input is an InputError naming what is wrong', () => {
  const cases: [Parameters<typeof runModel>[0], RegExp][] = [
    [{ arch: 'z', device: 'zcu102', layers: 'vgg16' }, /--arch must be one of/],
    [{ arch: 'a', device: 'nope', layers: 'vgg16' }, /unknown device 'nope'/],
    [{ arch: 'a', device: 'zcu102', layers: 'vgg16', clockMhz: '-1' }, /--clock-mhz/],
    [{ arch: 'a', device: 'zcu102', layers: 'lenet' }, /neither a built-in network/],
    [{ arch: 'a', set: ['Q=1'], device: 'zcu102', layers: 'vgg16' }, /unknown parameter 'Q'/],
    [{ arch: 'c', device: 'zcu102', layers: 'alexnet' }, /layer conv2: FINN model: groups=2/],
    [{ arch: 'a', set: ['L=64', 'Po=16'], device: 'pynq-z2', layers: 'vgg16' }, /layer conv1_1: Pp\*Po\*L .* 220 DSP slices/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(() => runModel(opts), (e: unknown) => e instanceof InputError && re.test((e as Error).message), re.source);
  }
});

test('fkb model --simulate: the cycle-level simulator agrees with model a on each small layer; large ones are skipped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fkb-sim-'));
  const csv = join(dir, 'layers.csv');
  writeFileSync(csv, [
    'name,in_h,in_w,in_c,out_c,k_h,k_w,stride_h,stride_w,pad_top,pad_bottom,pad_left,pad_right,w_bits,a_bits',
    'c1,8,8,16,16,3,3,1,1,1,1,1,1,8,8',
    'c2,7,9,24,20,3,3,2,1,1,1,0,1,8,8',
    'big,56,56,64,64,3,3,1,1,1,1,1,1,8,8',
  ].join('\n'));
  const out = JSON.parse(await cli(['model', '--arch', 'a', '--layers', csv, '--set', 'L=4', '--set', 'Po=3', '--simulate', '--json']));
  const [c1, c2, big] = out.simulated;
  for (const s of [c1, c2]) {
    assert.ok(s.cycles.agree, JSON.stringify(s.cycles));
    assert.is(s.cycles.simulated, out.layers.find((l: { name: string }) => l.name === s.layer).computeCycles);
  }
  assert.match(big.skipped, /exceed the simulation limit of 500000 \(raise it with --max-dsp-ops\)/);
  let message = '';
  try {
    await cli(['model', '--arch', 'b', '--layers', csv, '--simulate']);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /--simulate runs the cycle-level simulator of model a/);
});

test.run();

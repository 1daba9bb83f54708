/**
 * `fkb dsp conv`: the per-layer exactness report, through the real command line.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

function fkb(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/fkb.js', 'dsp', 'conv', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('within the bound every output is exact, even with extreme operands (--strict passes)', () => {
  const r = fkb('--chain', '7', '--operands', 'extremes', '--strict', '--json');
  assert.is(r.code, 0, r.err);
  const [row] = JSON.parse(r.out);
  assert.is(row.productsPerDecode, 7);
  assert.is(row.bound, 7);
  assert.is(row.safeInWorstCase, true);
  assert.is(row.outputsDiffering, 0);
  assert.is(row.accumulatorsDiffering, 0);
});

test('past the bound extreme operands corrupt outputs; --strict exits 1 and the report names one', () => {
  const r = fkb('--decode', 'window', '--operands', 'extremes', '--json');
  assert.is(r.code, 0, r.err);
  const [row] = JSON.parse(r.out);
  assert.is(row.productsPerDecode, 64 * 9);
  assert.ok(row.outputsDiffering > 0 && row.maxOutputError > 0, JSON.stringify(row));
  assert.ok(row.firstDifference && row.firstDifference.got !== row.firstDifference.want);
  const strict = fkb('--decode', 'window', '--operands', 'extremes', '--strict');
  assert.is(strict.code, 1);
  assert.match(strict.err, /1 of 1 layers have outputs that differ/);
});

test('the table names the layer, the products per P and the bound', () => {
  const r = fkb('--scheme', 'int4');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /int4, cascade of 16, decode per cascade/);
  assert.match(r.out, /reference 56x56x64->64 k3 s1 p1 +│ +16 │ +8 │ can corrupt/);
});

test('bad options exit 2 naming the option', () => {
  for (const [args, re] of [
    [['--scheme', 'int9'], /option '--scheme <scheme>' argument 'int9' is invalid/],
    [['--chain', '0'], /--chain must be a positive integer, got '0'/],
    [['--layers', 'nosuchnet'], /nosuchnet/],
    [['--decode', 'never'], /option '--decode <point>' argument 'never' is invalid/],
  ] as const) {
    const r = fkb(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
});

test.run();

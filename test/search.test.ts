/**
 * fkb search: the space decodes within the device, the store's writes are idempotent and a
 * resume with other settings is refused, hypervolumes are exact, the same seed gives the same
 * front on 1 and 2 threads, a search killed by SIGKILL resumes without evaluating a stored
 * candidate again and ends on the same front, and a front point's printed `fkb compress` command
 * reproduces its held-out top-1.
 *
 * Kept small: no pruning (--prune-levels 0, so each worker calibrates once), 40 search images,
 * 20 held-out images, 6 candidates per strategy.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FASHION_MNIST_MODEL } from '../harness/model/fashion-mnist.ts';
import { importOnnxFile } from '../harness/model/onnx-import.ts';
import { hypervolume } from '../harness/search/objectives.ts';
import { type SearchResult, runSearch } from '../harness/search/search.ts';
import { buildSpace, canonical, compressCommand, decode, encode, referenceCandidate } from '../harness/search/space.ts';
import { SearchStore } from '../harness/search/store.ts';
import { Rng } from '../harness/util/rng.ts';
import { searchReportHtml } from '../harness/report/search-page.ts';
import { ensureBuilt } from '../harness/wasm/build.ts';
import { throwsInput } from './helpers.ts';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'fkb-search-'));
const SMALL = ['--strategy', 'both', '--budget', '6', '--lambda', '1', '--prune-levels', '0', '--search-images', '40', '--final-images', '20', '--no-hand-picked', '--seed', '7'];
const small = { strategies: ['es', 'ddpg'] as const, budget: 6, lambda: 1, ratios: [0], searchImages: 40, finalImages: 20, handPicked: false, seed: 7 };
const frontOf = (r: SearchResult) => r.front.map((p) => ({ key: p.key, search: p.search, heldOut: p.heldOut }));

test('space: decode keeps every engine within the DSPs, encode inverts decode, canonical text is stable', () => {
  const space = buildSpace(importOnnxFile(FASHION_MNIST_MODEL), { device: 'ultra96' });
  assert.is(space.layers.filter((l) => l.prunable).length, 4, 'conv1..conv4 prunable, the classifier protected');
  const rng = new Rng(3);
  for (let i = 0; i < 500; i++) {
    const c = decode(space, Float64Array.from({ length: space.dim }, () => rng.next()));
    assert.ok(c.engine.L * c.engine.Po * c.engine.Pp <= space.deviceDsp, JSON.stringify(c.engine));
    assert.is(canonical(space, decode(space, encode(space, c))), canonical(space, c));
  }
  const ref = referenceCandidate(space);
  assert.equal(decode(space, encode(space, ref)).engine, { L: 16, Po: 8, Pp: 1 });
  assert.match(compressCommand({ ...ref, ratio: { '/conv2/Conv': 0.3 } }, { device: 'xczu3eg', images: 1800 }), /^fkb compress --layer-ratio \/conv2\/Conv=0\.3 --layer-bits .* --engine L=16 --engine Po=8 --engine Pp=1 --device xczu3eg --images 1800$/);
  assert.match(compressCommand(ref, { model: "/tmp/it's.onnx", device: 'zcu104', images: 5 }), /--model '\/tmp\/it'\\''s\.onnx'/);
});

test('hypervolume: exact on small fronts, points outside the box count nothing', () => {
  assert.ok(Math.abs(hypervolume([[0.5, 0.5]]) - 0.25) < 1e-12);
  assert.ok(Math.abs(hypervolume([[0.2, 0.6], [0.6, 0.2]]) - (0.8 * 0.4 + 0.4 * 0.4)) < 1e-12);
  assert.ok(Math.abs(hypervolume([[0.5, 0.5, 0.5], [0.25, 0.75, 0.5]]) - (0.125 + 0.75 * 0.25 * 0.5 - 0.5 * 0.25 * 0.5)) < 1e-12);
  assert.is(hypervolume([[1.2, 0.1]]), 0);
  assert.is(hypervolume([]), 0);
});

test('store: idempotent writes, an existing search needs --resume, a resume with other settings is refused', () => {
  const db = join(work, 'unit.sqlite');
  const s = new SearchStore<{ a: number }, { r: number }>(db, { seed: 1 }, false);
  assert.is(s.putAll([{ key: 'k1', config: { a: 1 }, result: { r: 1 } }, { key: 'k2', config: { a: 2 }, result: { r: 2 } }]), 2);
  assert.is(s.putAll([{ key: 'k1', config: { a: 9 }, result: { r: 9 } }]), 0, 'a stored key is not written again');
  assert.equal(s.get('k1'), { r: 1 });
  assert.is(s.count(), 2);
  s.close();
  throwsInput(() => new SearchStore(db, { seed: 1 }, false), 'unit.sqlite', '--resume');
  throwsInput(() => new SearchStore(db, { seed: 2 }, true), 'seed: 1 then, 2 now');
  throwsInput(() => new SearchStore(join(work, 'none.sqlite'), { seed: 1 }, true), 'none.sqlite', 'does not exist');
  const again = new SearchStore<{ a: number }, { r: number }>(db, { seed: 1 }, true);
  assert.equal(again.all().map((r) => r.key), ['k1', 'k2']);
  again.close();
});

let oneThread: SearchResult;

test('the same seed gives the same front on 1 and 2 threads', async () => {
  ensureBuilt();
  oneThread = await runSearch({ ...small, strategies: [...small.strategies], threads: 1, db: join(work, 't1.sqlite') });
  const two = await runSearch({ ...small, strategies: [...small.strategies], threads: 2, db: join(work, 't2.sqlite') });
  assert.is(oneThread.strategies.map((s) => s.scored).join(), '6,6');
  assert.ok(oneThread.front.length > 0);
  assert.equal(frontOf(two), frontOf(oneThread));
  assert.equal(two.strategies.map((s) => s.hypervolume), oneThread.strategies.map((s) => s.hypervolume));
  assert.ok(oneThread.front.every((p) => p.heldOut!.images === 20 && p.search.images === 40));
  // The report: both charts, one row per front point with its command, the result embedded.
  const html = searchReportHtml(oneThread);
  for (const id of ['search-latency', 'search-dsp']) assert.ok(html.includes(`data-chart="${id}"`), id);
  assert.is(html.split('<code>fkb compress ').length - 1, oneThread.front.length);
  assert.ok(html.includes(oneThread.front[0]!.key));
});

test('SIGKILL mid-search, then --resume: nothing stored is evaluated again, nothing lost, the same front', async () => {
  const db = join(work, 'killed.sqlite');
  const cli = (extra: string[]) => [join(root, 'bin', 'fkb.js'), 'search', ...SMALL, '--threads', '1', '--db', db, ...extra];
  const child = spawn(process.execPath, cli([]), { cwd: root, stdio: 'ignore' });
  const count = (file = db) => {
    if (!existsSync(file)) return 0;
    try {
      const d = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (d.prepare('SELECT COUNT(*) AS n FROM candidates').get() as { n: number }).n;
      } finally {
        d.close();
      }
    } catch {
      return 0; // created but no table yet
    }
  };
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let t = 0; count() < 4; t++) {
    if (t > 1200) throw new Error('the search stored nothing in 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  await exited;
  const stored = count();
  const expected = count(join(work, 't1.sqlite'));
  assert.ok(stored >= 4 && stored < expected, `killed with ${stored} of ${expected} candidates stored`);
  const r = spawnSync(process.execPath, cli(['--resume', '--json']), { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, r.stderr);
  const resumed = JSON.parse(r.stdout) as SearchResult;
  const total = count();
  assert.is(total, expected, 'the uninterrupted search stored as many');
  assert.is(resumed.evaluatedHere, total - stored, `resumed: ${resumed.evaluatedHere} evaluated, ${stored} were stored`);
  assert.equal(frontOf(resumed), frontOf(oneThread));
});

test("a front point's printed fkb compress command reproduces its held-out top-1", () => {
  const p = oneThread.front[0]!;
  const args = p.command.replace(/^fkb /, '').split(' ');
  const r = spawnSync(process.execPath, [join(root, 'bin', 'fkb.js'), ...args, '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { images: number; compressed: { top1: { wasm: number } }; fpga: { timeUs: number; dsp: number } };
  assert.is(out.images, 20);
  assert.is(out.compressed.top1.wasm, p.heldOut!.top1);
  assert.is(out.fpga.timeUs, p.search.latencyUs);
  assert.is(out.fpga.dsp, p.search.dsp);
});

test('runSearch refuses bad settings before it evaluates anything', async () => {
  for (const [o, needle] of [[{ budget: 0 }, '--budget'], [{ searchImages: 9000 }, '--search-images'], [{ device: 'nosuch' }, 'nosuch']] as const) {
    const db = join(work, `bad-${needle.replace(/\W/g, '')}.sqlite`);
    try {
      await runSearch({ ...small, strategies: [...small.strategies], threads: 1, db, ...o });
      assert.unreachable('no error');
    } catch (e) {
      assert.is((e as Error).name, 'InputError');
      assert.ok((e as Error).message.includes(needle), (e as Error).message);
    }
    assert.not.ok(existsSync(db), 'nothing written');
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();

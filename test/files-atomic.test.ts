/**
 * Every write is atomic (harness/util/files.ts, harness/report/write.ts): each failure path
 * leaves the previous file whole and no temporary file behind. Target is a directory; a full
 * disk (a child under `ulimit -f`); two writer processes on one path while a reader parses it;
 * a writer killed with SIGKILL mid-write; the report pair appearing together. And the up-front
 * checks assertWritable / assertWritableDir.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectReportData } from '../harness/report/report-data.ts';
import { writeReport } from '../harness/report/write.ts';
import type { BenchReport, ReportData } from '../harness/results/index.ts';
import { assertWritable, assertWritableDir, writeFileAtomically } from '../harness/util/files.ts';
import { throwsInput } from './helpers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'fkb-atomic-'));
let n = 0;
/** A fresh empty folder per test. */
const fresh = (name: string): string => {
  const dir = join(work, `${++n}-${name}`);
  mkdirSync(dir);
  return dir;
};

/**
 * The child process: `write <file> <MB> <tag>` writes once; `writers <file> <count> <MB> <tag>`
 * writes repeatedly; `reports <dir> <count> <tag> <data.json>` writes the report pair
 * repeatedly. Prints one JSON line: { failures, errors }.
 */
const CHILD = `
import { writeFileAtomically } from ${JSON.stringify(pathToFileURL(join(ROOT, 'harness/util/files.ts')).href)};
import { readFileSync } from 'node:fs';
const [mode, path, a, b, c] = process.argv.slice(1);
const errors = [];
let failures = 0;
const attempt = (f) => { try { f(); } catch (e) { failures++; if (errors.length < 3) errors.push(String(e)); } };
if (mode === 'write') {
  attempt(() => writeFileAtomically(path, payload(b, 0, Number(a))));
} else if (mode === 'writers') {
  for (let i = 0; i < Number(a); i++) attempt(() => writeFileAtomically(path, payload(c, i, Number(b))));
} else if (mode === 'reports') {
  const { writeReport } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'harness/report/write.ts')).href)});
  const data = JSON.parse(readFileSync(c, 'utf8'));
  for (let i = 0; i < Number(a); i++) attempt(() => writeReport(path, { ...data, meta: { ...data.meta, title: b + ' ' + i } }));
}
console.log(JSON.stringify({ failures, errors }));
function payload(tag, i, mb) { return JSON.stringify({ tag, i, pad: 'x'.repeat(Math.round(mb * 1e6)) }); }
`;

function child(args: string[], prefix: string[] = []): ChildProcess {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD, ...args];
  const [cmd, ...rest] = prefix.length ? [...prefix, ...node] : node;
  return spawn(cmd!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(c: ChildProcess): Promise<{ code: number | null; signal: string | null; out: { failures: number; errors: string[] } | undefined; text: string }> {
  let text = '';
  c.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve) => {
    c.on('close', (code, signal) => {
      const line = text.split('\n').find((l) => l.startsWith('{"failures"'));
      resolve({ code, signal, out: line ? (JSON.parse(line) as { failures: number; errors: string[] }) : undefined, text });
    });
  });
}

/** A small but complete report (one measurement) whose title carries `tag`. */
function minimalReport(tag: string): ReportData {
  const bench = {
    date: '2026-01-02T04:00:00.000Z',
    machine: { cpu: 'test cpu', cores: 2, avxVnni: false, node: 'v20', v8: '11' },
    options: { timeMs: 10, minIterations: 1, mode: 'fp32', ort: false, filter: [], seed: 1, dsp: { scheme: 'int8x8', chain: 16, decode: 'corrected', cascade: true }, packed: false, threads: 1 },
    modules: [{ name: 'scalar', used: true }],
    measurements: [{ layer: 'l', shape: '8x8x8->8 k3x3 s1,1 p1,1,1,1', macs: 1000, kernel: 'qs8_splitconv_minmax_1x1c1__scalar_loops', module: 'scalar', p50Ms: 1, madMs: 0.1, samples: 5, gmacs: 0.001, verifiedAgainst: 'reference' }],
  } as unknown as BenchReport;
  return collectReportData({ bench, title: tag, now: new Date(0) });
}

const TEMP = /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/;

// ---------------------------------------------------------------------------------------------
// writeFileAtomically

test('target is a directory: InputError naming it, nothing left behind, the directory untouched', () => {
  const dir = fresh('isdir');
  const target = join(dir, 'out.json');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'k');
  throwsInput(() => writeFileAtomically(target, 'x'.repeat(2_400_000)), target, 'is a directory');
  assert.equal(readdirSync(dir), ['out.json']);
  assert.equal(readdirSync(target), ['keep']);
});

test('a parent that is a file: InputError naming the file to write', () => {
  const dir = fresh('parentfile');
  writeFileSync(join(dir, 'f'), 'x');
  throwsInput(() => writeFileAtomically(join(dir, 'f', 'out.json'), '{}'), join(dir, 'f', 'out.json'));
  assert.equal(readdirSync(dir), ['f']);
});

test('full disk (ulimit -f 64 KiB): the previous file stays whole, no temporary file, InputError says EFBIG', async () => {
  const dir = fresh('full');
  const target = join(dir, 'out.json');
  writeFileAtomically(target, JSON.stringify({ previous: true }));
  // SIGXFSZ ignored, so the write fails with EFBIG instead of killing the child.
  const r = await finished(child(['write', target, '1', 'big'], ['bash', '-c', `trap '' XFSZ; ulimit -f 64; exec "$@"`, 'bash']));
  assert.is(r.code, 0, r.text);
  assert.is(r.out?.failures, 1, r.text);
  assert.match(r.out!.errors[0]!, /InputError: cannot write .*out\.json: file too large for the file size limit \(EFBIG\)/);
  assert.equal(JSON.parse(readFileSync(target, 'utf8')), { previous: true });
  assert.equal(readdirSync(dir), ['out.json']);
});

test('two writer processes on one path while a reader parses it: no failed write, no invalid read, no temporary file', async () => {
  const dir = fresh('concurrent');
  const target = join(dir, 'out.json');
  const count = 20;
  const mb = 2;
  writeFileAtomically(target, JSON.stringify({ tag: 'start', i: -1, pad: '' }));
  const writers = ['a', 'b'].map((tag) => finished(child(['writers', target, String(count), String(mb), tag])));
  let done = false;
  void Promise.all(writers).then(() => (done = true));
  let reads = 0;
  let bigReads = 0;
  const invalid: string[] = [];
  const seen = new Set<string>();
  while (!done) {
    const text = readFileSync(target, 'utf8');
    try {
      const v = JSON.parse(text) as { tag: string; i: number; pad: string };
      seen.add(v.tag);
      if (v.tag !== 'start') bigReads++;
      if (v.tag !== 'start' && v.pad.length !== mb * 1e6) invalid.push(`${v.tag} ${v.i}: pad of ${v.pad.length}`);
    } catch (e) {
      invalid.push(`${text.length} bytes: ${(e as Error).message}`);
    }
    reads++;
    await new Promise((r) => setTimeout(r, 1));
  }
  const results = await Promise.all(writers);
  for (const r of results) {
    assert.is(r.code, 0, r.text);
    assert.is(r.out?.failures, 0, `failed writes: ${r.out?.errors.join('; ')}`);
  }
  console.log(`2 x ${count} writes of ${mb} MB JSON, ${reads} reads (${bigReads} of a written file), tags seen ${[...seen].join(',')}`);
  assert.equal(invalid, []);
  assert.ok(bigReads >= 20, `only ${bigReads} reads while the writers ran`);
  const last = JSON.parse(readFileSync(target, 'utf8')) as { i: number };
  assert.is(last.i, count - 1);
  assert.equal(readdirSync(dir), ['out.json']);
});

test('writer killed with SIGKILL mid-write: the previous file stays whole; its temporary file is uniquely named and removed once stale', async () => {
  const dir = fresh('killed');
  const target = join(dir, 'out.json');
  let leftover: string | undefined;
  let tries = 0;
  // The kill must land between the temporary file's creation and the rename: retry if it missed.
  for (; tries < 3 && !leftover; tries++) {
    writeFileAtomically(target, JSON.stringify({ previous: tries }));
    const c = child(['write', target, '24', 'killed']);
    const exit = finished(c);
    const deadline = Date.now() + 15_000;
    let temp: string | undefined;
    while (!temp && Date.now() < deadline && c.exitCode === null) {
      temp = readdirSync(dir).find((f) => f !== 'out.json');
    }
    c.kill('SIGKILL');
    const r = await exit;
    const left = readdirSync(dir).filter((f) => f !== 'out.json');
    const now = JSON.parse(readFileSync(target, 'utf8')) as { previous?: number; tag?: string };
    if (left.length === 0) {
      // finished before the kill: the new file is then the whole new one
      assert.ok(now.previous === tries || now.tag === 'killed', JSON.stringify(now).slice(0, 80));
      continue;
    }
    assert.is(r.signal, 'SIGKILL');
    assert.equal(now, { previous: tries });
    assert.is(left.length, 1, left.join(','));
    leftover = left[0]!;
    assert.match(leftover, TEMP);
    assert.ok(leftover.startsWith(`.out.json.${c.pid}.`), `${leftover} does not name the killed writer ${c.pid}`);
  }
  assert.ok(leftover, 'the kill never landed mid-write in 3 tries');
  console.log(`killed mid-write after ${tries} tr${tries === 1 ? 'y' : 'ies'}; left ${leftover}`);

  // A temporary file of a process that still runs is never touched, however old.
  const live = `.out.json.${process.ppid}.0123456789ab.tmp`;
  writeFileSync(join(dir, live), 'live');
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(join(dir, live), old, old);
  // Recent: kept (a writer on another host or PID namespace may still be writing it).
  writeFileAtomically(target, '{"next":1}');
  assert.equal(readdirSync(dir).sort(), [live, leftover!, 'out.json'].sort());
  utimesSync(join(dir, leftover!), old, old);
  writeFileAtomically(target, '{"next":2}');
  assert.equal(readdirSync(dir).sort(), [live, 'out.json'].sort());
  assert.equal(JSON.parse(readFileSync(target, 'utf8')), { next: 2 });
});

// ---------------------------------------------------------------------------------------------
// writeReport: the pair appears together

test('writeReport into a new folder: both files, nothing else beside it', () => {
  const parent = fresh('report-new');
  const dir = join(parent, 'a', 'b');
  const files = writeReport(dir, minimalReport('new'));
  assert.equal(readdirSync(dir).sort(), ['report.html', 'report.json']);
  assert.equal(readdirSync(join(parent, 'a')), ['b']);
  assert.is((JSON.parse(readFileSync(files.json, 'utf8')) as ReportData).meta.title, 'new');
  assert.match(readFileSync(files.html, 'utf8'), /<html/);
});

test('writeReport over a previous report: the pair is replaced in the same folder, nothing temporary left', () => {
  const parent = fresh('report-again');
  const dir = join(parent, 'r');
  writeReport(dir, minimalReport('first'));
  writeReport(dir, minimalReport('second'));
  assert.equal(readdirSync(parent), ['r']);
  assert.equal(readdirSync(dir).sort(), ['report.html', 'report.json']);
  assert.is((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData).meta.title, 'second');
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /second/);
});

test('writeReport into an existing empty folder: the pair appears at once', () => {
  const dir = fresh('report-empty');
  writeReport(dir, minimalReport('empty'));
  assert.equal(readdirSync(dir).sort(), ['report.html', 'report.json']);
  assert.equal(readdirSync(dirname(dir)).filter((f) => f.startsWith('.')), []);
});

test('writeReport into a folder holding other files: they stay, the pair is replaced, nothing temporary left', () => {
  const dir = fresh('report-shared');
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  writeReport(dir, minimalReport('one'));
  writeReport(dir, minimalReport('two'));
  assert.equal(readdirSync(dir).sort(), ['notes.txt', 'report.html', 'report.json']);
  assert.is(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  assert.is((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData).meta.title, 'two');
});

test('writeReport to a path that is a file, or below one: InputError naming it, nothing left behind', () => {
  const parent = fresh('report-file');
  const file = join(parent, 'f');
  writeFileSync(file, 'x');
  throwsInput(() => writeReport(file, minimalReport('x')), file, 'not a directory');
  throwsInput(() => writeReport(join(file, 'r'), minimalReport('x')), join(file, 'r'));
  assert.equal(readdirSync(parent), ['f']);
  assert.is(readFileSync(file, 'utf8'), 'x');
});

test('two processes writing the report into one folder: a reader listing it sees both files or neither, never one; the last pair is one report', async () => {
  const parent = fresh('report-concurrent');
  const dir = join(parent, 'r');
  const count = 15;
  const data = join(parent, '..', `${n}-data.json`);
  writeFileSync(data, JSON.stringify(minimalReport('data')));
  const writers = ['a', 'b'].map((tag) => finished(child(['reports', dir, String(count), tag, data])));
  let done = false;
  void Promise.all(writers).then(() => (done = true));
  let listings = 0;
  let complete = 0;
  const torn: string[] = [];
  while (!done) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    listings++;
    const pair = names.filter((f) => f === 'report.json' || f === 'report.html');
    // Hidden names are the writers' staging folders and lock.
    if (pair.length === 1 || names.some((f) => f !== 'report.json' && f !== 'report.html' && !f.startsWith('.'))) torn.push(names.join(','));
    if (pair.length === 2) complete++;
    await new Promise((r) => setImmediate(r));
  }
  for (const r of await Promise.all(writers)) {
    assert.is(r.code, 0, r.text);
    assert.is(r.out?.failures, 0, `failed writes: ${r.out?.errors.join('; ')}`);
  }
  console.log(`2 x ${count} reports, ${listings} listings, ${complete} with the pair`);
  assert.equal(torn, []);
  assert.ok(complete >= 10, `only ${complete} listings saw the report`);
  assert.equal(readdirSync(parent), ['r']);
  assert.equal(readdirSync(dir).sort(), ['report.html', 'report.json']);
  // The lock kept the two writers from leaving a mixed pair.
  const title = (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData).meta.title;
  assert.match(title, /^[ab] \d+$/);
  assert.ok(readFileSync(join(dir, 'report.html'), 'utf8').includes(`<title>${title}`), `report.html is not the report of ${title}`);
});

// ---------------------------------------------------------------------------------------------
// assertWritable / assertWritableDir

test('assertWritable: passes for a new file in an existing or missing folder and creates nothing', () => {
  const dir = fresh('check');
  assertWritable(join(dir, 'out.json'));
  assertWritable(join(dir, 'x', 'y', 'out.json'));
  writeFileSync(join(dir, 'exists.json'), '{}');
  assertWritable(join(dir, 'exists.json'));
  assertWritableDir(dir);
  assertWritableDir(join(dir, 'new', 'folder'));
  assert.equal(readdirSync(dir), ['exists.json']);
});

test('assertWritable / assertWritableDir: a directory target, a file in the way, a folder that takes no files', () => {
  const dir = fresh('check-bad');
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'f'), 'x');
  throwsInput(() => assertWritable(join(dir, 'd')), join(dir, 'd'), 'is a directory');
  throwsInput(() => assertWritable(join(dir, 'f', 'out.json')), join(dir, 'f', 'out.json'), 'is not a directory');
  throwsInput(() => assertWritable(join(dir, 'f', 'a', 'out.json')), 'is not a directory');
  throwsInput(() => assertWritableDir(join(dir, 'f')), join(dir, 'f'), 'not a directory');
  throwsInput(() => assertWritableDir(join(dir, 'f', 'sub')), join(dir, 'f', 'sub'), 'not a directory');
  // sysfs refuses new files even to root.
  if (existsSync('/sys/kernel')) {
    throwsInput(() => assertWritable('/sys/kernel/fkb-out.json'), '/sys/kernel/fkb-out.json', 'cannot create files in /sys/kernel');
    throwsInput(() => assertWritableDir('/sys/kernel/fkb'), '/sys/kernel/fkb', 'cannot create files');
  }
  // Permissions stop everyone but root.
  if (process.getuid?.() !== 0) {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    try {
      throwsInput(() => assertWritable(join(ro, 'out.json')), 'permission denied');
      throwsInput(() => assertWritableDir(join(ro, 'sub')), 'permission denied');
    } finally {
      chmodSync(ro, 0o755);
    }
  }
  assert.equal(readdirSync(dir).sort(), ['d', 'f', ...(process.getuid?.() !== 0 ? ['ro'] : [])].sort());
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();

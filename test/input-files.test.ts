/**
 * Input files: only regular files are read (a FIFO, /dev/zero or a directory is refused at once),
 * each kind up to a size limit named in the error; the one JSON reader (deep nesting, a repeated
 * key, a BOM) agrees with JSON.parse on valid JSON; and every command that reads such a file
 * exits 2 with the file named and no stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNetwork, parseNetworkJson } from '../harness/networks/index.ts';
import { InputError } from '../harness/util/errors.ts';
import { MiB, openInputStream, readInputFile, readInputText } from '../harness/util/input-files.ts';
import { MAX_JSON_DEPTH, parseJsonInput, parseJsonLocated } from '../harness/util/json.ts';
import { throwsInput } from './helpers.ts';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'fkb-input-files-'));
const file = (name: string, data: string | Uint8Array) => {
  writeFileSync(join(work, name), data);
  return join(work, name);
};
const LAYER = { name: 'c', in_h: 8, in_w: 8, in_c: 3, out_c: 16, k_h: 3, k_w: 3, stride_h: 1, stride_w: 1, pad_top: 1, pad_bottom: 1, pad_left: 1, pad_right: 1, w_bits: 8, a_bits: 8 };
const TABLE = JSON.stringify({ layers: [LAYER] }, null, 2);

const fifo = join(work, 'fifo.csv');
const haveFifo = spawnSync('mkfifo', [fifo]).status === 0;
// /dev/zero under the extensions the loaders insist on.
const zero = (ext: string) => {
  const p = join(work, `zero${ext}`);
  symlinkSync('/dev/zero', p);
  return p;
};
const zeroJson = zero('.json');
const zeroCsv = zero('.csv');
const zeroOnnx = zero('.onnx');
const zeroU8 = zero('.u8');
const directory = join(work, 'a-directory.json');
mkdirSync(directory);

// ---------------------------------------------------------------------------------------------
// util/input-files

test('readInputFile: a missing file, a directory, /dev/zero and a FIFO are InputErrors naming the path and the kind', () => {
  throwsInput(() => readInputFile(join(work, 'missing.bin'), { what: 'test file', maxBytes: MiB }), "cannot read test file '", 'missing.bin', 'ENOENT');
  throwsInput(() => readInputFile(directory, { what: 'test file', maxBytes: MiB }), 'a-directory.json', 'is a directory, not a regular file');
  throwsInput(() => readInputFile('/dev/zero', { what: 'test file', maxBytes: MiB }), '/dev/zero', 'character device');
  throwsInput(() => openInputStream('/dev/zero', { what: 'test file' }), '/dev/zero', 'character device');
  if (haveFifo) {
    // Opening a FIFO without a writer would block forever: it must be refused at once.
    const t0 = performance.now();
    throwsInput(() => readInputFile(fifo, { what: 'test file', maxBytes: MiB }), 'fifo.csv', 'FIFO');
    throwsInput(() => openInputStream(fifo, { what: 'test file' }), 'fifo.csv', 'FIFO');
    assert.ok(performance.now() - t0 < 1000, 'refusing a FIFO took over a second');
  }
});

test('readInputFile: the size limit is checked before reading and named in the error', () => {
  const big = file('big.bin', new Uint8Array(4097));
  throwsInput(() => readInputFile(big, { what: 'test file', maxBytes: 4096 }), "test file '", 'big.bin', '4 KiB');
  assert.is(readInputFile(big, { what: 'test file', maxBytes: 4097 }).length, 4097);
  assert.is(readInputFile(file('empty.bin', ''), { what: 'test file', maxBytes: 1 }).length, 0);
});

test('readInputText: drops a BOM; bytes that are not UTF-8 are an error naming line and column', () => {
  assert.is(readInputText(file('bom.txt', '\uFEFFab'), { what: 'text', maxBytes: MiB }), 'ab');
  assert.is(readInputText(file('fffd.txt', 'a\uFFFDb'), { what: 'text', maxBytes: MiB }), 'a\uFFFDb');
  const bad = file('latin1.txt', Buffer.concat([Buffer.from('ok\nab'), Buffer.from([0xe9]), Buffer.from('z\n')]));
  throwsInput(() => readInputText(bad, { what: 'text', maxBytes: MiB }), 'latin1.txt:2:3:', 'not UTF-8');
});

// ---------------------------------------------------------------------------------------------
// util/json

test('JSON: 5,000 nested arrays are an InputError at the nesting limit, not a stack overflow', () => {
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  throwsInput(() => parseJsonLocated(deep), `nested deeper than ${MAX_JSON_DEPTH} levels`);
  throwsInput(() => parseJsonLocated('{"a":'.repeat(100_000)), 'nested deeper');
  // At the limit itself it parses.
  const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
  assert.equal(parseJsonLocated(ok).value, JSON.parse(ok));
  throwsInput(() => parseNetworkJson(`{"layers": ${deep}}`, 'deep.json'), 'deep.json:1:', 'json: arrays and objects nested deeper');
});

test('JSON: a repeated key is an error naming the key and both places', () => {
  throwsInput(() => parseJsonLocated('{\n  "a": 1,\n  "b": {"x": 1, "x": 2}\n}'), '3:17:', 'duplicate key "x"', 'line 3, column 9');
  throwsInput(() => parseJsonInput('{"a": 1, "a": 1}', 'f.json'), 'f.json:1:10: not valid JSON: duplicate key "a"');
  const text = TABLE.replace('"in_w": 8', '"in_w": 8,\n      "in_h": 16');
  throwsInput(() => parseNetworkJson(text, 'dup.json'), 'dup.json:', 'duplicate key "in_h"');
  // The same key in different objects is fine.
  assert.equal(parseJsonLocated('[{"a": 1}, {"a": 2}]').value, [{ a: 1 }, { a: 2 }]);
});

test('JSON: a leading BOM is skipped (columns count from after it); one elsewhere is an error', () => {
  assert.equal(parseJsonLocated('\uFEFF{"a": [1]}').value, { a: [1] });
  assert.is(loadNetwork(file('bom.json', `\uFEFF${TABLE}`)).layers[0]!.name, 'c');
  throwsInput(() => parseJsonLocated('\uFEFF{"a": x}'), '1:7:', "unexpected character 'x'");
  throwsInput(() => parseJsonLocated('{"a": \uFEFF1}'), 'U+FEFF');
});

test('JSON: "__proto__" is an own property, as JSON.parse makes it', () => {
  const v = parseJsonLocated('{"__proto__": {"polluted": true}}').value as Record<string, unknown>;
  assert.ok(Object.hasOwn(v, '__proto__'));
  assert.is((v as { polluted?: boolean }).polluted, undefined);
  assert.is(Object.getPrototypeOf(v), Object.prototype);
});

test('JSON: agrees with JSON.parse on any JSON value (fast-check)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (v, pretty) => {
      const text = JSON.stringify(v, null, pretty ? 2 : undefined);
      assert.equal(parseJsonLocated(text).value, JSON.parse(text));
    }),
    { numRuns: 500 },
  );
});

test('JSON: rejects what JSON.parse rejects (fast-check over mutated documents)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.constantFrom('', ',', '}', ']', ':', '"', 'x', '0', '-', '\\'), (v, at, insert) => {
      const base = JSON.stringify(v);
      const k = at % (base.length + 1);
      const text = base.slice(0, k) + insert + base.slice(k);
      let want: unknown;
      try {
        want = JSON.parse(text);
      } catch {
        assert.throws(() => parseJsonLocated(text), (e: unknown) => e instanceof InputError);
        return;
      }
      // Valid either way, unless the insertion repeated a key (only parseJsonLocated objects).
      try {
        assert.equal(parseJsonLocated(text).value, want);
      } catch (e) {
        assert.ok(e instanceof InputError && /duplicate key/.test(e.message), String(e));
      }
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------------------------------
// every command that reads an input file

interface Run {
  code: number | null;
  out: string;
  ms: number;
  killed: boolean;
}

/** Bounded: a command that reads an endless stream instead of refusing it is killed. */
const LIMIT_MS = 60_000;

function fkb(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'fkb.js'), ...args], { cwd: work, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: performance.now() - t0, killed });
    });
  });
}

async function runAll(cases: string[][], parallel = 3): Promise<Run[]> {
  const results: Run[] = new Array(cases.length);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await fkb(cases[i]!);
    }
  }));
  return results;
}

const deepTable = file('deep.json', `{"layers": ${'['.repeat(5000)}${']'.repeat(5000)}}`);
const dupTable = file('dup.json', TABLE.replace('"in_w": 8', '"in_w": 8,\n      "in_h": 16'));
const bigTable = file('big.json', `${TABLE}${' '.repeat(20 * MiB)}`);
const bench = (extra: string) => file(`bench-${extra.length}.json`, `{"date": "2026-01-01", ${extra}"measurements": []}`);
const FPGA = ['--arch', 'a', '--device', 'zcu104'];

/** [arguments, patterns the output must match] */
const CASES: [string[], RegExp[]][] = [
  // 1. deep nesting, through each command that reads a layer table
  [['model', ...FPGA, '--layers', deepTable], [/deep\.json:1:\d+: json: arrays and objects nested deeper than 256 levels/]],
  [['sweep', ...FPGA, '--network', deepTable], [/deep\.json:1:\d+: json: .*nested deeper/]],
  [['dsp', 'conv', '--layers', deepTable], [/deep\.json:1:\d+: json: .*nested deeper/]],
  // 3. endless streams, directories and oversized files
  [['model', ...FPGA, '--layers', zeroJson], [/layer table '.*zero\.json': it is a character device/]],
  [['model', ...FPGA, '--layers', zeroCsv], [/layer table '.*zero\.csv': it is a character device/]],
  [['model', ...FPGA, '--layers', directory], [/a-directory\.json': it is a directory/]],
  [['model', ...FPGA, '--layers', bigTable], [/layer table '.*big\.json' is 20(\.0)? MiB; the limit for it is 16 MiB/]],
  [['dsp', 'replay', '/dev/zero'], [/DSP trace '\/dev\/zero': it is a character device/]],
  [['verify', '--shapes', zeroJson], [/shapes file '.*zero\.json': it is a character device/]],
  [['quantize', '--model', zeroOnnx, '--inputs', zeroU8], [/ONNX model '.*zero\.onnx': it is a character device/]],
  [['quantize', '--model', join(root, 'models', 'blazeface', 'face_detection_front_128x128_barracuda.onnx'), '--inputs', zeroU8], [/input image file '.*zero\.u8': it is a character device/]],
  [['compress', '--model', zeroOnnx], [/ONNX model '.*zero\.onnx': it is a character device/]],
  [['compare', '--bench', zeroJson, ...FPGA], [/bench report '.*zero\.json': it is a character device/]],
  // 6. JSON: a repeated key names key and place; a BOM is accepted
  [['model', ...FPGA, '--layers', dupTable], [/dup\.json:\d+:\d+: json: duplicate key "in_h" \(first at line \d+, column \d+\)/]],
  [['compare', '--bench', bench('"date": "2027-01-01", '), ...FPGA], [/bench-\d+\.json:1:24: not valid JSON: duplicate key "date" \(first at line 1, column 2\)/]],
  [['compare', '--bench', file('bench-bom.json', '\uFEFF{"measurements": 5}'), ...FPGA], [/bench-bom\.json: not a benchmark report/]],
];
if (haveFifo) {
  CASES.push(
    [['dsp', 'replay', fifo], [/DSP trace '.*fifo\.csv': it is a FIFO/]],
    [['model', ...FPGA, '--layers', fifo], [/layer table '.*fifo\.csv': it is a FIFO/]],
  );
}

test(`${CASES.length} commands given a bad input file: exit 2 at once, the file and problem named, no stack trace`, async () => {
  const results = await runAll(CASES.map(([args]) => args));
  const wrong: string[] = [];
  CASES.forEach(([args, patterns], i) => {
    const r = results[i]!;
    const problems = [
      r.killed && `still running after ${LIMIT_MS / 1000} s`,
      r.code !== 2 && `exit ${r.code}`,
      /\n\s+at .+:\d+:\d+\)?/.test(r.out) && 'a stack trace',
      ...patterns.filter((p) => !p.test(r.out)).map((p) => `no match for ${p}`),
    ].filter(Boolean);
    if (problems.length) wrong.push(`fkb ${args.join(' ')}: ${problems.join(', ')}\n    ${r.out.trim().split('\n').slice(0, 3).join('\n    ')}`);
  });
  assert.is(wrong.length, 0, `\n${wrong.join('\n')}`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();

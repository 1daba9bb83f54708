/**
 * `fkb serve` survives any request: a real server process on a loopback port gets a few hundred
 * malformed request lines (raw bytes over node:net) and odd request targets, methods and headers
 * (node:http), a bounded number at a time with a deadline each. No answer is a 5xx, every
 * connection ends (none hangs), the process stays up, and afterwards `/` and `/wasm/simd.wasm`
 * still answer 200. Only allow-listed files are served: traversal in any spelling is a 404.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requestPath } from '../harness/cli/commands/serve.ts';
import { Rng } from '../harness/util/rng.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
/** Longest wait for one exchange; a connection still open after it counts as a hang. */
const DEADLINE_MS = 4000;
const PARALLEL = 16;

type Server = { port: number; child: ChildProcess; stderr: () => string; exited: () => string | undefined };

function startServer(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fkb.js', 'serve', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let exit: string | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve({ port: Number(m[1]), child, stderr: () => err, exited: () => exit });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      exit = `exit ${code} signal ${signal}`;
      reject(new Error(`fkb serve ${exit}: ${out}${err}`));
    });
  });
}

type Answer = { statuses: number[]; closed: boolean; error?: string };

/** Sends raw bytes, half-closes, and collects every status line until the server closes. */
function raw(port: number, bytes: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => finish(false), DEADLINE_MS);
    function finish(closed: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ statuses, closed, error });
    }
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message)); // a reset is an answer too
    socket.on('close', () => finish(true));
    socket.on('connect', () => socket.end(bytes));
  });
}

/** One request through node:http; the status, or the client-side error. */
function http(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Answer): void => {
      if (!settled) resolve(a);
      settled = true;
    };
    try {
      const req = request({ host: HOST, port, path, method, headers, agent: false, timeout: DEADLINE_MS }, (res) => {
        res.resume();
        res.on('end', () => done({ statuses: [res.statusCode!], closed: true }));
        res.on('error', (e) => done({ statuses: [res.statusCode!], closed: true, error: e.message }));
      });
      req.on('timeout', () => {
        req.destroy();
        done({ statuses: [], closed: false, error: 'timeout' });
      });
      req.on('error', (e: NodeJS.ErrnoException) => done({ statuses: [], closed: true, error: e.code ?? e.message }));
      req.end();
    } catch (e) {
      // node:http refuses some paths and headers itself (control characters): those go raw instead.
      done({ statuses: [], closed: true, error: `client refused: ${(e as Error).message}` });
    }
  });
}

async function fetchBody(port: number, path: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, agent: false, timeout: DEADLINE_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** Runs the jobs PARALLEL at a time. */
async function pool<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The inputs: fixed hostile cases, and seeded random ones

const FIXED_RAW = [
  'GET //x:99999/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://x:99999/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET x:99999 HTTP/1.1\r\nHost: x\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
  'CONNECT x:99999 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET\r\n\r\n',
  'GET /\r\n\r\n',
  'GET / HTTP/9.9\r\n\r\n',
  'GET / HTTP/1.1\n\n',
  'GET  /  HTTP/1.1\r\n\r\n',
  '\r\n\r\n',
  ' \r\n',
  'garbage',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /a%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /\r\n\r\nGET /wasm/../../package.json HTTP/1.1\r\n\r\n',
  'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /% HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /\u00e9\u4e2d\u{1f600} HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /wasm/..%2f..%2fpackage.json HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET \\..\\package.json HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nX: \0\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, bogus\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort',
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n',
  'GET / HTTP/1.1\r\nHost:',
  'GET / HTTP/1.1\r\n',
  'GET / HT',
  `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
  `GET / HTTP/1.1\r\n${'X: 1\r\n'.repeat(3000)}\r\n`,
  `${'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50)}`,
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
  '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
];

const FIXED_TARGETS = [
  '//x:99999/', '//x:99999', '//', '///', '//localhost/wasm/simd.wasm', '%', '%zz', '/%', '/%zz', '/%00', '/%ff%fe',
  '/?%', '/?x=%zz', '/#frag', '/..', '/../', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/wasm/../package.json',
  '/wasm/..%2fpackage.json', '/wasm/%2e%2e/package.json', '/wasm/simd.wasm/..', '/wasm/nope.wasm', '/wasm/SIMD.wasm',
  '/wasm/simd.wasm.map', '/wasm/simd', '/build/simd.wasm', '/package.json', '/app.js/', '/app.js%00', '/\u00e9\u00ff',
  `/${'a'.repeat(8000)}`, `/${'../'.repeat(2000)}`, `/${'a'.repeat(40_000)}`, '*', 'x', '?', 'x:99999', 'http://x:99999/',
  'http://[::1/', 'https://evil.example/wasm/../package.json', 'ftp://x/', 'file:///etc/passwd', 'javascript:alert(1)',
];

const ODD_METHODS = ['POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'FOO', 'get'];

const ODD_HEADERS: Record<string, string>[] = [
  { host: 'x:99999' },
  { host: '[' },
  { host: '' },
  { 'x-huge': 'a'.repeat(20_000) },
  Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`x-h${i}`, 'v'.repeat(40)])),
  { 'content-length': '0', 'transfer-encoding': 'identity' },
  { range: 'bytes=99999999-1' },
  { 'accept-encoding': 'gzip;q=bogus' },
  { cookie: '\u00ff'.repeat(100) },
];

/** Random targets from characters that parsers trip over. */
function randomTargets(n: number, seed: number): string[] {
  const r = new Rng(seed);
  const rng = (): number => r.next();
  const alphabet = ['/', '/', '.', '..', '%', '%2e', '%2f', '%zz', '%00', 'a', 'wasm', 'simd', '.wasm', ':', '99999', '?', '#', '@', '\\', '~', '[', ']', '\u00e9', '\u00ff', '!', '$', '&', "'", '(', '*', '+', ',', ';', '='];
  return Array.from({ length: n }, () => {
    const len = 1 + Math.floor(rng() * 24);
    let s = rng() < 0.8 ? '/' : '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
    return s;
  });
}

/** Random request lines and headers, with control bytes, non-ASCII and stray CR/LF mixed in. */
function randomRaw(n: number, seed: number): Buffer[] {
  const r = new Rng(seed);
  const rng = (): number => r.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const methods = ['GET', 'HEAD', 'POST', 'G\0ET', '', 'GET GET', 'X'.repeat(100), '\u00e9'];
  const targets = ['/', '//x:99999/', '%', '/\r', '/\n', '/\0', '/ /', '', 'http://', '/\u{1f600}', '/wasm/simd.wasm'];
  const versions = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1', 'HTTP/2', 'http/1.1', 'HTTP/1.1 extra', '', 'HTTP/\0'];
  const eols = ['\r\n', '\n', '\r', '\r\r\n', '\n\r'];
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const eol = pick(eols);
    let s = `${pick(methods)} ${pick(targets)} ${pick(versions)}${eol}`;
    const headers = Math.floor(rng() * 4);
    for (let h = 0; h < headers; h++) s += `${pick(['Host', 'X', 'Content-Length', 'Transfer-Encoding', 'X\0', ''])}: ${pick(['x', '1', '-1', 'chunked', '\0', '\u00ff', 'a\rb'])}${pick(eols)}`;
    if (rng() < 0.7) s += eol;
    const bytes = Buffer.from(s, rng() < 0.5 ? 'utf8' : 'latin1');
    // Every fourth case also gets raw random bytes somewhere.
    if (i % 4 === 0) {
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rng() * 64) }, () => Math.floor(rng() * 256)));
      const at = Math.floor(rng() * bytes.length);
      out.push(Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]));
    } else {
      out.push(bytes);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

test('requestPath: origin form taken as it is, absolute form through URL, anything else refused', () => {
  assert.is(requestPath('//x:99999/'), '//x:99999/');
  assert.is(requestPath('/wasm/simd.wasm?x=%zz'), '/wasm/simd.wasm');
  assert.is(requestPath('http://127.0.0.1:8080/app.js'), '/app.js');
  for (const bad of [undefined, '', '*', 'x', '%', 'x:99999', 'http://x:99999/', 'http://[::1/', 'ftp://x/', 'javascript:alert(1)']) {
    assert.is(requestPath(bad), undefined, String(bad));
  }
});

test('fkb serve survives hundreds of malformed requests and still serves / and /wasm/simd.wasm', async () => {
  const server = await startServer();
  const { port } = server;
  const started = Date.now();
  try {
    const rawCases = [...FIXED_RAW.map((s) => Buffer.from(s, 'utf8')), ...randomRaw(150, 0x5e7e)];
    const targets = [...FIXED_TARGETS, ...randomTargets(120, 0xbad)];
    const jobs: { label: string; run: () => Promise<Answer> }[] = [
      ...rawCases.map((b) => ({ label: `raw ${JSON.stringify(b.toString('latin1').slice(0, 80))}`, run: () => raw(port, b) })),
      ...targets.map((t) => ({ label: `GET ${JSON.stringify(t.slice(0, 80))}`, run: () => http(port, t) })),
      ...ODD_METHODS.map((m) => ({ label: `${m} /`, run: () => http(port, '/', m) })),
      ...ODD_HEADERS.map((h, i) => ({ label: `GET / with odd headers #${i}`, run: () => http(port, '/', 'GET', h) })),
    ];

    // Idle connections that never finish their request hold no one else up.
    const idle = Array.from({ length: 20 }, () => connect(port, HOST, function (this: ReturnType<typeof connect>) {
      this.write('GET / HTTP/1.1\r\nHost: x\r\n');
    }));
    idle.forEach((s) => s.on('error', () => {}));

    const answers = await pool(jobs.map((j) => j.run));
    idle.forEach((s) => s.destroy());

    const statusCounts = new Map<number, number>();
    const noStatus: string[] = [];
    for (const [i, a] of answers.entries()) {
      const label = jobs[i]!.label;
      assert.ok(a.closed, `${label}: the connection was still open after ${DEADLINE_MS} ms`);
      for (const s of a.statuses) {
        statusCounts.set(s, (statusCounts.get(s) ?? 0) + 1);
        assert.ok(s < 500, `${label}: answered ${s}`);
      }
      if (a.statuses.length === 0) noStatus.push(`${label} (${a.error ?? 'closed'})`);
      assert.is(server.exited(), undefined, `the server stopped after ${label}`);
    }
    console.log(`${jobs.length} requests (${rawCases.length} raw, ${jobs.length - rawCases.length} through node:http) in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statusCounts].sort()))}`);
    console.log(`closed without a status line: ${noStatus.join('; ') || 'none'}`);
    // Most requests get a real answer; a connection closed without one is reserved for what no HTTP server answers.
    assert.ok(noStatus.length < jobs.length / 10, `${noStatus.length} of ${jobs.length} requests got no status line`);

    const byLabel = (label: string): Answer => answers[jobs.findIndex((j) => j.label === label)]!;
    assert.equal(byLabel('GET "//x:99999/"').statuses, [404]);
    assert.equal(byLabel('GET "%"').statuses, [400]);
    assert.equal(byLabel('GET "http://x:99999/"').statuses, [400]);
    assert.equal(byLabel('POST /').statuses, [405]);
    assert.equal(byLabel(`raw ${JSON.stringify('GET / HTTP/9.9\r\n\r\n')}`).statuses, [400]);
    for (const t of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/wasm/../package.json', '/wasm/..%2fpackage.json', '/build/simd.wasm', '/package.json']) {
      assert.equal(byLabel(`GET ${JSON.stringify(t)}`).statuses, [404], t);
    }
    assert.equal(byLabel(`GET / with odd headers #3`).statuses, [431]);

    const page = await fetchBody(port, '/');
    assert.is(page.status, 200);
    assert.match(page.body.toString(), /fpga-kernel-bench in the browser/);
    const wasm = await fetchBody(port, '/wasm/simd.wasm');
    assert.is(wasm.status, 200);
    assert.is(wasm.type, 'application/wasm');
    assert.equal([...wasm.body.subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'not a wasm module');
    assert.is(server.exited(), undefined);
    assert.is(server.stderr(), '', 'the server logged errors');
  } finally {
    server.child.kill('SIGTERM');
  }
});

test.run();

/**
 * `fkb serve`: a page that runs the verification and benchmark suite in the browser on the same
 * .wasm modules (harness/browser/main.ts, bundled with esbuild when the server starts).
 */
import { type Server, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { build } from 'esbuild';
import { InputError } from '../../util/errors.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { MODULE_NAMES } from '../../wasm/modules.ts';
import { MT_MODULE_NAMES } from '../../threads/mt-modules.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fpga-kernel-bench in the browser</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
#status { font-weight: bold; }
</style></head>
<body>
<h1>fpga-kernel-bench in the browser</h1>
<p id="status">loading ...</p>
<h2>WebAssembly modules</h2><div id="modules"></div>
<h2>Bit-exactness</h2><div id="verify"></div>
<h2>Benchmark: reference layer 56x56x64 -> 64, 3x3</h2><div id="bench"></div>
<script type="module" src="/app.js"></script>
</body></html>`;

/**
 * The LiteRT.js page: our kernels and LiteRT.js side by side (harness/browser/litert-main.ts).
 * The package's dist/index.js imports @litertjs/wasm-utils by name: the import map points it at
 * the copy this server serves.
 */
const LITERT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fpga-kernel-bench: LiteRT.js side by side</title>
<script type="importmap">{ "imports": { "@litertjs/wasm-utils": "/litert/wasm-utils.js" } }</script>
<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; } pre { font-size: 12px; }</style></head>
<body>
<h1>Our kernels and LiteRT.js (XNNPACK) on the reference layer</h1>
<p id="status">loading ...</p>
<pre id="out"></pre>
<script type="module" src="/litert.js"></script>
</body></html>`;

/** LiteRT.js files served from node_modules under /litert/ (nothing is fetched from elsewhere). */
function litertFile(path: string): { file: string; type: string } | undefined {
  const core = join(root, 'node_modules', '@litertjs', 'core');
  if (path === '/litert/index.js') return { file: join(core, 'dist', 'index.js'), type: 'text/javascript; charset=utf-8' };
  if (path === '/litert/wasm-utils.js') return { file: join(root, 'node_modules', '@litertjs', 'wasm-utils', 'dist', 'index.js'), type: 'text/javascript; charset=utf-8' };
  const m = /^\/litert\/wasm\/(litert_wasm(?:_compat|_threaded|_jspi)?_internal)\.(js|wasm)$/.exec(path);
  if (m) return { file: join(core, 'wasm', `${m[1]}.${m[2]}`), type: m[2] === 'js' ? 'text/javascript; charset=utf-8' : 'application/wasm' };
  return undefined;
}

/**
 * Cross-origin isolation on every response: the pages get SharedArrayBuffer, so our threaded
 * kernels (shared WebAssembly memory, harness/threads/) and LiteRT.js's threaded build.
 */
export const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** The Web Worker of the page's thread pools (served as /thread-worker.js). */
export const THREAD_WORKER_ENTRY = '../threads/browser-worker.ts';

/** A browser bundle (the runner page by default); node: built-ins are stubbed (the browser code path never calls them). */
export async function bundleBrowserApp(entry = 'main.ts'): Promise<string> {
  const result = await build({
    entryPoints: [join(root, 'harness', 'browser', entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-builtins-stub',
        setup(b) {
          b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
            contents: 'const no = () => { throw new Error("not in a browser"); }; export const existsSync = no, readFileSync = no, join = (...p) => p.join("/"), dirname = (p) => p, fileURLToPath = (u) => String(u), spawnSync = no;',
            loader: 'js',
          }));
        },
      },
    ],
  });
  return result.outputFiles[0]!.text;
}

/**
 * The path of a request target, or undefined when it is none this server accepts. Origin form
 * (`/path?query`) is taken as it is: no URL parser decides whether `//x:99999/` is a host; the
 * routes below match exact strings, so nothing needs decoding. Absolute form
 * (`http://host/path`, which HTTP/1.1 servers must accept) gives its path.
 */
export function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined;
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0];
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nbad request';
const HEADERS_TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const NO_TUNNEL = 'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/**
 * The server behind `fkb serve`: GET or HEAD of `/`, `/app.js`, `/thread-worker.js` (with a worker
 * bundle) and `/wasm/<module>.wasm` for the modules in MODULE_NAMES and MT_MODULE_NAMES, and with a LiteRT bundle `/litert` (page), `/litert.js` and the
 * package's files under `/litert/`, 404 for any other path, 405 for other methods (CONNECT too), 400 for
 * a request it cannot parse. No request can stop it: a handler error answers 500 and is logged,
 * parse errors of the HTTP layer answer 400 (431 for oversized headers, 408 for a stalled
 * request) and close that connection only.
 */
export function createServeServer(app: string, litertApp?: string, threadWorker?: string): Server {
  const served = [...MODULE_NAMES, ...MT_MODULE_NAMES] as readonly string[];
  const server = createServer((req, res) => {
    try {
      for (const [k, v] of Object.entries(ISOLATED)) res.setHeader(k, v);
      const path = requestPath(req.url);
      if (path === undefined) {
        res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('bad request');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed');
        return;
      }
      const wasm = /^\/wasm\/([\w-]+)\.wasm$/.exec(path);
      const litert = litertApp !== undefined && path.startsWith('/litert') ? (path === '/litert' ? { text: LITERT_PAGE, type: 'text/html; charset=utf-8' } : path === '/litert.js' ? { text: litertApp, type: 'text/javascript; charset=utf-8' } : litertFile(path)) : undefined;
      if (litert) {
        const body = 'file' in litert ? (existsSync(litert.file) ? readFileSync(litert.file) : undefined) : litert.text;
        if (body === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        else res.writeHead(200, { 'content-type': litert.type }).end(body);
      } else if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      } else if (path === '/app.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(app);
      } else if (path === '/thread-worker.js' && threadWorker !== undefined) {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(threadWorker);
      } else if (wasm && served.includes(wasm[1]!) && existsSync(join(root, 'build', `${wasm[1]}.wasm`))) {
        res.writeHead(200, { 'content-type': 'application/wasm' }).end(readFileSync(join(root, 'build', `${wasm[1]}.wasm`)));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    } catch (e) {
      console.error(`fkb serve: ${req.method} ${JSON.stringify(req.url)}: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
      res.end();
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Bytes that are no HTTP request: answer if the socket still takes an answer (not when one is
    // half written: the bytes would land inside it), then close the connection.
    const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean; writableEnded?: boolean } })._httpMessage;
    if (!socket.writable || err.code === 'ECONNRESET' || err.code === 'EPIPE' || (pending?.headersSent && !pending.writableEnded)) {
      socket.destroy();
      return;
    }
    const answer = err.code === 'HPE_HEADER_OVERFLOW' ? HEADERS_TOO_LARGE : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? REQUEST_TIMEOUT : BAD_REQUEST;
    socket.end(answer, () => socket.destroy());
    // A peer that never reads the answer must not hold the socket open.
    setTimeout(() => socket.destroy(), 2000).unref();
  });
  // CONNECT (a proxy tunnel) would otherwise be dropped without an answer.
  server.on('connect', (_req, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(NO_TUNNEL, () => socket.destroy());
    setTimeout(() => socket.destroy(), 2000).unref();
  });
  // Slow or stalled clients are cut off instead of holding connections for Node's 5-minute default.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a page that verifies and benchmarks every kernel variant in the browser')
    .option('--port <n>', 'port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addHelpText('after', '\nExample:\n  fkb serve --port 8080   then open http://127.0.0.1:8080/ (add ?time=500 for longer benchmarks)\n  http://127.0.0.1:8080/litert: our kernels and LiteRT.js (XNNPACK) side by side on the reference layer')
    .action(async (o: { port: string; host: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port must be an integer in [0, 65535], got '${o.port}'`);
      ensureBuilt();
      const app = await bundleBrowserApp();
      const server = createServeServer(app, await bundleBrowserApp('litert-main.ts'), await bundleBrowserApp(THREAD_WORKER_ENTRY));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new InputError(`cannot listen on ${o.host}:${port}: ${(e as Error).message}`)));
        server.listen(port, o.host, resolve);
      });
      // Listening errors after startup (e.g. EMFILE on accept) are logged, never fatal.
      server.on('error', (e) => console.error(`fkb serve: ${(e as Error).message}`));
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      console.log(`fkb serve: http://${o.host}:${actual}/`);
    });
}

/**
 * `fkb serve`: a page that runs the verification and benchmark suite in the browser on the same
 * .wasm modules (harness/browser/main.ts, bundled with esbuild when the server starts).
 */
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { build } from 'esbuild';
import { InputError } from '../../util/errors.ts';
import { ensureBuilt } from '../../wasm/build.ts';
import { MODULE_NAMES } from '../../wasm/modules.ts';

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

/** The browser bundle; node: built-ins are stubbed (the browser code path never calls them). */
export async function bundleBrowserApp(): Promise<string> {
  const result = await build({
    entryPoints: [join(root, 'harness', 'browser', 'main.ts')],
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

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a page that verifies and benchmarks every kernel variant in the browser')
    .option('--port <n>', 'port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addHelpText('after', '\nExample:\n  fkb serve --port 8080   then open http://127.0.0.1:8080/ (add ?time=500 for longer benchmarks)')
    .action(async (o: { port: string; host: string }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port must be an integer in [0, 65535], got '${o.port}'`);
      ensureBuilt();
      const app = await bundleBrowserApp();
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const wasm = /^\/wasm\/(\w+)\.wasm$/.exec(url.pathname);
        if (url.pathname === '/') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
        } else if (url.pathname === '/app.js') {
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(app);
        } else if (wasm && (MODULE_NAMES as readonly string[]).includes(wasm[1]!) && existsSync(join(root, 'build', `${wasm[1]}.wasm`))) {
          res.writeHead(200, { 'content-type': 'application/wasm' }).end(readFileSync(join(root, 'build', `${wasm[1]}.wasm`)));
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        }
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new InputError(`cannot listen on ${o.host}:${port}: ${(e as Error).message}`)));
        server.listen(port, o.host, resolve);
      });
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      console.log(`fkb serve: http://${o.host}:${actual}/`);
    });
}

/**
 * The worker script of LiteRT.js's threaded build in Node (Emscripten pthreads). Emscripten starts
 * each pthread as `new Worker(<main script>)`; the package's script is a classic script in a
 * "type": "module" package, which Node would load as an ES module, where `require` is missing.
 * This CommonJS file evaluates the same script with Node's `require`, `__filename` and
 * `__dirname`, as litert.ts does on the main thread; its tail starts the pthread.
 */
const { readFileSync } = require('node:fs');
const { dirname } = require('node:path');
const { workerData } = require('node:worker_threads');

if (workerData !== 'em-pthread') throw new Error('litert-pthread.cjs runs only as an Emscripten pthread worker');
const script = require.resolve('@litertjs/core/wasm/litert_wasm_threaded_internal.js');
new Function('require', '__filename', '__dirname', readFileSync(script, 'utf8'))(require, script, dirname(script));

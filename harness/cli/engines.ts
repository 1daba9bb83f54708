/** `--engine node24`: the same command re-run on Node 24 from npm (relaxed SIMD on by default). */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Installs Node 24 if needed (scripts/engines.js), runs this command line on it without --engine, returns its exit code. */
export function reexecOnNode24(): number {
  const which = spawnSync(process.execPath, [join(root, 'scripts', 'engines.js'), '--path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const node24 = which.stdout.trim();
  if (which.status !== 0 || !node24) throw new InputError('--engine node24: Node 24 could not be installed (node scripts/engines.js)');
  const args = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--engine') && all[i - 1] !== '--engine');
  const r = spawnSync(node24, [join(root, 'bin', 'fkb.js'), ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

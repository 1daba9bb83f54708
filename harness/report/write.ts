/** Writes a report directory: report.json and the self-contained report.html, as a pair. */
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type ReportData } from '../results/index.ts';
import { InputError } from '../util/errors.ts';
import { fsReason, fsyncDir, removeStaleTemps, statOrUndefined, tempPath, writeNewFileSynced } from '../util/files.ts';
import { renderReportHtml } from './page.ts';

const JSON_NAME = 'report.json';
const HTML_NAME = 'report.html';
const LOCK_NAME = '.report.lock';
/** A writer waits this long for another one to finish replacing the pair (it takes microseconds). */
const LOCK_WAIT_MS = 10_000;

type Pair = { json: string; html: string };

/**
 * Writes `report.json` and `report.html` into `dir` so that a reader looking them up never finds
 * one without the other. Both are rendered first (a failed render writes nothing) and written and
 * flushed into a temporary folder; then:
 * - `dir` missing (or empty): the temporary folder, made beside it, is renamed into place, so the
 *   folder appears with both files at once;
 * - `dir` exists: the folder stays (with anything else in it); the temporary folder is made
 *   inside it and its files renamed over the old ones, report.html first, under a lock file so
 *   that two writers cannot interleave into a mixed pair. A previous pair stays a pair at every
 *   instant (for an instant it may be the new report.html beside the old report.json); in a folder
 *   that had none, report.json appears last, so a reader that finds it finds report.html too.
 * Swapping a whole existing folder was not chosen: between its two renames the path would not
 * exist, and its removal would move the user's own files or working directory.
 * Nothing temporary is left behind on failure. An unwritable `dir` is an InputError naming it.
 */
export function writeReport(dir: string, data: ReportData): { json: string; html: string } {
  const pair: Pair = { html: renderReportHtml(data), json: `${JSON.stringify(data, null, 2)}\n` };
  const files = { json: join(dir, JSON_NAME), html: join(dir, HTML_NAME) };
  const parent = dirname(dir);
  const name = basename(dir);
  let staged: string | undefined;
  try {
    mkdirSync(parent, { recursive: true });
    removeStaleTemps(parent, name);
    // Retried only when another writer creates the folder between the check and the rename.
    for (let attempt = 0; attempt < 4; attempt++) {
      const existing = statOrUndefined(dir);
      if (existing && !existing.isDirectory()) throw new InputError(`cannot write the report to ${dir}: it exists and is not a directory`);
      if (existing && readdirSync(dir).length > 0) {
        writeInPlace(dir, pair);
        return files;
      }
      if (!staged) {
        try {
          staged = stage(parent, name, pair);
        } catch (e) {
          // A folder above that takes no new entries: an existing empty folder can still be filled.
          if (!existing) throw e;
          writeInPlace(dir, pair);
          return files;
        }
      }
      if (tryRename(staged, dir)) {
        staged = undefined;
        fsyncDir(parent);
        return files;
      }
    }
    writeInPlace(dir, pair);
    return files;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot write the report to ${dir}: ${fsReason(e)}`);
  } finally {
    if (staged) rmSync(staged, { recursive: true, force: true });
  }
}

/** A new temporary folder in `parent` holding both files, flushed to disk. */
function stage(parent: string, name: string, pair: Pair): string {
  const folder = tempPath(parent, name);
  mkdirSync(folder);
  try {
    writeNewFileSynced(join(folder, HTML_NAME), pair.html);
    writeNewFileSynced(join(folder, JSON_NAME), pair.json);
    fsyncDir(folder);
  } catch (e) {
    rmSync(folder, { recursive: true, force: true });
    throw e;
  }
  return folder;
}

/** False when the target is a non-empty folder by now (another writer was first). */
function tryRename(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw e;
  }
}

/** Replaces the pair inside an existing folder (see writeReport). */
function writeInPlace(dir: string, pair: Pair): void {
  removeStaleTemps(dir, 'report');
  const staged = stage(dir, 'report', pair);
  try {
    withLock(dir, () => {
      renameSync(join(staged, HTML_NAME), join(dir, HTML_NAME));
      renameSync(join(staged, JSON_NAME), join(dir, JSON_NAME));
    });
    rmdirSync(staged);
    fsyncDir(dir);
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}

/**
 * Runs `fn` holding `dir/.report.lock` (created exclusively, holding the pid). A lock whose
 * process is gone, or that is older than the wait, was left by a killed writer and is broken.
 */
function withLock(dir: string, fn: () => void): void {
  const lock = join(dir, LOCK_NAME);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (lockIsStale(lock)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new InputError(`cannot write the report to ${dir}: ${lock} is held by another writer (remove it if none runs)`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  }
  try {
    fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function lockIsStale(lock: string): boolean {
  try {
    const age = Date.now() - statSync(lock).mtimeMs;
    const pid = Number(readFileSync(lock, 'utf8'));
    // No pid yet: its writer is between creating and filling it, or was killed there.
    if (!Number.isInteger(pid) || pid <= 0) return age > LOCK_WAIT_MS;
    process.kill(pid, 0);
    return age > LOCK_WAIT_MS;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ESRCH: the process is gone; ENOENT: released meanwhile (retry at once).
    return code === 'ESRCH' || code === 'ENOENT';
  }
}

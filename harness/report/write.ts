/** Writes a report directory: report.json and the self-contained report.html, as a pair. */
import { mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type ReportData } from '../results/index.ts';
import { InputError } from '../util/errors.ts';
import { fsReason, fsyncDir, removeStaleTemps, tempPath, writeNewFileSynced } from '../util/files.ts';
import { renderReportHtml } from './page.ts';

const JSON_NAME = 'report.json';
const HTML_NAME = 'report.html';
/** Renames that lose a race with another writer of the same folder are retried this often. */
const ATTEMPTS = 8;

type Pair = { json: string; html: string };

/**
 * Writes `report.json` and `report.html` into `dir` so that a reader never sees one without the
 * other. Both are rendered first (a failed render writes nothing), then written and flushed into
 * a temporary folder beside `dir`, which is renamed into place:
 * - `dir` missing (or empty): the folder appears with both files at once;
 * - `dir` holding only a previous report: the old folder is renamed aside, the new one into
 *   place, the old one removed. For an instant the path does not exist; it never holds half a
 *   pair (nor, when the folder above is not writable, is the swap tried: as below);
 * - `dir` holding anything else: the user's folder is not moved. Both files are staged in a
 *   temporary folder inside it and renamed over the old ones, report.html first: an existing pair
 *   stays a pair throughout, and in a folder that had none, report.json appears last, so a reader
 *   that finds it finds report.html too.
 * Nothing temporary is left behind on failure. An unwritable `dir` is an InputError naming it.
 */
export function writeReport(dir: string, data: ReportData): { json: string; html: string } {
  const pair: Pair = { html: renderReportHtml(data), json: `${JSON.stringify(data, null, 2)}\n` };
  const files = { json: join(dir, JSON_NAME), html: join(dir, HTML_NAME) };
  const parent = dirname(dir);
  const name = basename(dir);
  const fail = (e: unknown): never => {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot write the report to ${dir}: ${fsReason(e)}`);
  };
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    fail(e);
  }
  removeStaleTemps(parent, name);

  let staged: string | undefined;
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const existing = statOrUndefined(dir);
      if (existing && !existing.isDirectory()) throw new InputError(`cannot write the report to ${dir}: it exists and is not a directory`);
      if (existing && !holdsOnlyReport(dir)) {
        writeInPlace(dir, pair);
        return files;
      }
      if (!staged) {
        try {
          staged = stage(parent, name, pair);
        } catch (e) {
          // A folder above that takes no new entries: a previous report can still be replaced in place.
          if (!existing) throw e;
          writeInPlace(dir, pair);
          return files;
        }
      }
      if (!existing) {
        if (!tryRename(staged, dir)) continue; // another writer created it meanwhile
      } else {
        const aside = tempPath(parent, name, 'old');
        let moved: boolean;
        try {
          moved = tryRename(dir, aside);
        } catch (e) {
          // e.g. a sticky folder above owned by someone else: the folder stays, its files are replaced.
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'EPERM' && code !== 'EACCES') throw e;
          writeInPlace(dir, pair);
          return files;
        }
        if (!moved) continue; // another writer moved it meanwhile
        if (!tryRename(staged, dir)) {
          // another writer's report took the place: the old one is superseded either way
          if (!tryRename(aside, dir)) rmSync(aside, { recursive: true, force: true });
          continue;
        }
        rmSync(aside, { recursive: true, force: true });
      }
      staged = undefined;
      fsyncDir(parent);
      return files;
    }
    throw new InputError(`cannot write the report to ${dir}: other writers kept replacing it (${ATTEMPTS} attempts)`);
  } catch (e) {
    return fail(e);
  } finally {
    if (staged) rmSync(staged, { recursive: true, force: true });
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function holdsOnlyReport(dir: string): boolean {
  return readdirSync(dir).every((n) => n === JSON_NAME || n === HTML_NAME);
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

/** False when the rename lost a race (source gone, or target created meanwhile); other errors throw. */
function tryRename(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw e;
  }
}

/** Replaces the pair inside an existing folder that holds other files too (see writeReport). */
function writeInPlace(dir: string, pair: Pair): void {
  removeStaleTemps(dir, 'report');
  const staged = stage(dir, 'report', pair);
  try {
    renameSync(join(staged, HTML_NAME), join(dir, HTML_NAME));
    renameSync(join(staged, JSON_NAME), join(dir, JSON_NAME));
    rmdirSync(staged);
    fsyncDir(dir);
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}

/**
 * File writing that never leaves half a file behind.
 *
 * Every write goes to a uniquely named temporary file beside the target
 * (`.<name>.<pid>.<random>.tmp`, hidden and never equal to any target name), is flushed to disk,
 * then renamed over the target: a reader sees the previous file or the new one, whole. Two
 * writers to one path each rename their own temporary file; the last rename wins. On any failure
 * the temporary file is removed and the error is an InputError naming the file and the reason.
 * A writer killed outright (SIGKILL, power loss) can leave its temporary file; the next write
 * into that folder removes it once its process is gone and it has not changed for a minute.
 */
import { randomBytes } from 'node:crypto';
import {
  accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync,
  type Stats, unlinkSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from './errors.ts';

/** Temporary files older than this, of a process that is gone, are left-overs of a killed writer. */
const STALE_MS = 60_000;

/** What went wrong, in words, with the errno code for searching. */
export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EISDIR: 'it is a directory',
    ENOTDIR: 'a component of the path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EFBIG: 'file too large for the file size limit',
    ENAMETOOLONG: 'name too long',
    ENOENT: 'no such file or directory',
    EEXIST: 'it exists already',
    ENOTEMPTY: 'directory not empty',
  };
  if (err.code && words[err.code]) return `${words[err.code]} (${err.code})`;
  return err.code ? `${err.message} (${err.code})` : err.message;
}

/**
 * A fresh name beside `base` in `dir`: `.<base>.<pid>.<random>.tmp`. Hidden, unique per process
 * and call, and recognised by removeStaleTemps.
 */
export function tempPath(dir: string, base: string): string {
  return join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Removes temporary files and folders named by tempPath for `base` in `dir` whose process no
 * longer runs and which have not changed for a minute (a live writer on another host or in
 * another PID namespace touches its file continuously, so it is not taken for dead).
 * Best effort: anything it cannot inspect or remove stays.
 */
export function removeStaleTemps(dir: string, base: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processRuns(pid)) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs < STALE_MS) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {
      // another writer removed it first, or it cannot be removed: harmless either way
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs under another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `path` (which must not exist), writes `data` and flushes it to disk; removes it on failure. */
export function writeNewFileSynced(path: string, data: string | Uint8Array): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx');
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the write error is the one worth reporting
      }
    }
    rmSync(path, { force: true });
    throw e;
  }
}

/**
 * Flushes a folder's entries (a rename in it) to disk. Not every platform can open a folder for
 * this (Windows cannot); there the rename is as durable as the file system makes it anyway.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // see above
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` to `file` atomically (see the module comment); creates missing parent folders. */
export function writeFileAtomically(file: string, data: string | Uint8Array): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(`cannot write ${file}: cannot create its folder ${dir}: ${fsReason(e)}`);
  }
  removeStaleTemps(dir, basename(file));
  const temp = tempPath(dir, basename(file));
  try {
    writeNewFileSynced(temp, data);
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new InputError(`cannot write ${file}: ${fsReason(e)}`);
  }
  fsyncDir(dir);
}

/** JSON with typed arrays as plain arrays and Maps as objects. */
export function toJson(data: unknown): string {
  return `${JSON.stringify(
    data,
    (_k, v: unknown) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      if (v instanceof Map) return Object.fromEntries(v);
      return v;
    },
    2,
  )}\n`;
}

export function writeJsonAtomically(file: string, data: unknown): void {
  writeFileAtomically(file, toJson(data));
}

/** The file's stats, or undefined when nothing is there. */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The folder a new entry at `path` would be created in: the nearest existing ancestor (missing
 * ones are created on write). Throws an InputError when that ancestor is not a folder.
 */
function nearestFolder(path: string, what: string): string {
  let dir = dirname(resolve(path));
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statOrUndefined(dir);
    } catch (e) {
      throw new InputError(`cannot write ${what}: ${dir}: ${fsReason(e)}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new InputError(`cannot write ${what}: ${dir} is not a directory`);
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new InputError(`cannot write ${what}: no existing folder above it`);
    dir = up;
  }
}

/** Creates and removes a file in `dir`: the one test that covers permissions, read-only mounts and ACLs alike. */
function probeCreate(dir: string, what: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    const probe = tempPath(dir, 'fkb-probe');
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new InputError(`cannot write ${what}: cannot create files in ${dir}: ${fsReason(e)}`);
  }
}

/**
 * Checks, before any long computation, that writeFileAtomically(file) could succeed: `file` is
 * not a folder, and its folder exists or can be created (the nearest existing ancestor is a
 * folder in which files can be created). Throws an InputError naming the path and the reason.
 * Creates nothing that stays.
 */
export function assertWritable(file: string): void {
  let st: Stats | undefined;
  try {
    st = statOrUndefined(file);
  } catch (e) {
    throw new InputError(`cannot write ${file}: ${fsReason(e)}`);
  }
  if (st?.isDirectory()) throw new InputError(`cannot write ${file}: it is a directory`);
  probeCreate(nearestFolder(file, file), file);
}

/**
 * Checks, before any long computation, that files can be written into the folder `dir`: it is a
 * folder in which files can be created, or it does not exist and the nearest existing ancestor
 * is such a folder. Throws an InputError naming the path and the reason. Creates nothing that stays.
 */
export function assertWritableDir(dir: string): void {
  let st: Stats | undefined;
  try {
    st = statOrUndefined(dir);
  } catch (e) {
    throw new InputError(`cannot write into ${dir}: ${fsReason(e)}`);
  }
  if (st && !st.isDirectory()) throw new InputError(`cannot write into ${dir}: it exists and is not a directory`);
  if (st) probeCreate(dir, `into ${dir}`);
  else probeCreate(nearestFolder(dir, `into ${dir}`), `into ${dir}`);
}

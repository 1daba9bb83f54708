/**
 * The embedded store of `fkb search`: one SQLite file (better-sqlite3) holding the search's
 * settings and every evaluated candidate, so a killed search resumes without evaluating again
 * anything stored.
 *
 *   meta(key PRIMARY KEY, value)        'spec': the settings that decide what a candidate's
 *                                       result is (model and its hash, images, device, seed,
 *                                       space); a resume with other settings is refused
 *   candidates(key PRIMARY KEY, ...)    key = sha256 of the search context, the seed and the
 *                                       candidate's full configuration (space.ts candidateKey);
 *                                       config and result as JSON, `seq` the order of first
 *                                       storing
 *
 * Writes are idempotent: INSERT OR IGNORE on the key, so storing a result twice (a batch
 * replayed after a crash) changes nothing. Each batch is one transaction, and the journal is
 * SQLite's WAL: a process killed mid-write leaves the last committed batch.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../util/errors.ts';

export interface StoredCandidate<C, R> {
  key: string;
  config: C;
  result: R;
}

export class SearchStore<C, R> {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly lookup: Database.Statement;

  /**
   * Opens `path`. A new search (`resume` false) refuses an existing file with candidates; a resume
   * refuses a missing file and a spec that differs from the stored one.
   */
  constructor(readonly path: string, spec: unknown, resume: boolean) {
    const exists = existsSync(path);
    if (resume && !exists) throw new InputError(`--resume: ${path} does not exist (start the search without --resume)`);
    if (!exists) mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS candidates (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, config TEXT NOT NULL, result TEXT NOT NULL);`);
    } catch (e) {
      throw new InputError(`${path}: not a search store (${(e as Error).message})`);
    }
    const text = JSON.stringify(spec);
    const stored = (this.db.prepare('SELECT value FROM meta WHERE key = ?').get('spec') as { value: string } | undefined)?.value;
    const count = this.count();
    if (!resume && (count > 0 || stored !== undefined)) {
      this.db.close();
      throw new InputError(`${path} already holds a search (${count} candidates): continue it with --resume, or give another --db`);
    }
    if (resume && stored !== undefined && stored !== text) {
      this.db.close();
      const a = JSON.parse(stored) as Record<string, unknown>;
      const b = JSON.parse(text) as Record<string, unknown>;
      const differ = Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
      throw new InputError(`--resume: ${path} was started with other settings (${differ.map((k) => `${k}: ${JSON.stringify(a[k])} then, ${JSON.stringify(b[k])} now`).join('; ')})`);
    }
    this.db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('spec', text);
    this.insert = this.db.prepare('INSERT OR IGNORE INTO candidates (key, seq, config, result) VALUES (?, (SELECT COUNT(*) FROM candidates), ?, ?)');
    this.lookup = this.db.prepare('SELECT result FROM candidates WHERE key = ?');
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM candidates').get() as { n: number }).n;
  }

  get(key: string): R | undefined {
    const row = this.lookup.get(key) as { result: string } | undefined;
    return row ? (JSON.parse(row.result) as R) : undefined;
  }

  /** Stores every row in one transaction; a key already stored is left as it is. Returns the rows written. */
  putAll(rows: readonly StoredCandidate<C, R>[]): number {
    let written = 0;
    this.db.transaction(() => {
      for (const r of rows) written += this.insert.run(r.key, JSON.stringify(r.config), JSON.stringify(r.result)).changes;
    })();
    return written;
  }

  all(): StoredCandidate<C, R>[] {
    return (this.db.prepare('SELECT key, config, result FROM candidates ORDER BY seq').all() as { key: string; config: string; result: string }[]).map((r) => ({
      key: r.key, config: JSON.parse(r.config) as C, result: JSON.parse(r.result) as R,
    }));
  }

  close(): void {
    this.db.close();
  }
}

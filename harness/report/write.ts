/** Writes a report directory: report.json and the self-contained report.html. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ReportData } from '../results/index.ts';
import { InputError } from '../util/errors.ts';
import { renderReportHtml } from './page.ts';

/**
 * Writes `report.json` and `report.html` into `dir` (created if missing). Both are rendered
 * first and written under temporary names in `dir`, then renamed: a failed render or write leaves
 * no new file (and no temporary one), and each existing file is replaced whole or not at all. An
 * unwritable `dir` is an InputError naming it.
 */
export function writeReport(dir: string, data: ReportData): { json: string; html: string } {
  const html = renderReportHtml(data);
  const json = `${JSON.stringify(data, null, 2)}\n`;
  const files = { json: join(dir, 'report.json'), html: join(dir, 'report.html') };
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps = { json: join(dir, `.report.json.${tag}.tmp`), html: join(dir, `.report.html.${tag}.tmp`) };
  const fail = (e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    throw new InputError(`cannot write the report to ${dir}: ${err.message}`);
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail(e);
  }
  try {
    writeFileSync(temps.json, json);
    writeFileSync(temps.html, html);
    renameSync(temps.json, files.json);
    renameSync(temps.html, files.html);
  } catch (e) {
    for (const t of Object.values(temps)) rmSync(t, { force: true });
    fail(e);
  }
  return files;
}

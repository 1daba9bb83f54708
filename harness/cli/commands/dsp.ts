/**
 * `fkb dsp replay <trace.csv>`: replays a port-level DSP48E2 trace through the slice model
 * and compares P row by row. Exit 0 all rows match, 1 some differ, 2 unreadable/malformed file.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { VerificationError } from '../../util/errors.ts';
import { toHex48 } from '../../dsp/slice.ts';
import { formatPorts, readTrace, replayTrace, type ReplayedRow } from '../../dsp/trace.ts';

function parseCount(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(text);
}

function mismatchReport(r: ReplayedRow) {
  return {
    cycle: r.row.cycle,
    line: r.row.line,
    got: toHex48(r.got),
    want: toHex48(r.want),
    pPrev: toHex48(r.pPrev),
    ports: formatPorts(r.row.ports),
  };
}

export function registerDspCommand(program: Command): void {
  const dsp = program.command('dsp').description('DSP48E2 slice reference model');

  dsp
    .command('replay')
    .description('replay a port-level trace CSV (one row per clock) through the slice model and compare P')
    .argument('<trace.csv>', 'columns cycle,A_hex,B_hex,C_hex,D_hex,PCIN_hex,INMODE_bin,OPMODE_hex,ALUMODE_bin,CARRYIN,P_hex')
    .option('--json', 'print the report as JSON')
    .option('--max-mismatches <n>', 'how many mismatching rows to list', parseCount, 10)
    .action((file: string, opts: { json?: boolean; maxMismatches: number }) => {
      const { rows, summary } = replayTrace(readTrace(file));
      const listed = rows.filter((r) => !r.ok).slice(0, opts.maxMismatches).map(mismatchReport);

      if (opts.json) {
        console.log(JSON.stringify({ file, ...summary, listed }, null, 2));
      } else {
        console.log(`${file}: ${summary.matches}/${summary.rows} rows match`);
        if (listed.length > 0) console.log(`first ${listed.length} of ${summary.mismatches} mismatches:`);
        for (const m of listed) {
          const ports = Object.entries(m.ports).map(([k, v]) => `${k}=${v}`).join(' ');
          console.log(`  cycle ${m.cycle} (line ${m.line}): got ${m.got} want ${m.want}`);
          console.log(`    ${ports} P_prev=${m.pPrev}`);
        }
      }
      if (summary.mismatches > 0) {
        throw new VerificationError(`${summary.mismatches} of ${summary.rows} rows differ from the DSP48E2 model`);
      }
    });
}

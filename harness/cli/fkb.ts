/**
 * The `fkb` command line. Each command lives in commands/<name>.ts and adds itself through a
 * `register<Name>Command(program)` function; commands parse options, call one library function
 * and print.
 * Exit codes: 0 ok, 1 a verification failed, 2 bad input or usage.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { InputError, VerificationError } from '../util/errors.ts';
import { registerBenchCommand } from './commands/bench.ts';
import { registerDspCommand } from './commands/dsp.ts';
import { registerDspConvCommands } from './commands/dsp-conv.ts';
import { registerModelCommand } from './commands/model.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerVariantsCommand } from './commands/variants.ts';
import { registerVerifyCommand } from './commands/verify.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerSweepCommand } from './commands/sweep.ts';
import { registerCompareCommand } from './commands/compare.ts';
import { registerCompressCommand } from './commands/compress.ts';
import { registerQuantizeCommand } from './commands/quantize.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  description: string;
};

const program = new Command('fkb')
  .description(pkg.description)
  .version(pkg.version)
  // Throw instead of exiting, so usage errors become exit code 2 below (set before adding commands: inherited).
  .exitOverride();

registerVariantsCommand(program);
registerVerifyCommand(program);
registerBenchCommand(program);
registerRunCommand(program);
registerDspCommand(program);
registerDspConvCommands(program.commands.find((c) => c.name() === 'dsp')!);
registerModelCommand(program);
registerSweepCommand(program);
registerCompareCommand(program);
registerCompressCommand(program);
registerQuantizeCommand(program);
registerServeCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed help, the version or the usage error.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof InputError) {
    console.error(`fkb: ${err.message}`);
    process.exitCode = 2;
  } else if (err instanceof VerificationError) {
    console.error(`fkb: ${err.message}`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}

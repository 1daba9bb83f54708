/**
 * The `fkb` command line. Each command lives in commands/<name>.ts and adds itself through a
 * `register<Name>Command(program)` function; commands parse options, call one library function
 * and print.
 * Exit codes (EXIT): 0 ok, 1 a verification failed, 2 bad input or usage, 3 an internal error
 * (a bug: no input a user can type should reach it; it prints the stack for the report).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { InputError, VerificationError } from '../util/errors.ts';
import { registerBenchCommand } from './commands/bench.ts';
import { registerDspCommand } from './commands/dsp.ts';
import { registerDspConvCommands } from './commands/dsp-conv.ts';
import { registerDspOverpackCommands } from './commands/dsp-overpack.ts';
import { registerModelCommand } from './commands/model.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerVariantsCommand } from './commands/variants.ts';
import { registerVerifyCommand } from './commands/verify.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerSweepCommand } from './commands/sweep.ts';
import { registerCompareCommand } from './commands/compare.ts';
import { registerCompressCommand } from './commands/compress.ts';
import { registerQuantizeCommand } from './commands/quantize.ts';
import { registerLowrankCommand } from './commands/lowrank.ts';
import { registerTrainCommand } from './commands/train.ts';
import { registerCosimCommand } from './commands/cosim.ts';
import { registerSynthCommand } from './commands/synth.ts';
import { registerSearchCommand } from './commands/search.ts';

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
registerDspOverpackCommands(program.commands.find((c) => c.name() === 'dsp')!);
registerModelCommand(program);
registerSweepCommand(program);
registerCompareCommand(program);
registerCompressCommand(program);
registerQuantizeCommand(program);
registerTrainCommand(program);
registerLowrankCommand(program);
registerCosimCommand(program);
registerSynthCommand(program);
registerSearchCommand(program);
registerServeCommand(program);

const EXIT = { ok: 0, verificationFailed: 1, badInput: 2, internalError: 3 } as const;

/** The exit code of an error, after telling the user what went wrong. */
function report(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.badInput; // commander printed it
  if (err instanceof InputError) {
    console.error(`fkb: ${err.message}`);
    return EXIT.badInput;
  }
  if (err instanceof VerificationError) {
    console.error(`fkb: ${err.message}`);
    return EXIT.verificationFailed;
  }
  console.error(`fkb: internal error (a bug in fpga-kernel-bench; please report it with the command line):\n${err instanceof Error ? err.stack : String(err)}`);
  return EXIT.internalError;
}

// Errors raised after the command returned (a server's request handler, a timer) end the same way.
const fatal = (err: unknown) => {
  process.exitCode = report(err);
  process.exit();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err);
}

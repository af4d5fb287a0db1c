#!/usr/bin/env node
/** Entry point: runs the CLI and turns every failure into a one-line reason and an exit code. */
import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.ts';
import { CliExit, failureLine } from './cli/exit.ts';

const out = {
  stdout: (s: string) => process.stdout.write(`${s}\n`),
  stderr: (s: string) => process.stderr.write(`${s}\n`),
};

process.on('unhandledRejection', (reason) => {
  out.stderr(`driftgate: unhandled rejection: ${String(reason)}`);
});

try {
  await buildProgram(out).parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliExit) {
    if (err.message) out.stderr(err.message);
    process.exitCode = err.exitCode;
  } else if (err instanceof CommanderError) {
    // help and version exit 0; usage errors already printed their reason
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    out.stderr(failureLine(err));
    process.exitCode = 2;
  }
}

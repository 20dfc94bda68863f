#!/usr/bin/env node
/**
 * The `polyloop` command: dispatches to a command, prints usage errors on one line (no stack),
 * and exits with the command's code once its output has been written.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { messageWithCauses, PolyloopError, TaskModuleError } from '../errors.js';
import { commands } from './commands.js';
import { EXIT_OK, EXIT_USAGE, exitCodeOf } from './exit-codes.js';

function version(): string {
  const manifest = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return [
    'Usage: polyloop <command> [options]',
    '',
    'Spread many concurrent async tasks over every core: one event loop per worker.',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help     show this help (polyloop <command> --help for a command)',
    '  -v, --version  print the version',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '-v' || name === '--version') {
    process.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`polyloop: unknown command "${name}" (see polyloop --help)\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load()).main(rest);
  } catch (error) {
    // Errors a user can fix get one line; anything else is a bug and keeps its stack. Either way
    // the exit code is not 1, which says that some inputs failed.
    if (error instanceof PolyloopError) {
      // A TaskModuleError's message already says where and why the module failed.
      const text = error instanceof TaskModuleError ? error.message : messageWithCauses(error);
      process.stderr.write(`polyloop ${name}: ${text}\n`);
      // Redis gone for good, or the queue's state lost, have codes of their own.
      return exitCodeOf(error);
    }
    process.stderr.write(`polyloop ${name}: unexpected error: ${inspect(error)}\n`);
    return EXIT_USAGE;
  }
}

// A closed stdout (`| head`) must not crash the command; the writer reports it (OutputError).
process.stdout.on('error', () => {});
const code = await main(process.argv.slice(2));
// Exit once stdout has taken everything (a pipe may still hold output), even if a task module
// left a socket or a timer open on the main thread.
if (process.stdout.destroyed) process.exit(code);
else process.stdout.write('', () => process.exit(code));

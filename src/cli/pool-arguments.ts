/**
 * The arguments every command that runs a pool takes (`run`, `worker`): the task module and the
 * pool's options, parsed and checked the same way everywhere.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PoolOptions } from '../options.js';
import { choiceOption, integerOption } from './args.js';
import { UsageError } from './usage-error.js';

/** For `parseCommand`: spread into a command's option specs. */
export const POOL_OPTIONS = {
  workers: { type: 'string', short: 'w' },
  concurrency: { type: 'string', short: 'c' },
  'fixed-concurrency': { type: 'boolean' },
  timeout: { type: 'string', short: 't' },
  retries: { type: 'string', short: 'r' },
  'retry-errors': { type: 'string' },
  'retry-delay': { type: 'string' },
  backend: { type: 'string' },
  'max-memory': { type: 'string' },
  'max-block': { type: 'string' },
} as const;

type PoolArgumentValues = Partial<
  Record<Exclude<keyof typeof POOL_OPTIONS, 'fixed-concurrency'>, string | undefined>
> & { readonly 'fixed-concurrency'?: boolean | undefined };

/** The pool's options; `workers` is as given (a command decides what 0 means). */
export function poolOptionsFrom(
  values: PoolArgumentValues,
  { minWorkers }: { minWorkers: number },
): PoolOptions {
  return {
    workers: integerOption('workers', values.workers, { min: minWorkers }),
    concurrency: integerOption('concurrency', values.concurrency, { min: 1, allowInfinity: true }),
    adaptive: values['fixed-concurrency'] === true ? false : undefined,
    timeout: integerOption('timeout', values.timeout, { min: 1, allowInfinity: true }),
    retries: integerOption('retries', values.retries, { min: 0 }),
    retryErrors: integerOption('retry-errors', values['retry-errors'], { min: 0 }),
    retryDelay: integerOption('retry-delay', values['retry-delay'], { min: 0 }),
    backend: choiceOption('backend', values.backend, ['thread', 'process']),
    maxMemoryMb: integerOption('max-memory', values['max-memory'], { min: 1 }),
    maxBlockMs: integerOption('max-block', values['max-block'], { min: 1, allowInfinity: true }),
  };
}

/** The one positional argument, an existing task module; `usage` shows how the command is called. */
export function taskModuleArgument(positionals: string[], usage: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `Missing the task module (${usage})`
        : `Expected one task module, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const taskPath = resolve(positionals[0]!);
  if (!existsSync(taskPath)) throw new UsageError(`Cannot find the task module ${positionals[0]}`);
  return taskPath;
}

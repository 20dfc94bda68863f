/**
 * Command-line parsing on top of `util.parseArgs` (no dependency): its errors become UsageErrors,
 * and numbers are checked here so a bad one names its option.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Parse `argv` (the arguments after the command name) strictly, with positionals allowed. */
export function parseCommand<const O extends OptionSpecs>(
  argv: string[],
  options: O,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** An integer option: `undefined` when absent; `Infinity` only when `allowInfinity`. */
export function integerOption(
  name: string,
  value: string | undefined,
  { min, allowInfinity = false }: { min: number; allowInfinity?: boolean },
): number | undefined {
  if (value === undefined) return undefined;
  if (allowInfinity && /^(inf|infinity)$/i.test(value)) return Number.POSITIVE_INFINITY;
  const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    const range = allowInfinity ? `an integer >= ${min} or "infinity"` : `an integer >= ${min}`;
    throw new UsageError(`Expected --${name} to be ${range}, got "${value}"`);
  }
  return parsed;
}

/** A string option restricted to a few values. */
export function choiceOption<const C extends string>(
  name: string,
  value: string | undefined,
  choices: readonly C[],
): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`Expected --${name} to be one of ${choices.join(', ')}, got "${value}"`);
  }
  return value as C;
}

import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import {
  CONTESTANT_NAMES,
  type ContestantName,
  DEFAULT_CONTESTANTS,
  isContestantName,
} from './contestants/index.ts';
import { type InputShape, VARIANTS, type VariantName } from './workload.js';

export interface BenchArgs {
  readonly runs: number;
  readonly variants: VariantName[];
  readonly contestants: ContestantName[];
  readonly workers: number;
  readonly quick: boolean;
  /** How the input array is made (see makeInputs). */
  readonly inputs: InputShape;
}

const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];

function list<T extends string>(
  raw: string | undefined,
  all: T[],
  ok: (s: string) => boolean,
  fallback: T[] = all,
) {
  if (raw === undefined) return fallback;
  const picked = raw.split(',').map((s) => s.trim());
  const bad = picked.filter((s) => !ok(s));
  if (bad.length > 0) throw new Error(`unknown: ${bad.join(', ')} (choose from ${all.join(', ')})`);
  return picked as T[];
}

function positiveInt(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer`);
  return n;
}

/**
 * Parses run.ts's flags: --runs N --variants a,b --contestants a,b --workers P --quick
 * --inputs holey|packed.
 */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      variants: { type: 'string' },
      contestants: { type: 'string' },
      workers: { type: 'string' },
      quick: { type: 'boolean', default: false },
      inputs: { type: 'string', default: 'holey' },
    },
  });
  const contestants = list(
    values.contestants,
    CONTESTANT_NAMES,
    isContestantName,
    DEFAULT_CONTESTANTS,
  );
  return {
    runs: positiveInt(values.runs, 3, '--runs'),
    variants: list(values.variants, VARIANT_NAMES, (s) => Object.hasOwn(VARIANTS, s)),
    // one-loop is the reference for both the normalization and the result check.
    contestants: contestants.includes('one-loop') ? contestants : ['one-loop', ...contestants],
    workers: positiveInt(values.workers, availableParallelism(), '--workers'),
    quick: values.quick ?? false,
    inputs: inputShape(values.inputs),
  };
}

function inputShape(raw: string | undefined): InputShape {
  if (raw === undefined || raw === 'holey' || raw === 'packed') return raw ?? 'holey';
  throw new Error(`--inputs must be holey or packed, not '${raw}'`);
}

import type { Contestant } from './contestant.ts';

// Loaded lazily so a missing dist/ (polyloop not built yet) only breaks the polyloop runs.
export const CONTESTANTS = {
  'one-loop': () => import('./one-loop.ts'),
  static: () => import('./static.ts'),
  piscina: () => import('./piscina.ts'),
  tinypool: () => import('./tinypool.ts'),
  poolifier: () => import('./poolifier.ts'),
  polyloop: () => import('./polyloop.ts'),
  // Issue 19's floor: the leanest batching design, nothing a pool must guarantee.
  lean: () => import('./lean.ts'),
  'polyloop-process': () => import('./polyloop-process.ts'),
  // A reference rather than a rival: the ideal's own greedy schedule, run on the real threads.
  greedy: () => import('./greedy.ts'),
} satisfies Record<string, () => Promise<{ create(): Contestant }>>;

export type ContestantName = keyof typeof CONTESTANTS;

export const CONTESTANT_NAMES = Object.keys(CONTESTANTS) as ContestantName[];

/** What runs without --contestants: all but the process backend, which is asked for by name. */
export const DEFAULT_CONTESTANTS = CONTESTANT_NAMES.filter((c) => c !== 'polyloop-process');

export function isContestantName(name: string): name is ContestantName {
  return Object.hasOwn(CONTESTANTS, name);
}

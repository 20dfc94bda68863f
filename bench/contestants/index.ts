import type { Contestant } from './contestant.ts';

// Loaded lazily so a missing dist/ (polyloop not built yet) only breaks the polyloop runs.
export const CONTESTANTS = {
  'one-loop': () => import('./one-loop.ts'),
  static: () => import('./static.ts'),
  piscina: () => import('./piscina.ts'),
  tinypool: () => import('./tinypool.ts'),
  poolifier: () => import('./poolifier.ts'),
  polyloop: () => import('./polyloop.ts'),
  // A reference rather than a rival: the ideal's own greedy schedule, run on the real threads.
  greedy: () => import('./greedy.ts'),
} satisfies Record<string, () => Promise<{ create(): Contestant }>>;

export type ContestantName = keyof typeof CONTESTANTS;

export const CONTESTANT_NAMES = Object.keys(CONTESTANTS) as ContestantName[];

export function isContestantName(name: string): name is ContestantName {
  return Object.hasOwn(CONTESTANTS, name);
}

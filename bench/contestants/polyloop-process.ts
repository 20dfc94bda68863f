import type { Contestant } from './contestant.ts';
import { create as createPolyloop } from './polyloop.ts';

/** polyloop with each worker a child process (`backend: 'process'`), the rest as `polyloop`. */
export function create(): Contestant {
  return createPolyloop('process');
}

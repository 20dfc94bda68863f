// A healthy I/O-bound task: it only waits `input` ms (a timer), then returns it.
import { setTimeout as sleep } from 'node:timers/promises';

export default async function sleepTask(input) {
  await sleep(input);
  return input;
}

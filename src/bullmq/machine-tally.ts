/**
 * Each machine's share of a run, kept in Redis so the run can be watched from anywhere: every
 * worker adds, once a second, the inputs it finished since the last time (and notes when), in
 * one hash per queue; `collect` and `QueueMonitor` read it back.
 */
import type { QueueBase } from 'bullmq';

/** Under the queue's prefix, so obliterating the queue removes it too. */
export const MACHINES_KEY_SUFFIX = 'polyloop:machines';
const FLUSH_EVERY_MS = 1000;

/** One machine's inputs finished so far, as its worker last reported them. */
export interface MachineShare {
  /** The worker's `name` (default `host:pid`). */
  readonly name: string;
  /** Inputs finished with a value. */
  readonly done: number;
  /** Inputs finished with an error. */
  readonly failed: number;
  /** When it last reported (epoch ms): a machine that stopped or died stops moving. */
  readonly lastSeen: number;
}

type Client = Awaited<QueueBase['client']>;
/** The ioredis commands used here, which BullMQ's client type does not list. */
interface Tallying {
  hincrby(key: string, field: string, increment: number): Promise<number>;
}

/** Adds a worker's counts to the queue's tally, once a second and when it stops. */
export class MachineTally {
  #reported = { done: 0, failed: 0 };
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly owner: QueueBase,
    private readonly name: string,
    private readonly counts: () => { readonly completed: number; readonly failed: number },
  ) {
    this.#timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.#timer.unref();
  }

  /** Adds what finished since the last flush. A failed write is retried with the next one. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Stops the timer and adds the last counts. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #write(): Promise<void> {
    const { completed, failed } = this.counts();
    const done = completed - this.#reported.done;
    const newlyFailed = failed - this.#reported.failed;
    if (done === 0 && newlyFailed === 0) return;
    try {
      const client = (await this.owner.client) as Client & Tallying;
      const key = this.owner.toKey(MACHINES_KEY_SUFFIX);
      // Sent together: one round trip.
      await Promise.all([
        client.hincrby(key, `done:${this.name}`, done),
        client.hincrby(key, `failed:${this.name}`, newlyFailed),
        client.hset(key, { [`seen:${this.name}`]: Date.now() }),
      ]);
      this.#reported = { done: completed, failed };
    } catch {
      // Redis is away: these counts go with the next flush.
    }
  }
}

/** Every machine's share of the queue's run so far, the largest first. */
export async function readMachineShares(owner: QueueBase): Promise<MachineShare[]> {
  const client: Client = await owner.client;
  const fields = await client.hgetall(owner.toKey(MACHINES_KEY_SUFFIX));
  const byName = new Map<string, { done: number; failed: number; lastSeen: number }>();
  for (const [field, value] of Object.entries(fields)) {
    const colon = field.indexOf(':');
    const kind = field.slice(0, colon);
    const name = field.slice(colon + 1);
    const share = byName.get(name) ?? { done: 0, failed: 0, lastSeen: 0 };
    if (kind === 'done') share.done = Number(value);
    else if (kind === 'failed') share.failed = Number(value);
    else if (kind === 'seen') share.lastSeen = Number(value);
    byName.set(name, share);
  }
  return [...byName]
    .map(([name, share]) => ({ name, ...share }))
    .sort((a, b) => b.done + b.failed - (a.done + a.failed));
}

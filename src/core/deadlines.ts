/**
 * Task timeouts with one timer for the whole pool instead of one per task. Tasks with the same
 * timeout are dispatched in order, so their deadlines are already sorted: a FIFO queue per
 * distinct timeout value is enough, and settled tasks are dropped lazily from the head.
 */
import { WakeUp } from './wake-up.js';

interface Timed {
  readonly settled: boolean;
  readonly deadline: number;
}

/** Below this many entries a queue is never filtered (see Deadlines.add). */
const MIN_COMPACT = 1024;

class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  /** Filter out settled entries once the queue reaches this size. */
  compactAt = MIN_COMPACT;
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): void {
    this.items[this.head++] = undefined as T;
    // Compact once the dead prefix dominates, so memory follows the live entries.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  get size(): number {
    return this.items.length - this.head;
  }
  /** Keep only the entries `keep` accepts, in order. */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.slice(this.head).filter(keep);
    this.head = 0;
  }
}

export class Deadlines<T extends Timed> {
  private readonly queues = new Map<number, Fifo<T>>();
  /** A pending timeout alone must not keep the process alive; the workers do that while busy. */
  private readonly wakeUp = new WakeUp(() => this.fire());
  /** Sweep every queue once this many have been made since the last sweep (see add). */
  private sweepAt = MIN_COMPACT;
  private queuesMade = 0;

  constructor(private readonly onExpired: (item: T) => void) {}

  add(item: T, timeout: number): void {
    let queue = this.queues.get(timeout);
    if (!queue) {
      // Calls with many different timeouts (a "time left" budget per call) make many short
      // queues whose settled entries no later add to the same queue would drop: sweep them all
      // now and then, as often as new queues appear, so the cost stays O(1) per entry.
      if (++this.queuesMade >= this.sweepAt) this.sweep();
      queue = new Fifo();
      this.queues.set(timeout, queue);
    }
    this.dropSettled(queue);
    if (queue.size >= queue.compactAt) {
      // A task stuck at the head (it ignores its signal, with a long timeout) would hold every
      // later, settled entry in memory until its own deadline: filter them out. Filtering when
      // the queue has doubled since the last time keeps the cost O(1) per entry.
      queue.retain((entry) => !entry.settled);
      queue.compactAt = Math.max(MIN_COMPACT, queue.size * 2);
    }
    queue.push(item);
    this.wakeUp.armFor(item.deadline);
  }

  /** Entries held, settled or not (for tests of the memory bound). */
  get size(): number {
    let size = 0;
    for (const queue of this.queues.values()) size += queue.size;
    return size;
  }

  clear(): void {
    this.queues.clear();
    this.wakeUp.clear();
  }

  private fire(): void {
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [timeout, queue] of this.queues) {
      for (let item = queue.peek(); item !== undefined; item = queue.peek()) {
        if (!item.settled && item.deadline > now) {
          next = Math.min(next, item.deadline);
          break;
        }
        queue.shift();
        if (!item.settled) this.onExpired(item);
      }
      if (queue.size === 0) this.queues.delete(timeout);
    }
    if (next !== Number.POSITIVE_INFINITY) this.wakeUp.armFor(next);
  }

  /** Drop settled entries from every queue, and the queues left empty. */
  private sweep(): void {
    for (const [timeout, queue] of this.queues) {
      queue.retain((entry) => !entry.settled);
      if (queue.size === 0) this.queues.delete(timeout);
    }
    this.queuesMade = 0;
    this.sweepAt = Math.max(MIN_COMPACT, this.queues.size);
  }

  private dropSettled(queue: Fifo<T>): void {
    for (let item = queue.peek(); item?.settled; item = queue.peek()) queue.shift();
  }
}

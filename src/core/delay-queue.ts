/**
 * Items that wait a while on the main thread (tasks waiting for an error retry) under one timer
 * for the whole pool, not one per item: a binary heap ordered by due time, the timer armed for
 * its head. Delays differ per item (doubling, jitter), so the per-timeout FIFOs of deadlines.ts
 * would not be sorted here; retries are rare next to tasks, so O(log n) per item is nothing.
 */
import { WakeUp } from './wake-up.js';

interface Entry<T> {
  readonly at: number;
  readonly item: T;
}

export class DelayQueue<T> {
  private readonly heap: Array<Entry<T>> = [];
  private readonly wakeUp: WakeUp;

  /**
   * `due` gets each item once its delay has passed, in due order. `keepAlive`: whether waiting
   * items keep the process alive (when nothing else does: no worker holds it open).
   */
  constructor(
    private readonly due: (item: T) => void,
    keepAlive = false,
  ) {
    // In a pool, waiting items alone do not keep the process alive: their job does (the workers'
    // keep-alive), and a job dropped meanwhile must not hold the process open until the timer.
    this.wakeUp = new WakeUp(() => this.fire(), keepAlive);
  }

  get size(): number {
    return this.heap.length;
  }

  /** Items waiting, for counting (in no particular order). */
  *items(): IterableIterator<T> {
    for (const entry of this.heap) yield entry.item;
  }

  add(item: T, delay: number): void {
    const at = performance.now() + delay;
    const heap = this.heap;
    heap.push({ at, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= heap[i]!.at) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
    this.wakeUp.armFor(at);
  }

  /** Keep only the items `keep` accepts. */
  retain(keep: (item: T) => boolean): void {
    const kept = this.heap.filter((entry) => keep(entry.item));
    // A sorted array is a heap.
    kept.sort((a, b) => a.at - b.at);
    this.heap.length = 0;
    this.heap.push(...kept);
    if (kept.length === 0) this.clear();
  }

  /** Forget every item, and the timer. */
  clear(): void {
    this.heap.length = 0;
    this.wakeUp.clear();
  }

  private fire(): void {
    const now = performance.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) this.due(this.pop());
    // `due` may have added items and armed the timer for one of them: armFor keeps the sooner.
    const head = this.heap[0];
    if (head) this.wakeUp.armFor(head.at);
  }

  private pop(): T {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left]!.at < heap[smallest]!.at) smallest = left;
        if (right < heap.length && heap[right]!.at < heap[smallest]!.at) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
        i = smallest;
      }
    }
    return top.item;
  }
}

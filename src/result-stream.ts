/**
 * The consumer side of `pool.stream()`: an async iterator over settled inputs, in completion
 * order or in input order. It holds only results not yet taken; each one taken lets the job pull
 * one more input, which is the backpressure.
 */
import type { JobSink } from './core/job.js';
import type { StreamResult } from './types.js';

type Result = StreamResult<unknown, unknown>;

export interface StreamControl {
  /** Start the job (on the first `next()`, so an unused stream costs nothing). */
  start(sink: JobSink): void;
  /** The consumer took `count` results. */
  release(count: number): void;
  /** The consumer stopped early: stop the job. */
  abandon(): void;
  /** Take no more inputs (those pulled but not started are dropped); what runs goes on. */
  endInputs?(): void;
}

export class ResultStream implements AsyncIterableIterator<Result>, JobSink {
  /** Completion order: a queue with a moving head. */
  private queue: Result[] = [];
  private head = 0;
  /** Input order: results waiting for an earlier index. */
  private readonly parked = new Map<number, Result>();
  private nextIndex = 0;
  private started = false;
  private finished = false;
  private failure: Error | undefined;
  private waiter:
    | { resolve(step: IteratorResult<Result>): void; reject(error: Error): void }
    | undefined;

  constructor(
    private readonly ordered: boolean,
    private readonly control: StreamControl,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Result>> {
    // A stream ended by return() before its first next() never starts its job.
    if (!this.started && !this.finished) {
      this.started = true;
      try {
        this.control.start(this);
      } catch (error) {
        // A source whose iterator cannot even be made fails the stream, as a rejection.
        this.finished = true;
        return Promise.reject(error);
      }
    }
    const ready = this.shift();
    if (ready) return Promise.resolve({ done: false, value: ready });
    if (this.failure) {
      const error = this.failure;
      this.failure = undefined;
      this.finished = true;
      this.parked.clear();
      return Promise.reject(error);
    }
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.waiter)
      return Promise.reject(new Error('next() called before the previous one settled'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * Start no more inputs, not even those already pulled from the source; the tasks running go on
   * and their results still come. Not part of the public type: `polyloop run`'s first Ctrl-C.
   */
  endInputs(): void {
    this.control.endInputs?.();
  }

  return(): Promise<IteratorResult<Result>> {
    if (!this.finished) {
      this.finished = true;
      if (this.started) this.control.abandon();
    }
    // A next() still waiting ends too.
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
    this.queue = [];
    this.head = 0;
    this.parked.clear();
    return Promise.resolve({ done: true, value: undefined });
  }

  // ---- JobSink ----

  settle(index: number, input: unknown, ok: boolean, result: unknown, attempts: number): void {
    if (this.finished) return;
    // `attempts` only after retries: the usual result keeps its shape (and its hidden class).
    const item: Result =
      attempts > 1
        ? ok
          ? { index, input, ok: true, value: result, attempts }
          : { index, input, ok: false, error: result as Error, attempts }
        : ok
          ? { index, input, ok: true, value: result }
          : { index, input, ok: false, error: result as Error };
    if (this.ordered && index !== this.nextIndex) {
      this.parked.set(index, item);
      return;
    }
    if (this.ordered) this.nextIndex++;
    this.queue.push(item);
    if (this.ordered) this.unpark();
    this.wake();
  }

  fail(error: Error): void {
    if (this.finished) return;
    this.failure = error;
    this.wake();
  }

  done(): void {
    this.finished = true;
    this.wake();
  }

  // ---- internals ----

  private unpark(): void {
    for (let item = this.parked.get(this.nextIndex); item; item = this.parked.get(this.nextIndex)) {
      this.parked.delete(this.nextIndex++);
      this.queue.push(item);
    }
  }

  private shift(): Result | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as Result;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.control.release(1);
    return item;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    // Taken before shift(): taking a result can finish the job, which wakes us again, re-entrantly.
    this.waiter = undefined;
    const ready = this.shift();
    if (ready) {
      waiter.resolve({ done: false, value: ready });
    } else if (this.failure) {
      const error = this.failure;
      this.failure = undefined;
      this.finished = true;
      waiter.reject(error);
    } else if (this.finished) {
      waiter.resolve({ done: true, value: undefined });
    } else {
      this.waiter = waiter;
    }
  }
}

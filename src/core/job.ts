/**
 * A job is one `run`, `map` or `stream` call: a lazily pulled input source, and a sink for its
 * settled tasks. It never pulls more inputs than the pool window beyond what its consumer has
 * taken, which is what bounds memory on an endless input stream. A pool may hold hundreds of
 * thousands of jobs at once (one per `run()`): a job holds no closure of its own, and tells its
 * owner (the engine) through one object shared by all its jobs.
 */
import { packedSlice, packsSlices } from '../protocol/dense-slice.js';
import type { Inputs } from '../types.js';
import type { JobEntry } from './jobs.js';

export interface JobSink {
  /**
   * One input settled (exactly once per index); `attempts` is how many runs its outcome took,
   * counting error retries (1 without any).
   */
  settle(index: number, input: unknown, ok: boolean, result: unknown, attempts: number): void;
  /** The job cannot go on (its input source threw, the pool broke); nothing more will be settled. */
  fail(error: Error): void;
  /** Every input was pulled and settled. */
  done(): void;
}

export interface JobOptions {
  readonly timeout: number;
  /** Whether the consumer says when it took a result (a stream); otherwise settling releases it. */
  readonly pacedByConsumer: boolean;
}

/** What the owner of many jobs hears from each: each hook before the job's sink hears the same. */
export interface JobOwner {
  /**
   * The most inputs pulled and not yet released: the pool window (every worker's window). Read
   * each time: the window grows.
   */
  poolWindow(): number;
  /** An async source has new inputs ready. */
  readable(job: Job): void;
  /**
   * After a settle, a release or `endInputs`: the job's room, its undealt inputs or whether it
   * has any left may have changed (see Jobs.update).
   */
  changed?(job: Job): void;
  /** `count` tasks of the job settled, all fulfilled (`ok`) or all failed. */
  settled?(job: Job, ok: boolean, count: number): void;
  failed?(job: Job, error: Error): void;
  done?(job: Job): void;
}

/** The buffer of a job over an array, which never buffers: shared, always empty. */
const NO_BUFFER: unknown[] = [];

/** The most inputs an async source fetches ahead of the dispatcher's demand (within the window). */
const ASYNC_PREFETCH = 256;

export class Job {
  readonly timeout: number;
  /** Inputs taken from the source so far; also the next input's index. */
  pulled = 0;
  /** Inputs handed to the dispatcher; also the index of the next one handed out. */
  dispatched = 0;
  /** Run when the engine drops the job (e.g. to remove an abort listener). */
  cleanup: (() => void) | undefined;
  /** Tasks dispatched and not yet settled (those waiting for an error retry included). */
  inFlight = 0;
  /**
   * Tasks waiting out an error retry's delay: they hold no worker's slot, so they do not hold
   * back this job's other inputs either — up to one pool window of them (see room()).
   */
  retryWaiting = 0;
  /** Results the consumer has taken (a stream) or that settled (run, map). */
  released = 0;
  finished = false;
  /** Where the engine's Jobs files this job (Jobs' own record; see jobs.ts). */
  entry: JobEntry | undefined = undefined;

  private readonly pacedByConsumer: boolean;
  /** Arrays are read by index: no iterator result object per input on the hot path. */
  private readonly array: readonly unknown[] | undefined;
  /** The array's slices would clone as sparse ones: they are copied packed (dense-slice.ts). */
  private readonly packSlices: boolean = false;
  private readonly sync: Iterator<unknown> | undefined;
  private readonly async: AsyncIterator<unknown> | undefined;
  private exhausted = false;
  /** endInputs() was called: nothing more is taken, even from the buffer. */
  private inputsEnded = false;
  private readonly buffer: unknown[];
  private fetching = false;
  private notifyQueued = false;

  constructor(
    inputs: Inputs<unknown>,
    private readonly sink: JobSink,
    private readonly owner: JobOwner,
    options: JobOptions,
  ) {
    this.timeout = options.timeout;
    this.pacedByConsumer = options.pacedByConsumer;
    this.buffer = Array.isArray(inputs) ? NO_BUFFER : [];
    if (Array.isArray(inputs)) {
      this.array = inputs;
      this.packSlices = packsSlices(inputs);
    } else if (typeof (inputs as Iterable<unknown>)?.[Symbol.iterator] === 'function') {
      this.sync = (inputs as Iterable<unknown>)[Symbol.iterator]();
    } else if (typeof (inputs as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function') {
      this.async = (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    } else {
      throw new TypeError('Expected `inputs` to be an Iterable or an AsyncIterable');
    }
  }

  /**
   * Inputs that may still be dispatched before the consumer catches up. Inputs waiting in the
   * buffer do not take slots (the dispatcher must still see a full window as full); an async
   * source's buffer is filled only up to this room, so the source is never pulled further ahead
   * of the consumer than the window.
   */
  private room(): number {
    const window = this.owner.poolWindow();
    const waiting = Math.min(this.retryWaiting, window);
    return window - (this.dispatched - this.released - waiting);
  }

  /** Whether `take` could return something right now. */
  hasReady(): boolean {
    return this.holdUp() === 'none';
  }

  /**
   * What keeps `take` from returning something right now: nothing, the room (the window, or a
   * consumer behind), the source (an async one fetching), or the end of the inputs (for good).
   */
  holdUp(): 'none' | 'room' | 'source' | 'end' {
    if (this.finished || this.inputsEnded) return 'end';
    // The buffer first: read on every call, it has type feedback when V8 compiles the caller.
    if (this.buffer.length === 0 && this.exhausted) return 'end';
    if (this.room() <= 0) return 'room';
    if (this.async && this.buffer.length === 0) {
      // The window may have grown since the buffer was last filled.
      this.prefetch();
      return this.buffer.length > 0 ? 'none' : 'source';
    }
    return 'none';
  }

  /** Inputs pulled from the source and not yet taken (fetched ahead, or peeked at). */
  get undealt(): number {
    return this.buffer.length;
  }

  /** Take up to `max` inputs (fewer, or none, if the source has fewer ready). */
  take(max: number): unknown[] {
    if (this.finished || this.inputsEnded) return [];
    const n = Math.min(max, this.room());
    let out: unknown[] = [];
    let taken = 0;
    if (this.array) {
      const array = this.array;
      const end = Math.min(array.length, this.pulled + n);
      // One copy of the run, not a push per input.
      if (end > this.pulled) {
        out = this.packSlices
          ? packedSlice(array, this.pulled, end)
          : array.slice(this.pulled, end);
      }
      taken = end - this.pulled;
      this.pulled = end;
      if (end === array.length) {
        this.exhausted = true;
        if (taken === 0) this.checkDone();
      }
    } else if (this.sync) {
      // First the input peekEnd kept, if any (already counted as pulled).
      while (taken < n && this.buffer.length > 0) {
        out.push(this.buffer.shift());
        taken++;
      }
      const fromBuffer = taken;
      while (taken < n && !this.exhausted) {
        let step: IteratorResult<unknown>;
        try {
          step = this.sync.next();
        } catch (error) {
          // The job failed: nothing of it is dispatched any more.
          this.failSource(error);
          return [];
        }
        if (this.finished) {
          // Reading the source ended the job (its code aborted the call): take nothing more, and
          // let the source clean up now that it is no longer running (return() failed inside it).
          this.closeSource();
          return [];
        }
        if (step.done) {
          this.exhausted = true;
          break;
        }
        out.push(step.value);
        taken++;
      }
      this.pulled += taken - fromBuffer;
      // The source ran dry with nothing left in flight: nobody else would notice the job is done.
      if (taken === 0 && this.exhausted) this.checkDone();
    } else {
      taken = Math.min(n, this.buffer.length);
      for (let i = 0; i < taken; i++) out.push(this.buffer[i]);
      this.buffer.splice(0, taken);
      // `pulled` counts fetched inputs (they sit in memory), so it was advanced by `fetch`.
    }
    this.inFlight += taken;
    this.dispatched += taken;
    // Refill after counting what was taken: the room left depends on it.
    if (this.async) this.prefetch();
    return out;
  }

  /** Keep a small buffer of an async source's inputs ready for the dispatcher. */
  prefetch(): void {
    if (!this.async || this.fetching || this.exhausted || this.finished) return;
    this.fetching = true;
    void this.prefetchLoop(this.async);
  }

  private async prefetchLoop(source: AsyncIterator<unknown>): Promise<void> {
    try {
      while (
        !this.exhausted &&
        !this.finished &&
        this.buffer.length < Math.min(ASYNC_PREFETCH, this.room())
      ) {
        const step = await source.next();
        if (this.finished || this.inputsEnded) return;
        if (step.done) {
          this.exhausted = true;
        } else {
          this.buffer.push(step.value);
          this.pulled++;
        }
        this.notifyReadable();
      }
    } catch (error) {
      this.failSource(error);
    } finally {
      this.fetching = false;
    }
    this.checkDone();
  }

  /**
   * Tell the dispatcher once per turn of the event loop, not per input: a source whose inputs are
   * ready (a file being read) fills the buffer within one turn, and then goes out as one batch
   * per worker instead of one message per input.
   */
  private notifyReadable(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      if (!this.finished) this.owner.readable(this);
    });
  }

  /**
   * Dispatch nothing more: inputs pulled but not dispatched are dropped (they never ran, and are
   * never settled), the source is closed; the job ends once its tasks in flight have settled.
   */
  endInputs(): void {
    if (this.finished || this.inputsEnded) return;
    this.inputsEnded = true;
    this.exhausted = true;
    this.buffer.length = 0;
    this.closeSource();
    this.checkDone();
    this.owner.changed?.(this);
  }

  /** The consumer took results: there may be room to pull more. */
  release(count: number): void {
    this.releaseQuietly(count);
    this.owner.changed?.(this);
  }

  private releaseQuietly(count: number): void {
    this.released += count;
    if (this.async) this.prefetch();
    else if (this.inFlight === 0 && this.pacedByConsumer) {
      this.peekEnd();
      this.checkDone();
    }
  }

  /** A task of this job settled. */
  settle(index: number, input: unknown, ok: boolean, result: unknown, attempts = 1): void {
    this.inFlight--;
    if (!this.pacedByConsumer) this.releaseQuietly(1);
    this.owner.settled?.(this, ok, 1);
    this.sink.settle(index, input, ok, result, attempts);
    this.afterSettling();
  }

  /**
   * Tell the caller of one fulfilled task of a run: the counting is `fulfilledRun`'s, once for
   * the run, after the last of them (a results message settles hundreds of tasks at once).
   */
  fulfilledOne(index: number, input: unknown, value: unknown, attempts: number): void {
    this.sink.settle(index, input, true, value, attempts);
  }

  /** `count` tasks told through `fulfilledOne` settled. */
  fulfilledRun(count: number): void {
    this.inFlight -= count;
    if (!this.pacedByConsumer) this.releaseQuietly(count);
    this.owner.settled?.(this, true, count);
    this.afterSettling();
  }

  private afterSettling(): void {
    if (this.inFlight === 0) this.peekEnd();
    this.checkDone();
    this.owner.changed?.(this);
  }

  /**
   * A sync source shows its end only when asked for one more input, which the dispatcher does
   * only with a free slot. With every input settled but slots still held (timed-out tasks still
   * running), ask now, keeping the input if there is one.
   */
  private peekEnd(): void {
    const source = this.sync;
    if (!source || this.exhausted || this.finished || this.buffer.length > 0) return;
    if (this.room() <= 0) return; // release() asks again once the consumer makes room
    let step: IteratorResult<unknown>;
    try {
      step = source.next();
    } catch (error) {
      this.failSource(error);
      return;
    }
    if (step.done) this.exhausted = true;
    else {
      this.buffer.push(step.value);
      this.pulled++;
    }
  }

  checkDone(): void {
    if (this.finished || !this.exhausted || this.inFlight > 0 || this.buffer.length > 0) return;
    this.finished = true;
    this.owner.done?.(this);
    this.sink.done();
  }

  /** Stop for good: pull nothing more, and let the source clean up (a generator's `finally`). */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    this.buffer.length = 0;
    this.closeSource();
  }

  /** Let the source clean up (a generator's `finally`). */
  private closeSource(): void {
    try {
      const closing = (this.sync ?? this.async)?.return?.();
      if (closing && typeof (closing as Promise<unknown>).catch === 'function') {
        (closing as Promise<unknown>).catch(() => {});
      }
    } catch {
      // A source that throws while closing has nothing more to give us.
    }
  }

  /**
   * The job cannot go on (its call was aborted, the pool broke): its owner drops it, its caller
   * hears `error`. Nothing more is settled; a finished job hears nothing.
   */
  fail(error: Error): void {
    if (!this.finished) this.failNow(error);
  }

  private failNow(error: Error): void {
    this.owner.failed?.(this, error);
    this.stop();
    this.sink.fail(error);
  }

  private failSource(error: unknown): void {
    if (this.finished) return;
    this.exhausted = true;
    // Finished first: a source that threw is not asked to clean up.
    this.finished = true;
    this.failNow(error instanceof Error ? error : new Error(String(error)));
  }
}

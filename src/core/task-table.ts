/**
 * Every task on a worker, and the only writer of its state. A task is (batch, offset): a batch is
 * the tasks of one 'run' message, tracked as a whole — a few array slots per task, no object, map
 * entry or promise per task. A task settles for its caller exactly once: when its worker reports
 * its end, or earlier (a timeout, an abort) while it keeps running and keeps its place; or when
 * its worker dies (crash recovery settles or re-queues it). A task that failed with its own error
 * may be taken for a retry instead (`retry`): it leaves its batch unsettled by it, and its job
 * waits for the next attempt.
 */
import { type Attempts, runsOf } from './attempts.js';
import type { Job } from './job.js';
import type { WorkerRecord } from './workers.js';

/** Task states within a batch. */
const RUNNING = 0;
/** Settled for the caller (timed out, aborted): given up on, but still running on its worker. */
const GIVEN_UP = 1;
const ENDED = 2;

/** Inputs of one job taken for dispatch; a batch once sent. */
export interface Segment {
  readonly job: Job;
  /** The input index of position 0, when the positions are consecutive indices (else -1). */
  readonly firstIndex: number;
  /** Explicit input indices (retried or dealt tasks), instead of `firstIndex + position`. */
  readonly indices?: number[] | undefined;
  /** Earlier runs cut short by dying workers; undefined: none for any. */
  readonly attempts?: Attempts[] | undefined;
  readonly inputs: unknown[];
}

export interface Batch extends Segment {
  readonly id: number;
  readonly worker: WorkerRecord;
  readonly state: Uint8Array;
  /** Tasks the worker has not reported ended. */
  running: number;
  /** Tasks not yet settled for the caller. */
  unsettled: number;
  /** When it was sent (performance.now()). */
  readonly sentAt: number;
  readonly deadline: number;
  /** For the deadline queue: nothing left to time out. */
  readonly settled: boolean;
}

/** A class, not a literal: a literal with a getter is built by a runtime call, ~1 µs a batch. */
class SentBatch implements Batch {
  readonly job: Job;
  readonly firstIndex: number;
  readonly indices: number[] | undefined;
  readonly attempts: Attempts[] | undefined;
  readonly inputs: unknown[];
  readonly state: Uint8Array;
  running: number;
  unsettled: number;
  readonly deadline: number;

  constructor(
    readonly id: number,
    readonly worker: WorkerRecord,
    segment: Segment,
    readonly sentAt: number,
  ) {
    const n = segment.inputs.length;
    this.job = segment.job;
    this.firstIndex = segment.firstIndex;
    this.indices = segment.indices;
    this.attempts = segment.attempts;
    this.inputs = segment.inputs;
    this.state = new Uint8Array(n);
    this.running = n;
    this.unsettled = n;
    this.deadline = sentAt + segment.job.timeout;
  }

  get settled(): boolean {
    return this.unsettled === 0;
  }
}

/** A worker's share of the table. */
export interface WorkerTasks {
  /** Batches with tasks still running on this worker. */
  readonly batches: Map<number, Batch>;
  /** Tasks running on this worker, settled or not: what counts against the window. */
  running: number;
  /** Tasks given up on (timed out, aborted) that still run here, holding places. */
  givenUp: number;
}

export function emptyTasks(): WorkerTasks {
  return { batches: new Map(), running: 0, givenUp: 0 };
}

export interface TaskTableEvents {
  /** The share of given-up tasks on a worker may have grown. */
  givenUpGrew(worker: WorkerRecord): void;
  /** A worker's last running task ended. */
  drained(worker: WorkerRecord): void;
  /**
   * A task failed with `error` (it threw, or timed out): returns whether it will run again (the
   * error retries took it), in which case its caller is not told.
   */
  retry?(batch: Batch, offset: number, error: Error): boolean;
}

export class TaskTable {
  /** Each active job's batches still on workers. */
  private readonly byJob = new Map<Job, Set<Batch>>();
  /** Given-up tasks the last settleRun() saw end. */
  private runGivenUp = 0;

  constructor(private readonly events: TaskTableEvents) {}

  /** Record a batch just sent to `worker`. */
  track(id: number, worker: WorkerRecord, segment: Segment): Batch {
    const { job } = segment;
    const batch = new SentBatch(id, worker, segment, performance.now());
    worker.tasks.batches.set(id, batch);
    let batches = this.byJob.get(job);
    if (!batches) {
      batches = new Set();
      this.byJob.set(job, batches);
    }
    batches.add(batch);
    worker.tasks.running += batch.running;
    return batch;
  }

  /** The worker reported the task ended: settle it unless a timeout or abort already did. */
  onTaskEnded(batch: Batch, offset: number, ok: boolean, result: unknown): void {
    const state = batch.state[offset];
    if (state === ENDED || state === undefined) return;
    batch.state[offset] = ENDED;
    if (state === RUNNING) {
      batch.unsettled--;
      if (ok || !this.events.retry?.(batch, offset, result as Error)) {
        const runs = runsOf(batch.attempts, offset);
        batch.job.settle(indexOf(batch, offset), batch.inputs[offset], ok, result, runs);
      }
    }
    batch.inputs[offset] = undefined;
    this.ended(batch, 1, state === GIVEN_UP ? 1 : 0);
  }

  /**
   * The worker reported tasks of a batch fulfilled: `offsets[i]` with `values[i]`, for i in
   * [from, to). Each settles unless a timeout or abort already did; the counting is done once.
   */
  onFulfilledRun(
    batch: Batch,
    offsets: Int32Array,
    values: readonly unknown[],
    from: number,
    to: number,
  ): void {
    const settled = this.settleRun(batch, offsets, values, from, to);
    const givenUp = this.runGivenUp;
    if (settled + givenUp === 0) return;
    batch.unsettled -= settled;
    if (settled > 0) batch.job.fulfilledRun(settled);
    this.ended(batch, settled + givenUp, givenUp);
  }

  /**
   * The loop of onFulfilledRun, a function of its own: V8 compiles this hot loop alone, and the
   * once-a-run counting around it (which may not have run often enough to have type feedback
   * when the loop gets hot) never throws that code away. Returns the tasks it settled; the
   * given-up ones that ended go to `runGivenUp`.
   */
  private settleRun(
    batch: Batch,
    offsets: Int32Array,
    values: readonly unknown[],
    from: number,
    to: number,
  ): number {
    const { state, inputs, job, attempts } = batch;
    let settled = 0;
    let givenUp = 0;
    for (let i = from; i < to; i++) {
      const offset = offsets[i]!;
      // Read per task: a caller told of one may drop the job, giving up on the rest.
      const was = state[offset];
      if (was === ENDED || was === undefined) continue;
      state[offset] = ENDED;
      if (was === RUNNING) {
        settled++;
        job.fulfilledOne(
          indexOf(batch, offset),
          inputs[offset],
          values[i],
          runsOf(attempts, offset),
        );
      } else givenUp++;
      inputs[offset] = undefined;
    }
    this.runGivenUp = givenUp;
    return settled;
  }

  /** `count` tasks of a batch ended on its worker, `givenUp` of them given up on before. */
  private ended(batch: Batch, count: number, givenUp: number): void {
    const worker = batch.worker;
    const tasks = worker.tasks;
    tasks.givenUp -= givenUp;
    // Running tasks ended: the given-up ones are a bigger share of what is left.
    if (count > givenUp && tasks.givenUp > 0) this.events.givenUpGrew(worker);
    tasks.running -= count;
    if (tasks.running === 0) this.events.drained(worker);
    batch.running -= count;
    if (batch.running === 0) {
      tasks.batches.delete(batch.id);
      this.byJob.get(batch.job)?.delete(batch);
    }
  }

  /** Settle a task for its caller while it keeps running (and keeps its place) on its worker. */
  settleWhileRunning(batch: Batch, offset: number, error: Error): void {
    if (batch.state[offset] !== RUNNING) return;
    batch.state[offset] = GIVEN_UP;
    batch.unsettled--;
    batch.worker.tasks.givenUp++;
    this.events.givenUpGrew(batch.worker);
    // A timed-out task goes on running (and holding its place); its retry is another run.
    if (this.events.retry?.(batch, offset, error)) return;
    const runs = runsOf(batch.attempts, offset);
    batch.job.settle(indexOf(batch, offset), batch.inputs[offset], false, error, runs);
  }

  /** Give up on a batch's unsettled tasks without telling their caller; returns their offsets. */
  giveUp(batch: Batch): number[] {
    const offsets: number[] = [];
    for (let offset = 0; offset < batch.state.length; offset++) {
      if (batch.state[offset] !== RUNNING) continue;
      batch.state[offset] = GIVEN_UP;
      batch.unsettled--;
      offsets.push(offset);
    }
    batch.worker.tasks.givenUp += offsets.length;
    this.events.givenUpGrew(batch.worker);
    return offsets;
  }

  /**
   * A worker died: every task on it has ended. `lost` sees each task its caller still waits for,
   * to run it again or fail it (`settleLost`); it may finish jobs, whose other tasks are then
   * given up on before the loop reaches them.
   */
  clearWorker(worker: WorkerRecord, lost: (batch: Batch, offset: number) => void): void {
    const { batches } = worker.tasks;
    for (const batch of batches.values()) {
      for (let offset = 0; offset < batch.state.length; offset++) {
        const state = batch.state[offset];
        batch.state[offset] = ENDED;
        if (state !== RUNNING || batch.job.finished) continue;
        lost(batch, offset);
      }
    }
    for (const batch of batches.values()) this.byJob.get(batch.job)?.delete(batch);
    batches.clear();
    worker.tasks.running = 0;
  }

  /** Settle a task whose worker died, for good. */
  settleLost(batch: Batch, offset: number, error: Error): void {
    batch.unsettled--;
    const runs = runsOf(batch.attempts, offset);
    batch.job.settle(indexOf(batch, offset), batch.inputs[offset], false, error, runs);
  }

  /** Offsets of the tasks of a batch still running and unsettled. */
  unsettledOffsets(batch: Batch): number[] {
    const offsets: number[] = [];
    for (let offset = 0; offset < batch.state.length; offset++) {
      if (batch.state[offset] === RUNNING) offsets.push(offset);
    }
    return offsets;
  }

  isUnsettled(batch: Batch, offset: number): boolean {
    return batch.state[offset] === RUNNING;
  }

  isGivenUp(batch: Batch, offset: number): boolean {
    return batch.state[offset] === GIVEN_UP;
  }

  hasEnded(batch: Batch, offset: number): boolean {
    return batch.state[offset] === ENDED;
  }

  /** The job's batches still on workers. */
  batchesOf(job: Job): Batch[] {
    return [...(this.byJob.get(job) ?? [])];
  }

  forgetJob(job: Job): void {
    this.byJob.delete(job);
  }
}

/** The input index of position `offset` in a batch or segment. */
export function indexOf(
  run: { readonly firstIndex: number; readonly indices?: number[] | undefined },
  offset: number,
): number {
  return run.indices ? run.indices[offset]! : run.firstIndex + offset;
}

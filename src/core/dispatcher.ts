/**
 * Dealing inputs to workers. Each turn takes re-runs first, then inputs from the jobs ready to
 * deal, in turn (see jobs.ts), as many as the ready workers have room for in the window (at most
 * MAX_DEAL_PER_TURN): a turn touches only the jobs it deals from. It deals them
 * (see dealing.ts) and sends each worker its share of each job as a batch, all of a turn's
 * batches for a worker in one message.
 */
import { epochNow } from '../epoch-now.js';
import { DataCloneError } from '../errors.js';
import { COLUMNS_MIN_LENGTH, toColumns } from '../protocol/columns.js';
import type { WireValues } from '../protocol/messages.js';
import { type Attempts, NO_ATTEMPTS } from './attempts.js';
import type { CrashRecovery } from './crash-recovery.js';
import { deal } from './dealing.js';
import type { Job } from './job.js';
import type { Jobs } from './jobs.js';
import type { QueueProbe } from './queue-probe.js';
import { indexOf, type Segment, type TaskTable } from './task-table.js';
import type { Timeouts } from './timeouts.js';
import type { Window } from './window.js';
import type { WorkerRecord, Workers } from './workers.js';

/**
 * Inputs dealt per turn of the event loop: the first batches run on the workers while this
 * thread prepares the next ones, and results coming back are not held up.
 */
const MAX_DEAL_PER_TURN = 8192;

export class Dispatcher {
  private nextBatchId = 0;
  private dispatching = false;
  private dispatchAgain = false;
  /** A dispatch turn is queued (inputs left over by the last one, or a consumer took results). */
  private queued = false;
  private microtaskQueued = false;
  /** The pool window as of the last turn: jobs that waited for room look again once it grows. */
  private lastPoolWindow = 0;
  /** Jobs whose inputs once were not flat objects: their batches go as they are, untried. */
  private readonly notFlat = new WeakSet<Job>();

  constructor(
    private readonly workers: Workers,
    private readonly jobs: Jobs,
    private readonly window: Window,
    private readonly tasks: TaskTable,
    private readonly timeouts: Timeouts,
    private readonly recovery: CrashRecovery,
    private readonly probe: QueueProbe,
    private readonly random: () => number = Math.random,
  ) {}

  /** Deal what can be dealt now; re-entrant calls (a settle that frees room) loop instead. */
  dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      let more = false;
      do {
        this.dispatchAgain = false;
        more = this.dealOnce();
      } while (this.dispatchAgain && !more);
      if (more) this.dispatchSoon();
    } finally {
      this.dispatching = false;
    }
  }

  /** Dispatch on the next microtask, once however often asked before it runs. */
  dispatchOnMicrotask(): void {
    if (this.microtaskQueued) return;
    this.microtaskQueued = true;
    queueMicrotask(this.microtaskDispatch);
  }

  private readonly microtaskDispatch = (): void => {
    this.microtaskQueued = false;
    this.dispatch();
  };

  /** Dispatch on a later turn of the event loop, once however often asked. */
  dispatchSoon(): void {
    if (this.queued) return;
    this.queued = true;
    setImmediate(this.queuedDispatch);
  }

  private readonly queuedDispatch = (): void => {
    this.queued = false;
    this.dispatch();
  };

  /** Returns whether more could be dealt right away (the turn's cap was reached). */
  private dealOnce(): boolean {
    if (this.jobs.size === 0) return false;
    const poolWindow = this.window.poolWindow();
    if (poolWindow > this.lastPoolWindow) this.jobs.roomGrew();
    this.lastPoolWindow = poolWindow;
    const open: WorkerRecord[] = [];
    const room: number[] = [];
    let total = 0;
    const window = this.window.size;
    for (const worker of this.workers.list) {
      const free = worker.state === 'ready' ? window - worker.tasks.running : 0;
      if (free <= 0) continue;
      open.push(worker);
      room.push(free);
      total += free;
    }
    if (open.length === 0) return false;
    const max = Math.min(total, MAX_DEAL_PER_TURN);
    const segments = this.takeSegments(max);
    let dealt = 0;
    for (const segment of segments) dealt += segment.inputs.length;
    const more = dealt === max && total > max;
    const shares = this.share(segments, open, room);
    for (let w = 0; w < open.length; w++) this.sendShares(open[w]!, shares[w]!);
    return more;
  }

  /**
   * Each open worker's shares of the segments: a segment of one input (a run() call) whole, to
   * the worker dealing picks; a longer one dealt over the workers (see dealing.ts).
   */
  private share(segments: Segment[], open: WorkerRecord[], room: number[]): Segment[][] {
    if (open.length === 1) return [segments];
    const shares: Segment[][] = open.map(() => []);
    const order = open.map((_, w) => w);
    for (const segment of segments) {
      const owner = deal(segment.inputs.length, room, order, this.random);
      const counts = new Array<number>(open.length).fill(0);
      for (let position = 0; position < owner.length; position++) counts[owner[position]!]!++;
      const only = counts.indexOf(owner.length);
      if (only !== -1) {
        // All to one worker (the only one with room, or a run() call): the segment as it is.
        shares[only]!.push(segment);
        continue;
      }
      // Indices sized up front (a push per input grows and copies the array several times);
      // inputs pushed: an array made with holes is cloned slot by slot, not as a dense list.
      const indices = counts.map((count) => new Array<number>(count));
      const inputs = counts.map((): unknown[] => []);
      const attempts = segment.attempts;
      const shareAttempts = attempts
        ? counts.map((count) => new Array<Attempts>(count))
        : undefined;
      const filled = new Array<number>(open.length).fill(0);
      for (let position = 0; position < owner.length; position++) {
        const w = owner[position]!;
        const k = filled[w]!++;
        indices[w]![k] = indexOf(segment, position);
        inputs[w]!.push(segment.inputs[position]);
        if (shareAttempts) shareAttempts[w]![k] = attempts![position]!;
      }
      for (let w = 0; w < open.length; w++) {
        if (counts[w] === 0) continue;
        shares[w]!.push({
          job: segment.job,
          firstIndex: -1,
          indices: indices[w],
          inputs: inputs[w]!,
          attempts: shareAttempts?.[w],
        });
      }
    }
    return shares;
  }

  /** Send a worker its shares of a turn as one message: a bundle, when there are several. */
  private sendShares(worker: WorkerRecord, shares: Segment[]): void {
    // Sending another worker its shares can end a job (a map whose input cannot be cloned
    // rejects): then its other shares must not run, untracked by anyone.
    let live = shares.filter((segment) => !segment.job.finished);
    // Suspects go on their own, flagged for tracking (see worker/task-tracker.ts).
    if (live.some(hasSuspects)) {
      for (const segment of live) if (hasSuspects(segment)) this.send(worker, segment);
      live = live.filter((segment) => !hasSuspects(segment) && !segment.job.finished);
    }
    if (live.length === 0) return;
    if (live.length === 1) {
      this.send(worker, live[0]!);
      return;
    }
    const first = this.nextBatchId;
    this.nextBatchId += live.length;
    const batches = live.map((_, i) => first + i);
    try {
      const inputs = live.map((segment) => this.wire(segment));
      worker.handle.send({ type: 'runs', batches, inputs, sentAt: epochNow() });
    } catch {
      // Nothing went: one message each, and send() deals with what fails (a dying worker, an
      // input that cannot be cloned).
      for (const segment of live) if (!segment.job.finished) this.send(worker, segment);
      return;
    }
    for (let i = 0; i < live.length; i++) this.track(first + i, worker, live[i]!);
  }

  /** Take up to `max` inputs: re-runs first, then the jobs' inputs, in turn. */
  private takeSegments(max: number): Segment[] {
    const segments: Segment[] = [];
    let taken = 0;
    if (this.recovery.hasWaiting) {
      const retries = this.recovery.take(max);
      for (const retry of retries) {
        const last = segments.at(-1);
        if (last?.job === retry.job) {
          last.indices!.push(retry.index);
          last.attempts!.push(retry.attempts);
          last.inputs.push(retry.input);
        } else {
          segments.push({
            job: retry.job,
            firstIndex: -1,
            indices: [retry.index],
            attempts: [retry.attempts],
            inputs: [retry.input],
          });
        }
      }
      taken = retries.length;
    }
    // Each job served goes to the back of the queue if it still has inputs ready: it takes all
    // the turn had left, or it leaves the queue, so no job is served twice in a turn.
    while (taken < max) {
      const job = this.jobs.nextReady();
      if (!job) break;
      const firstIndex = job.dispatched;
      const inputs = job.take(max - taken);
      this.jobs.update(job);
      if (inputs.length > 0) segments.push({ job, firstIndex, inputs });
      taken += inputs.length;
    }
    return segments;
  }

  private send(worker: WorkerRecord, segment: Segment): void {
    const { job, inputs, attempts } = segment;
    const id = this.nextBatchId++;
    try {
      const wire = this.wire(segment);
      worker.handle.send(
        hasSuspects(segment)
          ? { type: 'run', batch: id, inputs: wire, sentAt: epochNow(), track: true }
          : { type: 'run', batch: id, inputs: wire, sentAt: epochNow() },
      );
    } catch {
      if (!worker.handle.connected) {
        // The worker is dying (its exit is on the way): these inputs never reached it.
        for (let i = 0; i < inputs.length; i++) {
          this.recovery.requeue({
            job,
            index: indexOf(segment, i),
            input: inputs[i],
            attempts: attempts?.[i] ?? NO_ATTEMPTS,
          });
        }
        return;
      }
      this.sendOneByOne(worker, segment);
      return;
    }
    this.track(id, worker, segment);
  }

  /** An input cannot be cloned: send them one by one, so only the bad ones fail. */
  private sendOneByOne(worker: WorkerRecord, segment: Segment): void {
    const { job, inputs, attempts } = segment;
    for (let i = 0; i < inputs.length && !job.finished; i++) {
      const index = indexOf(segment, i);
      const single = this.nextBatchId++;
      try {
        worker.handle.send({ type: 'run', batch: single, inputs: [inputs[i]], sentAt: epochNow() });
      } catch (error) {
        job.settle(index, inputs[i], false, new DataCloneError('input', error));
        continue;
      }
      const retried = attempts ? [attempts[i]!] : undefined;
      this.track(single, worker, {
        job,
        firstIndex: index,
        inputs: [inputs[i]],
        attempts: retried,
      });
    }
  }

  /** A segment's inputs as they travel: as columns when they are flat objects (columns.ts). */
  private wire(segment: Segment): WireValues {
    const { job, inputs } = segment;
    if (inputs.length < COLUMNS_MIN_LENGTH || this.notFlat.has(job)) return inputs;
    const columns = toColumns(inputs);
    if (columns) return columns;
    this.notFlat.add(job);
    return inputs;
  }

  private track(id: number, worker: WorkerRecord, segment: Segment): void {
    const batch = this.tasks.track(id, worker, segment);
    this.timeouts.add(batch, segment.job.timeout);
    this.probe.sent(id, segment.inputs.length);
  }
}

/** Whether a segment holds re-runs of suspects: tasks to track across awaits. */
function hasSuspects(segment: Segment): boolean {
  return segment.attempts?.some((attempt) => attempt.suspect) === true;
}

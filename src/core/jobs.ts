/**
 * The active jobs, which of them have inputs ready to deal, and whoever waits for none to be
 * left. A job is active from its submission until it finishes: every input settled, or failed,
 * or dropped. A pool may hold hundreds of thousands of them (one per `run()` call), so every
 * step here is O(1) in their number — but one: a window that grows looks again at the jobs that
 * waited for room.
 *
 * Each active job is in one place: `ready` (a queue served in turn, so no job is favoured),
 * waiting for `room` (the window, or its consumer, must make some), waiting for its `source` (an
 * async one is fetching; it says when it has inputs), or `end` (no inputs left to deal; its tasks
 * in flight may still run). A job moves only when `update` looks at it again, which the engine
 * does after each event that may move it: a settle, a consumer's take or a task gone to wait for
 * its retry (room), a fetch (source), a deal; and `roomGrew` after the window grows.
 */
import type { Job } from './job.js';

/** 'taken': out of the ready queue for a deal, or not yet filed; 'gone': no longer active. */
type Place = 'ready' | 'room' | 'source' | 'end' | 'taken' | 'gone';

/** Where Jobs files a job: its own record, kept on the job so that finding it is O(1). */
export interface JobEntry {
  place: Place;
  /** Links in the list of its place. */
  prev: Job | undefined;
  next: Job | undefined;
  /** The job's undealt inputs as of its last update. */
  undealt: number;
}

/** A doubly linked list of jobs, through their entries: O(1) push, removal and shift. */
class JobList {
  head: Job | undefined;
  private tail: Job | undefined;
  length = 0;

  push(job: Job): void {
    const entry = job.entry!;
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.entry!.next = job;
    else this.head = job;
    this.tail = job;
    this.length++;
  }

  remove(job: Job): void {
    const entry = job.entry!;
    if (entry.prev) entry.prev.entry!.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.entry!.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.length--;
  }

  toArray(): Job[] {
    const jobs: Job[] = [];
    for (let job = this.head; job; job = job.entry!.next) jobs.push(job);
    return jobs;
  }
}

export class Jobs {
  /** Every active job is in exactly one of these lists, by its place. */
  private readonly ready = new JobList();
  private readonly waitingForRoom = new JobList();
  /** Waiting for their source, at their end, or taken. */
  private readonly others = new JobList();
  /** Jobs with inputs left to deal (not at their end). */
  private withInputs = 0;
  private undealtTotal = 0;
  private readonly idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.ready.length + this.waitingForRoom.length + this.others.length;
  }

  add(job: Job): void {
    // Taken: not filed yet, and counted as having inputs until place() finds out.
    job.entry = { place: 'taken', prev: undefined, next: undefined, undealt: 0 };
    this.others.push(job);
    this.withInputs++;
    this.place(job);
  }

  /** Remove a job; returns whether it was active. */
  delete(job: Job): boolean {
    const entry = job.entry;
    if (!entry || entry.place === 'gone') return false;
    this.listOf(entry.place).remove(job);
    if (entry.place !== 'end') this.withInputs--;
    this.undealtTotal -= entry.undealt;
    entry.place = 'gone';
    return true;
  }

  /** Look at the job again: something it waited for may have come, or its inputs ended. */
  update(job: Job): void {
    const entry = job.entry;
    if (entry && entry.place !== 'gone') this.place(job);
  }

  /**
   * The job whose turn it is to be served, out of the ready queue until `update` puts it back
   * (at the end of the queue, if it still has inputs ready); undefined when none is ready.
   */
  nextReady(): Job | undefined {
    for (let job = this.ready.head; job; job = this.ready.head) {
      this.move(job, 'taken');
      // Filed as ready, it may have lost its room since (a window cut).
      if (job.holdUp() === 'none') return job;
      this.place(job);
    }
    return undefined;
  }

  /** The window grew: the jobs that waited for room may have some. */
  roomGrew(): void {
    if (this.waitingForRoom.length === 0) return;
    for (const job of this.waitingForRoom.toArray()) this.place(job);
  }

  /** Inputs pulled from their sources and not yet dealt, over every job (as of their updates). */
  undealt(): number {
    return this.undealtTotal;
  }

  /** Whether some job has inputs left to deal. */
  anyInputsLeft(): boolean {
    return this.withInputs > 0;
  }

  /** A copy, for loops whose body may finish jobs. */
  snapshot(): Job[] {
    return [...this.ready.toArray(), ...this.waitingForRoom.toArray(), ...this.others.toArray()];
  }

  /** Resolves once no job is active. */
  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Tell the waiters, once no job is left. */
  notifyIdle(): void {
    if (this.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** File the job by what holds it up now. */
  private place(job: Job): void {
    const holdUp = job.holdUp();
    const entry = job.entry!;
    // Looking may run an async source's code, which may end the job (it aborts its call).
    if (entry.place === 'gone') return;
    this.undealtTotal += job.undealt - entry.undealt;
    entry.undealt = job.undealt;
    const place: Place = holdUp === 'none' ? 'ready' : holdUp;
    if (place === entry.place) return;
    if (place === 'end') this.withInputs--;
    else if (entry.place === 'end') this.withInputs++;
    this.move(job, place);
  }

  private move(job: Job, place: Place): void {
    const entry = job.entry!;
    this.listOf(entry.place).remove(job);
    entry.place = place;
    this.listOf(place).push(job);
  }

  private listOf(place: Place): JobList {
    return place === 'ready' ? this.ready : place === 'room' ? this.waitingForRoom : this.others;
  }
}

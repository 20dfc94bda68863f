import type { TaskContext } from '../types.js';

/**
 * The abort state of a group of tasks (a worker's batch), by task number: kept only for tasks
 * aborted or listening, so a task that is neither costs nothing here.
 */
export class Aborts {
  private reasons: Map<number, Error> | undefined;
  /** Made only for tasks that read `ctx.signal`. */
  private controllers: Map<number, AbortController> | undefined;

  /** Abort task `task`, started or not (a task started later sees `reason` at once). */
  abort(task: number, reason: Error): void {
    this.reasons ??= new Map();
    if (this.reasons.has(task)) return;
    this.reasons.set(task, reason);
    this.controllers?.get(task)?.abort(reason);
  }

  /** Why task `task` was aborted, if it was. */
  reason(task: number): Error | undefined {
    return this.reasons?.get(task);
  }

  signal(task: number): AbortSignal {
    this.controllers ??= new Map();
    let controller = this.controllers.get(task);
    if (!controller) {
      controller = new AbortController();
      this.controllers.set(task, controller);
      const reason = this.reasons?.get(task);
      if (reason) controller.abort(reason);
    }
    return controller.signal;
  }

  /** Task `task` ended: nothing of it is kept. */
  forget(task: number): void {
    this.controllers?.delete(task);
    this.reasons?.delete(task);
  }
}

/**
 * What a task gets as `ctx`. It holds no state of its own (that is in its `Aborts`): nothing
 * keeps it alive once its task lets go of it, so it dies young, which costs the GC nothing.
 */
export class Context implements TaskContext {
  constructor(
    readonly workerId: number,
    private readonly aborts: Aborts,
    private readonly task: number,
  ) {}
  get signal(): AbortSignal {
    return this.aborts.signal(this.task);
  }
}

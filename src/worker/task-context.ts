import type { TaskContext } from '../types.js';

/** Per-task state. The AbortController is created only if the task reads `ctx.signal`. */
export class Context implements TaskContext {
  controller: AbortController | undefined;
  abortReason: Error | undefined;
  /** It runs inside the tracker's context (see task-tracker.ts). */
  tracked = false;
  constructor(
    readonly workerId: number,
    /** performance.now() when the task started, if its run time is sampled (else -1). */
    readonly started: number,
  ) {}
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }
  abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

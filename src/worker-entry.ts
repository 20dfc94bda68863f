/**
 * The worker side: imports the task module, then runs every task it is given concurrently on this
 * worker's event loop, and sends results back in batches.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { MainToWorker, TaskFailure, WorkerInit, WorkerToMain } from './messages.ts';
import { serializeError } from './serialize-error.ts';
import type { TaskContext, TaskModule } from './types.ts';

interface Channel {
  post(message: WorkerToMain): void;
  onMessage(handler: (message: MainToWorker) => void): void;
}

function threadChannel(): Channel {
  const port = parentPort!;
  return {
    post: (message) => port.postMessage(message),
    onMessage: (handler) => port.on('message', handler),
  };
}

function processChannel(): Channel {
  return {
    post: (message) => process.send!(message),
    onMessage: (handler) => process.on('message', handler as (message: unknown) => void),
  };
}

/** Per-task state. The AbortController is created only if the task reads `ctx.signal`. */
class Context implements TaskContext {
  controller: AbortController | undefined;
  abortReason: Error | undefined;
  constructor(readonly workerId: number) {}
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

class WorkerRuntime {
  private readonly running = new Map<number, Context>();
  private okIds: number[] = [];
  private values: unknown[] = [];
  private failures: TaskFailure[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private closing = false;
  private taskFn: TaskModule['default'] = () => undefined;

  constructor(
    private readonly channel: Channel,
    private readonly init: WorkerInit,
  ) {}

  async start(): Promise<void> {
    let mod: Partial<TaskModule>;
    try {
      mod = (await import(this.init.moduleUrl)) as Partial<TaskModule>;
    } catch (error) {
      this.channel.post({ type: 'init-error', reason: 'import', error: serializeError(error) });
      return;
    }
    if (typeof mod.default !== 'function') {
      const error = new TypeError('The task module has no default export function');
      this.channel.post({
        type: 'init-error',
        reason: 'no-default-export',
        error: serializeError(error),
      });
      return;
    }
    this.taskFn = mod.default;
    if (typeof mod.setup === 'function') {
      try {
        await mod.setup({ workerId: this.init.workerId });
      } catch (error) {
        this.channel.post({ type: 'init-error', reason: 'setup', error: serializeError(error) });
        return;
      }
    }
    this.channel.onMessage((message) => this.onMessage(message));
    this.channel.post({ type: 'ready' });
  }

  private onMessage(message: MainToWorker): void {
    switch (message.type) {
      case 'run': {
        const { firstId, inputs } = message;
        for (let i = 0; i < inputs.length; i++) this.runTask(firstId + i, inputs[i]);
        break;
      }
      case 'abort': {
        for (const id of message.ids) {
          const reason = new Error(
            message.reason === 'timeout' ? 'Task timed out' : 'Task aborted',
          );
          reason.name = message.reason === 'timeout' ? 'TimeoutError' : 'AbortError';
          this.running.get(id)?.abort(reason);
        }
        break;
      }
      case 'close':
        this.closing = true;
        this.exitIfIdle();
        break;
      case 'init':
        break;
    }
  }

  private runTask(id: number, input: unknown): void {
    const ctx = new Context(this.init.workerId);
    this.running.set(id, ctx);
    let result: unknown;
    try {
      result = this.taskFn(input, ctx);
    } catch (error) {
      this.fail(id, error);
      return;
    }
    // Plain values settle without a promise round trip; thenables are awaited.
    if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.succeed(id, value),
        (error) => this.fail(id, error),
      );
    } else {
      this.succeed(id, result);
    }
  }

  private succeed(id: number, value: unknown): void {
    this.running.delete(id);
    this.okIds.push(id);
    this.values.push(value);
    this.scheduleFlush();
  }

  private fail(id: number, error: unknown): void {
    this.running.delete(id);
    this.failures.push({ id, kind: 'threw', error: serializeError(error) });
    this.scheduleFlush();
  }

  /**
   * Results go back in batches: at once when enough are pending or the worker ran dry (so a lone
   * `run()` is not delayed), otherwise after a short delay that gathers more of them.
   */
  private scheduleFlush(): void {
    const pending = this.okIds.length + this.failures.length;
    if (pending >= this.init.flushCount || this.running.size === 0) {
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(this.flush, this.init.flushDelayMs);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.okIds.length === 0 && this.failures.length === 0) return;
    const message: WorkerToMain = {
      type: 'results',
      okIds: this.okIds,
      values: this.values,
      failures: this.failures,
    };
    this.okIds = [];
    this.values = [];
    this.failures = [];
    try {
      this.channel.post(message);
    } catch {
      // One value in the batch cannot be cloned: send them one by one so only that task fails.
      this.postOneByOne(message);
    }
    this.exitIfIdle();
  };

  private postOneByOne(message: Extract<WorkerToMain, { type: 'results' }>): void {
    const failures = [...message.failures];
    for (let i = 0; i < message.okIds.length; i++) {
      const id = message.okIds[i]!;
      const value = message.values[i];
      try {
        this.channel.post({ type: 'results', okIds: [id], values: [value], failures: [] });
      } catch (error) {
        failures.push({ id, kind: 'output-not-cloneable', error: serializeError(error) });
      }
    }
    if (failures.length > 0) {
      this.channel.post({ type: 'results', okIds: [], values: [], failures });
    }
  }

  private exitIfIdle(): void {
    if (this.closing && this.running.size === 0 && this.okIds.length + this.failures.length === 0) {
      // Exit explicitly: a task module's keep-alive sockets or timers must not hold the worker open.
      setImmediate(() => process.exit(0));
    }
  }
}

const onThread = !isMainThread && parentPort !== null;
if (onThread) {
  void new WorkerRuntime(threadChannel(), workerData as WorkerInit).start();
} else if (process.send) {
  const channel = processChannel();
  process.once('message', (message: MainToWorker) => {
    if (message.type === 'init') void new WorkerRuntime(channel, message.init).start();
  });
}

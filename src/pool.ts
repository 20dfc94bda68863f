/**
 * The public face of polyloop: a thin class over the private engine. It validates arguments,
 * turns calls into jobs, and shapes their results as promises and async iterators.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Engine } from './core/engine.js';
import type { Job, JobSink } from './core/job.js';
import { TaskModuleError } from './errors.js';
import {
  type PoolOptions,
  type ResolvedOptions,
  resolveOptions,
  validateSignal,
  validateTimeout,
} from './options.js';
import { ResultStream } from './result-stream.js';
import type {
  InputOf,
  Inputs,
  MapOptions,
  OutputOf,
  PoolStats,
  RunOptions,
  StreamOptions,
  StreamResult,
  TaskModule,
} from './types.js';

/**
 * A pool of workers, each an event loop running many tasks of one task module at once.
 *
 * Give the module's type to get typed inputs and outputs:
 * `new Pool<typeof import('./task.js')>(new URL('./task.js', import.meta.url))`.
 */
export class Pool<M extends TaskModule = TaskModule> implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #options: ResolvedOptions;

  constructor(taskModule: URL | string, options?: PoolOptions) {
    this.#options = resolveOptions(options);
    this.#engine = new Engine(resolveTaskModule(taskModule), this.#options);
  }

  /** The number of workers. */
  get workers(): number {
    return this.#options.workers;
  }

  /**
   * Resolves once every worker has started: imported the task module and run its `setup`.
   * Optional (calls made before then wait for the workers), but it surfaces a broken task module
   * at start, and lets a benchmark start timing with every worker up.
   */
  ready(): Promise<void> {
    return this.#engine.ready();
  }

  /** Run one task; resolves with its output, rejects with a `PolyloopError`. */
  run(input: InputOf<M>, options?: RunOptions): Promise<OutputOf<M>> {
    const call = this.#call(options);
    return new Promise((resolve, reject) => {
      this.#engine.submit([input], new RunSink(resolve, reject), {
        ...call,
        pacedByConsumer: false,
      });
    });
  }

  /**
   * Run a task per input; resolves with the outputs in input order. Rejects on the first failure
   * (like `Promise.all`), and then aborts the tasks still running and pulls no more inputs.
   */
  map(inputs: Inputs<InputOf<M>>, options?: MapOptions): Promise<Array<OutputOf<M>>> {
    assertInputs(inputs);
    const call = this.#call(options);
    return new Promise((resolve, reject) => {
      const count = Array.isArray(inputs) ? inputs.length : 0;
      const sink = new MapSink<OutputOf<M>>(count, this.#engine, resolve, reject);
      sink.job = this.#engine.submit(inputs, sink, { ...call, pacedByConsumer: false });
    });
  }

  /**
   * Run a task per input and yield each settled input as `{index, input, ok, value | error}`:
   * in completion order, or in input order with `{ ordered: true }`. A failed task is a result,
   * not an exception. Inputs are pulled only as results are consumed (at most `workers *
   * concurrency` ahead). Breaking out of the loop aborts the tasks still running.
   */
  stream(
    inputs: Inputs<InputOf<M>>,
    options?: StreamOptions,
  ): AsyncIterableIterator<StreamResult<InputOf<M>, OutputOf<M>>> {
    assertInputs(inputs);
    const call = this.#call(options, STREAM_OPTIONS);
    const ordered = options?.ordered ?? false;
    if (typeof ordered !== 'boolean') {
      throw new TypeError(`Expected \`ordered\` to be a boolean, got ${typeof ordered}`);
    }
    const engine = this.#engine;
    let job: Job | undefined;
    const stream = new ResultStream(ordered, {
      start: (sink) => {
        job = engine.submit(inputs, sink, { ...call, pacedByConsumer: true });
      },
      release: (count) => {
        if (job) engine.release(job, count);
      },
      abandon: () => {
        if (job) engine.dropJob(job);
      },
      endInputs: () => job?.endInputs(),
    });
    return stream as AsyncIterableIterator<StreamResult<InputOf<M>, OutputOf<M>>>;
  }

  /**
   * Counters (done, failed, retried, in flight, queued), each worker's load, and task run and wait
   * time percentiles. Cheap: meant to be read every 100 ms by a progress display.
   */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Finish every run, map and stream already started, then stop the workers. Calls made after
   * `close()` reject with `PoolClosedError`, and so does a stream first iterated after it (a
   * stream starts on its first `next()`).
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Abort everything in flight (each call settles with `AbortError`) and stop the workers now. */
  destroy(): Promise<void> {
    return this.#engine.destroy();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #call(
    options: RunOptions | undefined,
    known: ReadonlySet<string> = CALL_OPTIONS,
  ): { timeout: number; signal: AbortSignal | undefined } {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError('Expected the call options to be an object');
    }
    // A misspelt option (`timout`) would otherwise be ignored without a word.
    for (const key of Object.keys(options ?? {})) {
      if (!known.has(key)) throw new TypeError(`Unknown option \`${key}\``);
    }
    return {
      timeout: validateTimeout('timeout', options?.timeout, this.#options.timeout),
      signal: validateSignal(options?.signal),
    };
  }
}

/**
 * A `run()`'s sink: its one input settles its promise. An object of a class rather than closures:
 * a pool may hold hundreds of thousands of calls, and each closure keeps its scope alive.
 */
class RunSink<T> implements JobSink {
  constructor(
    private readonly resolve: (value: T) => void,
    readonly fail: (error: Error) => void,
  ) {}

  settle(_index: number, _input: unknown, ok: boolean, result: unknown): void {
    if (ok) this.resolve(result as T);
    else this.fail(result as Error);
  }

  done(): void {}
}

/**
 * A `map()`'s sink: outputs by index; the first failure rejects and stops the job. A class, not
 * closures made per call: the engine's settle loop then calls the same function for every map,
 * so its optimized code is not thrown away when the next map() starts.
 */
class MapSink<T> implements JobSink {
  private readonly outputs: T[];
  /** Unset while submit() runs: a failure then has nothing to stop yet. */
  job: Job | undefined;

  constructor(
    /** The number of inputs, when known: results arrive out of order. */
    count: number,
    private readonly engine: Engine,
    private readonly resolve: (outputs: T[]) => void,
    readonly fail: (error: Error) => void,
  ) {
    this.outputs = new Array(count);
  }

  settle(index: number, _input: unknown, ok: boolean, result: unknown): void {
    if (ok) {
      const outputs = this.outputs;
      // Grow by push: writing far past the end would turn the array into a slow dictionary.
      while (outputs.length < index) outputs.push(undefined as T);
      outputs[index] = result as T;
    } else {
      if (this.job) this.engine.dropJob(this.job);
      this.fail(result as Error);
    }
  }

  done(): void {
    this.resolve(this.outputs);
  }
}

const CALL_OPTIONS: ReadonlySet<string> = new Set(['signal', 'timeout']);
const STREAM_OPTIONS: ReadonlySet<string> = new Set([...CALL_OPTIONS, 'ordered']);

function assertInputs(inputs: unknown): void {
  const iterable =
    inputs !== null &&
    inputs !== undefined &&
    (typeof (inputs as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (inputs as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function');
  if (!iterable) {
    throw new TypeError('Expected `inputs` to be an Iterable or an AsyncIterable');
  }
}

/** A file URL string for the worker to import; a missing file fails here, naming the path. */
function resolveTaskModule(taskModule: URL | string): string {
  let url: URL;
  if (taskModule instanceof URL) {
    url = taskModule;
  } else if (typeof taskModule === 'string' && taskModule.length > 0) {
    url =
      /^[a-z][a-z0-9+.-]*:/i.test(taskModule) && !/^[a-z]:[\\/]/i.test(taskModule)
        ? new URL(taskModule)
        : pathToFileURL(resolve(taskModule));
  } else {
    throw new TypeError('Expected the task module to be a URL or a path string');
  }
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    throw new TaskModuleError(fileURLToPath(url), 'The task module does not exist');
  }
  return url.href;
}

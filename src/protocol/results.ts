/**
 * The 'results' message, both ends: the worker writes its settled tasks into a ResultWriter and
 * sends what `take()` returns; the pool hands each message to `readResults`. Results cost no
 * object per task on either side: fulfilled tasks are runs of offsets within a batch
 * (`okBatches` is [batch, count, batch, count, ...], the next `count` entries of `okOffsets` are
 * offsets in that batch, `values` their values position by position, as columns when they are
 * flat objects: see columns.ts); failures are rare and carry one object each.
 */
import { fromWire, toColumns } from './columns.js';
import type { ResultsMessage, TaskFailure } from './messages.js';
import { type SerializedError, serializeError } from './serialize-error.js';

/**
 * A worker's settled tasks since its last send, in the wire format. Its offsets and values are
 * written into arrays kept from send to send and copied out once per message: grown by a push
 * per task instead, they were copied several times over as they grew (~40 bytes per task).
 */
export class ResultWriter {
  private okBatches: number[] = [];
  /** The batch of the last run in `okBatches`, or -1: the next result of that batch extends it. */
  private lastOkBatch = -1;
  /** Fulfilled tasks written since the last take(): the first `ok` entries below. */
  private ok = 0;
  private okOffsets = new Int32Array(INITIAL_CAPACITY);
  private readonly values: unknown[] = [];
  private failures: TaskFailure[] = [];

  /** Results written since the last `take()`. */
  get size(): number {
    return this.ok + this.failures.length;
  }

  fulfilled(batch: number, offset: number, value: unknown): void {
    if (batch === this.lastOkBatch) this.okBatches[this.okBatches.length - 1]!++;
    else {
      this.lastOkBatch = batch;
      this.okBatches.push(batch, 1);
    }
    const k = this.ok++;
    if (k === this.okOffsets.length) {
      const grown = new Int32Array(2 * k);
      grown.set(this.okOffsets);
      this.okOffsets = grown;
    }
    this.okOffsets[k] = offset;
    // Written in order from 0: the array stays packed (an array with holes is cloned slot by
    // slot), and grows only past the largest message so far.
    if (k < this.values.length) this.values[k] = value;
    else this.values.push(value);
  }

  threw(batch: number, offset: number, error: unknown): void {
    this.failures.push({ batch, offset, kind: 'threw', error: serializeError(error) });
  }

  /** The message to send, and an empty writer. */
  take(): ResultsMessage {
    const n = this.ok;
    const values = this.values.slice(0, n);
    const message: ResultsMessage = {
      type: 'results',
      okBatches: this.okBatches,
      // Offsets travel as raw bytes: cloning a typed array is a copy, a plain array costs a
      // tagged write and read per number.
      okOffsets: this.okOffsets.slice(0, n),
      values: toColumns(values) ?? values,
      failures: this.failures,
    };
    // Let go of the values sent: they may be big, and the next message may be smaller.
    this.values.fill(undefined, 0, n);
    this.okBatches = [];
    this.lastOkBatch = -1;
    this.ok = 0;
    this.failures = [];
    return message;
  }
}

/** Offsets a writer holds before it first grows. */
const INITIAL_CAPACITY = 512;

/**
 * Sends a results message. `post` throws when a value cannot be cloned: then the values go one
 * message each, so only the tasks whose value fails to clone fail ('output-not-cloneable').
 */
export function postResults(
  message: ResultsMessage,
  post: (message: ResultsMessage) => void,
): void {
  try {
    post(message);
  } catch {
    postOneByOne(message, post);
  }
}

function postOneByOne(message: ResultsMessage, post: (message: ResultsMessage) => void): void {
  const failures = [...message.failures];
  const { okBatches, okOffsets } = message;
  // Columns hold primitives only, which always clone: what failed is in a plain list.
  const values = fromWire(message.values);
  let i = 0;
  for (let run = 0; run < okBatches.length; run += 2) {
    const batch = okBatches[run]!;
    for (const end = i + okBatches[run + 1]!; i < end; i++) {
      const offset = okOffsets[i]!;
      try {
        post({
          type: 'results',
          okBatches: [batch, 1],
          okOffsets: Int32Array.of(offset),
          values: [values[i]],
          failures: [],
        });
      } catch (error) {
        failures.push({
          batch,
          offset,
          kind: 'output-not-cloneable',
          error: serializeError(error),
        });
      }
    }
  }
  if (failures.length > 0) {
    post({ type: 'results', okBatches: [], okOffsets: new Int32Array(0), values: [], failures });
  }
}

/**
 * Reads a results message: every run of fulfilled tasks (tasks of one batch: `offsets[i]` with
 * `values[i]` for i in [from, to)), then every failed task, in the order the worker wrote them. A
 * batch is looked up once per run, and runs of a batch `batches` does not know (settled and
 * dropped already) are skipped. The callbacks may change `batches`.
 */
export function readResults<Batch>(
  message: ResultsMessage,
  batches: { get(id: number): Batch | undefined },
  onFulfilled: (
    batch: Batch,
    offsets: Int32Array,
    values: readonly unknown[],
    from: number,
    to: number,
  ) => void,
  onFailed: (
    batch: Batch,
    offset: number,
    kind: TaskFailure['kind'],
    error: SerializedError,
  ) => void,
): void {
  const { okBatches, okOffsets, failures } = message;
  const values = fromWire(message.values);
  let from = 0;
  for (let run = 0; run < okBatches.length; run += 2) {
    const batch = batches.get(okBatches[run]!);
    const to = from + okBatches[run + 1]!;
    if (batch !== undefined) onFulfilled(batch, okOffsets, values, from, to);
    from = to;
  }
  for (const failure of failures) {
    const batch = batches.get(failure.batch);
    if (batch !== undefined) onFailed(batch, failure.offset, failure.kind, failure.error);
  }
}

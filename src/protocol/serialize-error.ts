/**
 * Errors cross the thread (or process) boundary as plain data: structured clone drops custom
 * classes, own properties like `code`, `cause` and `AggregateError.errors`, and refuses whole
 * errors that hold a function. We keep all of that, so the caller sees the task's real error:
 * name, message, stack, nested causes, the errors of an `AggregateError`, and own properties —
 * plain objects and arrays included. Both backends clone (threads by postMessage, processes by
 * `serialization: 'advanced'`), so Dates, Maps, typed arrays and BigInts pass as they are.
 *
 * An error is read defensively: a getter that throws, a Proxy, a cycle or a deep nest cost the
 * property they are in, never the task's result nor the worker.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own enumerable properties (`code`, `errno`, `status`, `details`...), encoded (see `encode`). */
  readonly props: Record<string, unknown>;
  /** Present when the error had a `cause`: encoded, so a cause need not be an Error. */
  readonly cause?: unknown;
  /** An `AggregateError`'s `errors`, encoded. */
  readonly errors?: readonly unknown[];
  /** True when the task threw something that is not an Error (a string, a number...). */
  readonly notAnError?: boolean;
}

/** Marks an encoded error among plain data; the key is unlikely in a task's own objects. */
const ERROR_TAG = '@@polyloop/error';
/** How deep nested objects and causes are followed; past it a value reads `[Object]`. */
const MAX_DEPTH = 8;
/** Own properties the error fields already carry. */
const FIELDS = new Set(['name', 'message', 'stack', 'cause', 'errors']);

export function serializeError(error: unknown): SerializedError {
  return serializeAt(error, 0, new Set());
}

function serializeAt(error: unknown, depth: number, seen: Set<object>): SerializedError {
  if (typeof error === 'object' && error !== null) seen.add(error);
  if (!isError(error)) {
    // A thrown object keeps its properties (`throw { code: 'E_X', message: '...' }`).
    const props = typeof error === 'object' && error !== null ? ownProps(error, depth, seen) : {};
    const message = typeof props.message === 'string' ? props.message : describeThrown(error);
    delete props.message;
    return { name: 'Error', message, stack: undefined, props, notAnError: true };
  }
  const record = error as unknown as Record<string, unknown>;
  const name = read(() => String(error.name), 'Error');
  const message = read(() => String(error.message), '(its message could not be read)');
  const stack = read(() => (typeof error.stack === 'string' ? error.stack : undefined), undefined);
  const result: {
    -readonly [K in keyof SerializedError]: SerializedError[K];
  } = { name, message, stack, props: ownProps(error, depth, seen) };
  if (read(() => 'cause' in error, false)) {
    result.cause = encode(
      read(() => record.cause, undefined),
      depth + 1,
      seen,
    );
  }
  const errors = read(() => record.errors, undefined);
  if (Array.isArray(errors)) {
    result.errors = errors.map((item) => encode(item, depth + 1, seen));
  }
  return result;
}

function ownProps(value: object, depth: number, seen: Set<object>): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const key of read(() => Object.keys(value), [] as string[])) {
    if (FIELDS.has(key) && isError(value)) continue;
    const encoded = encode(
      read(() => (value as Record<string, unknown>)[key], undefined),
      depth + 1,
      seen,
    );
    if (encoded !== undefined) props[key] = encoded;
  }
  return props;
}

/**
 * A value as data structured clone takes: errors tagged and serialized, plain objects and arrays
 * walked, values clone keeps as they are (Dates, Maps, typed arrays...) kept, functions and
 * symbols dropped, other class instances reduced to their own enumerable properties.
 */
function encode(value: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > MAX_DEPTH) return isError(value) ? '[Error]' : '[Object]';
  seen.add(value);
  try {
    if (isError(value)) return { [ERROR_TAG]: serializeAt(value, depth, seen) };
    if (Array.isArray(value)) return value.map((item) => encode(item, depth + 1, seen));
    if (isClonedAsIs(value)) return value;
    if (value instanceof Map) {
      const entries = [...value].map(([k, v]) => [
        encode(k, depth + 1, seen),
        encode(v, depth + 1, seen),
      ]);
      return new Map(entries as Array<[unknown, unknown]>);
    }
    if (value instanceof Set) return new Set([...value].map((v) => encode(v, depth + 1, seen)));
    return ownProps(value, depth, seen);
  } finally {
    // Shared (not circular) references are encoded each time they appear.
    seen.delete(value);
  }
}

function isClonedAsIs(value: object): boolean {
  return (
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value)
  );
}

/** Errors from another realm (a `vm` context) are errors too. */
function isError(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      Object.prototype.toString.call(value) === '[object Error]')
  );
}

function read<T>(get: () => T, fallback: T): T {
  try {
    return get();
  } catch {
    return fallback;
  }
}

const constructors: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

export function reviveError(data: SerializedError): Error {
  const error =
    data.name === 'AggregateError'
      ? new AggregateError([], data.message)
      : new (constructors[data.name] ?? Error)(data.message);
  if (error.name !== data.name) define(error, 'name', data.name);
  define(error, 'stack', data.stack);
  Object.assign(error, decode(data.props));
  if ('cause' in data) define(error, 'cause', decode(data.cause));
  if (data.errors) define(error, 'errors', data.errors.map(decode));
  return error;
}

/** Like the native properties: not enumerable, so the revived error prints as the original. */
function define(error: Error, key: string, value: unknown): void {
  Object.defineProperty(error, key, { value, configurable: true, writable: true });
}

function decode(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(decode);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [decode(k), decode(v)]));
  if (value instanceof Set) return new Set([...value].map(decode));
  if (isClonedAsIs(value)) return value;
  const record = value as Record<string, unknown>;
  const tagged = record[ERROR_TAG];
  if (tagged !== undefined) return reviveError(tagged as SerializedError);
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(record)) plain[key] = decode(record[key]);
  return plain;
}

/** How a thrown value that is not an Error reads in a message. */
export function describeThrown(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    try {
      return String(value);
    } catch {
      return '(a value that cannot be described)';
    }
  }
}

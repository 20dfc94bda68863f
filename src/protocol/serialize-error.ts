/**
 * Errors cross the thread (or process) boundary as plain data: structured clone drops custom
 * classes, own properties like `code`, `cause` and `AggregateError.errors`, and refuses whole
 * errors that hold a function. We keep all of that, so the caller sees the task's real error:
 * name, message, stack, nested causes, the errors of an `AggregateError`, and own properties —
 * plain objects and arrays included. Both backends clone (threads by postMessage, processes by
 * `serialization: 'advanced'`), so Dates, Maps, typed arrays and BigInts pass as they are.
 *
 * An error may fight back: getters and Proxy traps that throw, revoked Proxies, values that will
 * not become strings, cycles, endless cause chains, shared references that make a tree of
 * billions of paths, texts of hundreds of megabytes. Serializing reads everything defensively
 * and never throws, and its result always clones (no Proxy or detached buffer is passed on as
 * is): what cannot be read is described in its place (`<unreadable message: getter threw
 * TypeError: nope>`), so only the task's result pays, never the worker (an exception there would
 * kill it, and all the tasks it runs). Reviving never throws either: the main thread is the
 * caller's.
 */
import { inspect, types } from 'node:util';

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /**
   * Own enumerable properties (`code`, `errno`, `status`, `details`...), encoded (see `encode`).
   * One whose getter throws is left out (a `code` must not become a description of it).
   */
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
/**
 * How many values (properties, items, entries) one error's encoding visits; past it the rest
 * reads `[Truncated]`. Shared references are encoded each time they appear, so 30 references to
 * one array, 8 levels deep, would be 30^8 visits, and a sparse array's length can be 2^32 - 1:
 * a worker blocked for good.
 */
const MAX_VALUES = 100_000;
const TRUNCATED = '[Truncated]';
/**
 * Name, message and stack are cut to this many characters: they are printed, and joined with
 * their causes' into a TaskError's message, where two huge ones overflow V8's longest string
 * (2^29 characters) and throw on the caller's thread.
 */
const MAX_TEXT = 64 * 1024;
/** How long the description of an error thrown while reading another one may be. */
const MAX_BRIEF = 500;
/** Own properties the error fields already carry. */
const FIELDS = new Set(['name', 'message', 'stack', 'cause', 'errors']);

// Taken now: a task module may replace them later, and iteration of a Map must not run its code.
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;

interface Walk {
  /** The objects being encoded on the current path: a second visit is a cycle. */
  readonly seen: Set<object>;
  /** Values visited so far (see MAX_VALUES). */
  values: number;
}

type Read<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly why: string };

export function serializeError(error: unknown): SerializedError {
  try {
    return serializeAt(error, 0, { seen: new Set(), values: 0 });
  } catch (failure) {
    // Every read below is guarded; this is the net under them.
    return {
      name: 'Error',
      message: `<unreadable error: serializing it threw ${brief(failure)}>`,
      stack: undefined,
      props: {},
      notAnError: true,
    };
  }
}

function serializeAt(error: unknown, depth: number, walk: Walk): SerializedError {
  if (!isObject(error) || !isError(error)) return serializeThrown(error, depth, walk);
  walk.seen.add(error);
  const record = error as unknown as Record<string, unknown>;
  const rawName = attempt(error, () => record.name);
  const name = rawName.ok && rawName.value !== undefined ? textOf(rawName.value) : undefined;
  const result: {
    -readonly [K in keyof SerializedError]: SerializedError[K];
  } = {
    name: name?.ok && name.value !== '' ? clip(name.value) : 'Error',
    message: readMessage(error),
    stack: undefined,
    props: ownProps(error, depth, walk),
  };
  const stack = attempt(error, () => record.stack);
  if (!stack.ok) {
    result.stack = `${result.name}: ${result.message}\n    <unreadable stack: ${stack.why}>`;
  } else if (typeof stack.value === 'string') {
    result.stack = clip(stack.value);
  }
  // Not readCause: an explicit `cause: undefined` is kept.
  const cause = readField(error, 'cause');
  if (cause !== ABSENT) {
    result.cause = cause.ok
      ? encode(cause.value, depth + 1, walk)
      : `<unreadable cause: ${cause.why}>`;
  }
  const errors = readField(error, 'errors');
  if (errors !== ABSENT) {
    const list = errors.ok ? asList(errors.value) : errors;
    if (!list.ok) result.errors = [`<unreadable errors: ${list.why}>`];
    else if (list.value !== undefined) result.errors = encodeList(list.value, depth, walk);
  }
  return result;
}

/** A thrown value that is not an Error: a string, a number, a plain object, a Proxy... */
function serializeThrown(value: unknown, depth: number, walk: Walk): SerializedError {
  if (isObject(value)) walk.seen.add(value);
  // A thrown object keeps its properties (`throw { code: 'E_X', message: '...' }`).
  const props = isObject(value) ? ownProps(value, depth, walk) : {};
  const own = props.message;
  delete props.message;
  return {
    name: 'Error',
    // An inherited message counts too, or one behind a Proxy whose other traps throw.
    message: typeof own === 'string' ? clip(own) : readMessage(value),
    stack: undefined,
    props,
    notAnError: true,
  };
}

/**
 * An error's message as text, never throwing: a string as it is (clipped), another value
 * converted, or why it could not be read (`<unreadable message: getter threw TypeError: nope>`).
 * A thrown non-Error reads as its description (see `describeThrown`).
 */
export function readMessage(error: unknown): string {
  if (!isObject(error)) return describeThrown(error);
  const read = attempt(error, () => (error as { message?: unknown }).message);
  if (!isError(error) && (!read.ok || typeof read.value !== 'string')) {
    return describeThrown(error);
  }
  if (!read.ok) return `<unreadable message: ${read.why}>`;
  if (read.value === undefined) return '';
  const text = textOf(read.value);
  return text.ok ? clip(text.value) : `<unreadable message: ${text.why}>`;
}

function ownProps(value: object, depth: number, walk: Walk): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  const keys = attempt(value, () => Object.keys(value));
  if (!keys.ok) return props;
  const skipFields = isError(value);
  for (const [i, key] of keys.value.entries()) {
    if (walk.values >= MAX_VALUES) {
      setOwn(props, TRUNCATED, `${keys.value.length - i} more properties`);
      break;
    }
    // The tag would make plain data revive as an error on the other side.
    if ((skipFields && FIELDS.has(key) && key !== 'errors') || key === ERROR_TAG) continue;
    const read = attempt(value, () => (value as Record<string, unknown>)[key]);
    if (!read.ok) continue;
    // `errors` is a field when it is a list (AggregateError's), a property when it is not (a
    // validation error's { email: 'invalid' }).
    if (skipFields && key === 'errors') {
      const list = asList(read.value);
      if (!list.ok || list.value !== undefined) continue;
    }
    const encoded = encode(read.value, depth + 1, walk);
    if (encoded !== undefined) setOwn(props, key, encoded);
  }
  return props;
}

/**
 * A value as data structured clone takes: errors tagged and serialized, plain objects and arrays
 * walked, values clone keeps as they are (Dates, Maps, typed arrays...) kept, functions and
 * symbols dropped, other class instances and Proxies reduced to their own enumerable properties.
 * Never throws: what cannot be read reads `<unreadable: why>`.
 */
function encode(value: unknown, depth: number, walk: Walk): unknown {
  if (++walk.values > MAX_VALUES) return TRUNCATED;
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (!isObject(value)) return value;
  if (walk.seen.has(value)) return '[Circular]';
  if (depth > MAX_DEPTH) return isError(value) ? '[Error]' : '[Object]';
  walk.seen.add(value);
  try {
    if (isError(value)) return { [ERROR_TAG]: serializeAt(value, depth, walk) };
    // Brand checks: a Proxy of a Date is no Date to them (clone refuses Proxies).
    if (types.isDate(value) || types.isRegExp(value)) return value;
    if (types.isAnyArrayBuffer(value) || ArrayBuffer.isView(value)) return cloneableBytes(value);
    if (types.isMap(value)) {
      const entries: Array<[unknown, unknown]> = [];
      for (const [k, v] of mapEntries.call(value)) {
        if (walk.values >= MAX_VALUES) break;
        entries.push([encode(k, depth + 1, walk), encode(v, depth + 1, walk)]);
      }
      return new Map(entries);
    }
    if (types.isSet(value)) {
      const items: unknown[] = [];
      for (const v of setValues.call(value)) {
        if (walk.values >= MAX_VALUES) break;
        items.push(encode(v, depth + 1, walk));
      }
      return new Set(items);
    }
    const list = asList(value);
    if (!list.ok) return `<unreadable: ${list.why}>`;
    return list.value ? encodeList(list.value, depth, walk) : ownProps(value, depth, walk);
  } catch (failure) {
    return `<unreadable: ${brief(failure)}>`;
  } finally {
    // Shared (not circular) references are encoded each time they appear.
    walk.seen.delete(value);
  }
}

const ABSENT = Symbol('absent');

/**
 * An error's cause as serializing reads it, never throwing: undefined for none (or for a value
 * that is not an error), `<unreadable cause: why>` when reading it threw.
 */
export function readCause(error: unknown): unknown {
  if (!isError(error)) return undefined;
  const cause = readField(error, 'cause');
  if (cause === ABSENT) return undefined;
  return cause.ok ? cause.value : `<unreadable cause: ${cause.why}>`;
}

/**
 * `error[key]` if the error has it (`cause: undefined` set explicitly counts), ABSENT if not, or
 * why it could not be read. A `has` trap that throws leaves it open: then a value is kept if set.
 */
function readField(error: object, key: string): Read<unknown> | typeof ABSENT {
  const has = attempt(error, () => key in error);
  if (has.ok && !has.value) return ABSENT;
  const read = attempt(error, () => (error as Record<string, unknown>)[key]);
  return !has.ok && read.ok && read.value === undefined ? ABSENT : read;
}

/** `value` if it is an array (or a Proxy of one), undefined if not, or why that is unknown. */
function asList(value: unknown): Read<unknown[] | undefined> {
  if (!isObject(value)) return { ok: true, value: undefined };
  const isArray = attempt(value, () => Array.isArray(value));
  if (!isArray.ok) return isArray;
  return { ok: true, value: isArray.value ? (value as unknown[]) : undefined };
}

/** An array item by item, through its Proxy if it has one; an unreadable item is described. */
function encodeList(list: unknown[], depth: number, walk: Walk): unknown[] {
  const length = attempt(list, () => list.length);
  if (!length.ok) return [`<unreadable: ${length.why}>`];
  const items: unknown[] = [];
  for (let i = 0; i < length.value; i++) {
    if (walk.values >= MAX_VALUES) {
      items.push(TRUNCATED);
      break;
    }
    const item = attempt(list, () => list[i]);
    items.push(item.ok ? encode(item.value, depth + 1, walk) : `<unreadable [${i}]: ${item.why}>`);
  }
  return items;
}

/** Bytes as they are, unless their buffer was transferred away: clone throws on a detached one. */
function cloneableBytes(value: object): unknown {
  const length = (value as ArrayBuffer | ArrayBufferView).byteLength;
  if (length > 0) return value;
  try {
    structuredClone(value);
    return value;
  } catch {
    return '[Detached]';
  }
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/**
 * Errors from another realm (a `vm` context) are errors too (a brand check), and so are objects
 * whose prototype chain holds Error.prototype (a Proxy of an error, asked through its trap).
 */
function isError(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  if (types.isNativeError(value)) return true;
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** `get()`, or why it threw, naming what threw: a getter, or a Proxy's trap. */
function attempt<T>(owner: object, get: () => T): Read<T> {
  try {
    return { ok: true, value: get() };
  } catch (failure) {
    return {
      ok: false,
      why: `${types.isProxy(owner) ? 'Proxy' : 'getter'} threw ${brief(failure)}`,
    };
  }
}

/** A value as text the way Error.prototype.toString takes it (`String(v)`), or why it failed. */
function textOf(value: unknown): Read<string> {
  if (typeof value === 'string') return { ok: true, value };
  try {
    return { ok: true, value: String(value) };
  } catch (failure) {
    return { ok: false, why: `converting it to a string threw ${brief(failure)}` };
  }
}

/** One short line naming a value thrown while reading: `TypeError: nope`. Never throws. */
function brief(value: unknown): string {
  let text: string;
  if (typeof value === 'object' && value !== null && types.isProxy(value)) text = 'a Proxy';
  else if (types.isNativeError(value)) {
    const name = attempt(value, () => value.name);
    const message = attempt(value, () => value.message);
    const nameText = name.ok && typeof name.value === 'string' ? name.value : 'Error';
    text =
      message.ok && typeof message.value === 'string' && message.value !== ''
        ? `${nameText}: ${message.value}`
        : nameText;
  } else text = describeThrown(value);
  return clip(text.split('\n', 1)[0]!, MAX_BRIEF);
}

/** Text cut to at most `max` characters, saying how long it was; clipping twice changes nothing. */
export function clip(text: string, max = MAX_TEXT): string {
  if (text.length <= max) return text;
  const suffix = `… (${text.length} characters in all)`;
  return text.slice(0, max - suffix.length) + suffix;
}

const constructors = new Map<string, ErrorConstructor>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
]);

/** The error `data` describes; never throws (a bad shape revives as what could be made of it). */
export function reviveError(data: SerializedError): Error {
  try {
    return reviveAt(data);
  } catch (failure) {
    return new Error(`<unrevivable error: ${brief(failure)}>`);
  }
}

function reviveAt(data: SerializedError): Error {
  const name = typeof data.name === 'string' ? data.name : 'Error';
  const message = typeof data.message === 'string' ? data.message : '';
  // A Map, not an object: a task's error may be named 'constructor' or 'toString'.
  const error =
    name === 'AggregateError'
      ? new AggregateError([], message)
      : new (constructors.get(name) ?? Error)(message);
  if (error.name !== name) define(error, 'name', name);
  define(error, 'stack', typeof data.stack === 'string' ? data.stack : undefined);
  const props = decode(data.props);
  if (isObject(props)) {
    for (const key of Object.keys(props))
      setOwn(error, key, (props as Record<string, unknown>)[key]);
  }
  if ('cause' in data) define(error, 'cause', decode(data.cause));
  if (Array.isArray(data.errors)) define(error, 'errors', data.errors.map(decode));
  return error;
}

/** Like the native properties: not enumerable, so the revived error prints as the original. */
function define(error: Error, key: string, value: unknown): void {
  Object.defineProperty(error, key, { value, configurable: true, writable: true });
}

/** `target[key] = value`, except that a key `__proto__` is an own key, not the prototype. */
function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    configurable: true,
    writable: true,
  });
}

function decode(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(decode);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [decode(k), decode(v)]));
  if (value instanceof Set) return new Set([...value].map(decode));
  if (value instanceof Date || value instanceof RegExp) return value;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  if (types.isAnyArrayBuffer(value)) return value;
  const record = value as Record<string, unknown>;
  const tagged = record[ERROR_TAG];
  if (isObject(tagged)) return reviveError(tagged as SerializedError);
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(record)) setOwn(plain, key, decode(record[key]));
  return plain;
}

/**
 * How a thrown value that is not an Error reads in a message, never throwing: a string as it is,
 * an object as JSON (as util.inspect when JSON fails: a cycle, a BigInt, a throwing `toJSON`), a
 * function by its name; what cannot be read says why. Clipped to MAX_TEXT.
 */
export function describeThrown(value: unknown): string {
  try {
    return clip(describe(value));
  } catch (failure) {
    // Not brief(failure): describing a hostile failure could throw again, and again.
    const what = types.isNativeError(failure)
      ? attempt(failure, () => String(failure.message))
      : undefined;
    const text = what?.ok ? what.value.split('\n', 1)[0]! : 'a value';
    return `<unreadable thrown value: describing it threw ${clip(text, MAX_BRIEF)}>`;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') {
    if (types.isProxy(value)) return '[Function (a Proxy)]';
    const name = attempt(value, () => value.name);
    return name.ok && typeof name.value === 'string' && name.value !== ''
      ? `[Function: ${name.value}]`
      : '[Function (anonymous)]';
  }
  // String() of a symbol or a BigInt runs no code of the task's.
  if (typeof value !== 'object' || value === null) return String(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (failure) {
    // JSON reads through a Proxy's traps; util.inspect shows its target without them.
    if (types.isProxy(value))
      return `<unreadable thrown value: a Proxy; reading it threw ${brief(failure)}>`;
  }
  if (json !== undefined) return json;
  return inspect(value, {
    depth: 2,
    breakLength: Number.POSITIVE_INFINITY,
    maxStringLength: MAX_TEXT,
  });
}

/**
 * A batch of flat objects — plain objects with the same keys in the same order and primitive
 * values only, as parsed JSON lines and database rows are — crosses to a worker as columns: the
 * keys once and one array of values per key. V8's structured clone writes and reads such an
 * object key by key through its generic object path; 512 objects of three keys, serialized and
 * read back (v8.serialize/deserialize): 210 + 265 ns per object as they are, 110 + 125 as
 * columns, the conversions included.
 *
 * The objects the other side gets are what structured clone would give: plain objects
 * (prototype Object.prototype), the same own enumerable string keys in the same order, the same
 * values. A batch with anything else (another prototype, a Proxy, an exotic object such as
 * `arguments`, a nested object, a key missing or extra, the same object twice in a row) is sent
 * as it is. Two differences remain, both with getters or shared objects only: a getter runs here
 * to read its value, and again when a batch that turns out not to be flat is cloned; and an
 * object that appears twice in a batch, not in a row, arrives as two objects (a clone keeps one
 * message's objects shared, and which inputs share a message depends on dealing anyway).
 */
import { types } from 'node:util';

/** The inputs of a batch as columns (see toColumns). */
export interface Columns {
  readonly keys: string[];
  /** columns[j][i]: object i's value of keys[j]. */
  readonly columns: unknown[][];
  readonly length: number;
}

/** Shorter batches go as they are: converting them costs more than it saves. */
export const COLUMNS_MIN_LENGTH = 8;

/**
 * Objects with more keys go as they are: rebuilt key by key, an object past about 16 keys is
 * made a slow dictionary by V8, while a clone stays fast.
 */
const MAX_KEYS = 16;

const objectPrototype = Object.prototype;
const objectToString = Object.prototype.toString;
const empty = {};

/**
 * `values` as columns, or undefined when they are not all flat objects with the same keys. Never
 * throws: a getter that throws leaves the batch as it is, for the clone to fail it in its place
 * (that one input or value only).
 */
export function toColumns(values: readonly unknown[]): Columns | undefined {
  try {
    return columnsOf(values);
  } catch {
    return undefined;
  }
}

function columnsOf(values: readonly unknown[]): Columns | undefined {
  const length = values.length;
  if (length < COLUMNS_MIN_LENGTH) return undefined;
  // An enumerable property added to Object.prototype would show in for-in as a key of every
  // object, though a clone leaves it out.
  for (const _ in empty) return undefined;
  const first = values[0];
  if (!isPlainObject(first)) return undefined;
  const keys: string[] = [];
  for (const key in first) {
    // Set on a new object, '__proto__' would change its prototype, not make a property.
    if (key === '__proto__' || keys.length === MAX_KEYS) return undefined;
    keys.push(key);
  }
  const width = keys.length;
  const columns: unknown[][] = [];
  for (let j = 0; j < width; j++) columns.push([]);
  let previous: unknown;
  for (let i = 0; i < length; i++) {
    const value = values[i];
    // One object in a row (`fill(object)`): a clone sends it once, shared.
    if (value === previous || !isPlainObject(value)) return undefined;
    previous = value;
    let j = 0;
    for (const key in value) {
      if (j === width || key !== keys[j]) return undefined;
      const field = (value as Record<string, unknown>)[key];
      if (!isPrimitive(field)) return undefined;
      columns[j]!.push(field);
      j++;
    }
    if (j !== width) return undefined;
  }
  return { keys, columns, length };
}

/** Values as they travelled (a list, or columns), as a list. */
export function fromWire(values: unknown[] | Columns): unknown[] {
  return Array.isArray(values) ? values : fromColumns(values);
}

/** The objects `toColumns` was given, rebuilt. */
export function fromColumns(wire: Columns): unknown[] {
  const { keys, columns, length } = wire;
  // A key Object.prototype has here ('constructor', or one a frozen or patched prototype holds)
  // would be assigned through it: such objects get their properties defined, as a clone does.
  for (const key of keys) if (key in objectPrototype) return definedRows(wire);
  const values: unknown[] = [];
  const width = keys.length;
  for (let i = 0; i < length; i++) {
    const value: Record<string, unknown> = {};
    for (let j = 0; j < width; j++) value[keys[j]!] = columns[j]![i];
    values.push(value);
  }
  return values;
}

function definedRows({ keys, columns, length }: Columns): unknown[] {
  const values: unknown[] = [];
  for (let i = 0; i < length; i++) {
    const value = {};
    for (let j = 0; j < keys.length; j++) {
      Object.defineProperty(value, keys[j]!, {
        value: columns[j]![i],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    values.push(value);
  }
  return values;
}

/** A plain object: not a Proxy (a clone refuses those), nor exotic (`arguments`, a Date...). */
function isPlainObject(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !types.isProxy(value) &&
    Object.getPrototypeOf(value) === objectPrototype &&
    objectToString.call(value) === '[object Object]'
  );
}

/** What a clone copies as it is (a symbol does not clone at all). */
function isPrimitive(value: unknown): boolean {
  const type = typeof value;
  return type === 'object' ? value === null : type !== 'function' && type !== 'symbol';
}

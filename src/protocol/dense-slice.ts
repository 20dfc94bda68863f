/**
 * Slices of a caller's input array, shaped to clone cheaply. V8 clones an array whose elements
 * kind is "holey" (made by `new Array(n)` then filled, or by `fill`) as a sparse object, index by
 * index, and the worker rebuilds it through the slow property path: ~100 ns more per input, both
 * sides together, than a packed array of the same values. A copy made by pushing is packed, for
 * ~10 ns per input, so a long holey array's slices are copied that way; others are not.
 */
import { types } from 'node:util';
import { Serializer } from 'node:v8';

/** The tag V8's serializer writes before a sparse array (a dense one's is 'A'). */
const SPARSE_ARRAY_TAG = 0x61; // 'a'

/**
 * Below this many inputs a job's slices are sent as they are: the probe costs ~2.5 µs, what
 * packing saves ~100 ns per input, and `run()` makes a job of one input per call.
 */
const PROBE_MIN_LENGTH = 256;

/**
 * Whether `array`'s slices would clone as sparse arrays: asks the serializer itself, about an
 * empty slice (same elements kind, nothing to clone). A serializer per probe: one keeps every
 * object it ever wrote (for back-references), so a reused one held an array per job for good.
 */
export function clonesSparse(array: readonly unknown[]): boolean {
  const probe = new Serializer();
  try {
    probe.writeValue(array.slice(0, 0));
  } catch {
    // An array subclass's species may make something that does not clone: no answer.
    return false;
  }
  return probe.releaseBuffer()[0] === SPARSE_ARRAY_TAG;
}

/**
 * Whether a job over `array` copies its slices packed: a long one whose slices clone sparse. Not
 * a Proxy: its `slice` asks `has` before `get`, and a copy by index would skip that trap.
 */
export function packsSlices(array: readonly unknown[]): boolean {
  return array.length >= PROBE_MIN_LENGTH && !types.isProxy(array) && clonesSparse(array);
}

/** `array.slice(from, to)`, packed: a hole reads as `undefined`, as the worker would see it. */
export function packedSlice(array: readonly unknown[], from: number, to: number): unknown[] {
  const out: unknown[] = [];
  for (let i = from; i < to; i++) out.push(array[i]);
  return out;
}

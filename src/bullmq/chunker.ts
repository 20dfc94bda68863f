/**
 * Cuts a stream of inputs into the chunks `enqueue` makes jobs of: `size` inputs each, and a
 * tapered tail — the last inputs go in chunks halving in size, so the machines that take the
 * last jobs finish together instead of one running a whole chunk while the others wait. The cut
 * depends only on the inputs and `size`, so enqueueing the same list again makes the same jobs.
 */

/** The tail's chunks halve down to this fraction of `size` (and the last holds what is left). */
const SMALLEST_TAIL_FRACTION = 1 / 16;

export async function* chunksOf<T>(
  items: Iterable<T> | AsyncIterable<T>,
  size: number,
  signal?: AbortSignal,
): AsyncGenerator<T[], void, undefined> {
  // Two chunks ahead: the tail is cut once the end is in sight.
  let buffer: T[] = [];
  for await (const item of items) {
    // Stopped: what is read but not added comes with the next enqueue, cut the same way.
    if (signal?.aborted) return;
    buffer.push(item);
    if (buffer.length >= 2 * size) {
      yield buffer.slice(0, size);
      buffer = buffer.slice(size);
    }
  }
  if (signal?.aborted) return;
  const smallest = Math.max(1, Math.floor(size * SMALLEST_TAIL_FRACTION));
  for (let start = 0; start < buffer.length; ) {
    const left = buffer.length - start;
    const length =
      left >= 2 * size ? size : Math.min(left, Math.max(smallest, Math.ceil(left / 2)));
    yield buffer.slice(start, start + length);
    start += length;
  }
}

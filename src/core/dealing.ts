/**
 * Dealing a run of inputs to the workers with free places: rounds of one input per worker, in a
 * fresh random order each round. A worker's share then never depends on where the heavy inputs
 * sit in the input order (a plain round-robin gives every even input to one worker of two), and
 * each round splits evenly, so a cluster of heavy inputs splits evenly too.
 */

/**
 * Which worker gets each of `count` inputs: `owner[position]` is an index into `room`. `room`
 * (free places per worker) is decremented as places are taken; `order` is the workers' order,
 * shuffled in place each round. The caller makes sure `count` fits in the room.
 */
export function deal(
  count: number,
  room: number[],
  order: number[],
  random: () => number,
): Int32Array {
  const owner = new Int32Array(count);
  let next = 0;
  while (next < count) {
    shuffle(order, random);
    for (const w of order) {
      if (next >= count) break;
      if (room[w]! <= 0) continue;
      room[w]!--;
      owner[next++] = w;
    }
  }
  return owner;
}

/** Fisher-Yates, in place. */
export function shuffle(items: number[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = items[i]!;
    items[i] = items[j]!;
    items[j] = swap;
  }
}

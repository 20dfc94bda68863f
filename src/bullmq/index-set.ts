/**
 * A set of non-negative integer indexes as a growable bitmap: one bit per index, so collecting
 * ten million results remembers what it has written in about 1.2 MiB.
 */
export class IndexSet {
  #bits = new Uint8Array(1024);
  #size = 0;

  /** How many distinct indexes were added. */
  get size(): number {
    return this.#size;
  }

  has(index: number): boolean {
    const byte = index >>> 3;
    return byte < this.#bits.length && ((this.#bits[byte] ?? 0) & (1 << (index & 7))) !== 0;
  }

  /** Adds `index`; returns false if it was already there. */
  add(index: number): boolean {
    const byte = index >>> 3;
    if (byte >= this.#bits.length) {
      let length = this.#bits.length;
      while (length <= byte) length *= 2;
      const grown = new Uint8Array(length);
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const mask = 1 << (index & 7);
    const current = this.#bits[byte] ?? 0;
    if ((current & mask) !== 0) return false;
    this.#bits[byte] = current | mask;
    this.#size++;
    return true;
  }
}

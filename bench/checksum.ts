/** FNV-1a over the ordered outputs: equal checksums mean equal ordered int32 results. */
export function checksum(values: readonly unknown[]): string {
  let h = 0x811c9dc5;
  for (const v of values) {
    // A non-number output (e.g. a leaked error object) must never checksum like a valid one.
    if (typeof v !== 'number' || !Number.isInteger(v)) return `bad-output:${typeof v}`;
    h = Math.imul(h ^ (v | 0), 0x01000193) >>> 0;
  }
  return `${values.length}:${h.toString(16).padStart(8, '0')}`;
}

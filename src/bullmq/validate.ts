/** Validates an optional integer option the way `new Pool()` does: a TypeError naming it. */
export function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(
      `Expected \`${name}\` to be an integer >= 1, got ${String(value)} (${typeof value})`,
    );
  }
  return value;
}

/** Validates an optional finite number option: a TypeError naming it. */
export function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`Expected \`${name}\` to be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

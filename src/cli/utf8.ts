/**
 * Where and why bytes are not UTF-8, to say so in an input's error record. Only asked about a line
 * `isUtf8` (node:buffer, fast) has already rejected, so this byte-by-byte walk is never on the
 * hot path.
 */

export interface Utf8Problem {
  /** Offset of the first byte of the bad sequence. */
  readonly at: number;
  /** The bad sequence: its bytes as far as they go, in hex (`0xE6 0x97`). */
  readonly bytes: string;
  readonly reason: string;
}

/** The first ill-formed sequence (Unicode's table 3-7 of well-formed UTF-8), or undefined. */
export function utf8Problem(bytes: Uint8Array): Utf8Problem | undefined {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : 4;
    const problem = (reason: string, size: number): Utf8Problem => ({
      at: i,
      bytes: hex(bytes.subarray(i, i + size)),
      reason,
    });
    if (lead <= 0xbf) return problem('a continuation byte without a lead byte', 1);
    if (lead <= 0xc1) return problem('an overlong encoding', 2);
    if (lead >= 0xf8) return problem('a byte that never occurs in UTF-8', 1);
    if (lead >= 0xf5) return problem('a code point above U+10FFFF', 4);
    // The second byte's range depends on the lead byte; the others are all 0x80..0xBF.
    const second = bytes[i + 1];
    const [low, high] =
      lead === 0xe0
        ? [0xa0, 0xbf]
        : lead === 0xed
          ? [0x80, 0x9f]
          : lead === 0xf0
            ? [0x90, 0xbf]
            : lead === 0xf4
              ? [0x80, 0x8f]
              : [0x80, 0xbf];
    if (
      second !== undefined &&
      second >= 0x80 &&
      second <= 0xbf &&
      (second < low || second > high)
    ) {
      if (lead === 0xed) return problem('a UTF-16 surrogate', 3);
      if (lead === 0xf4) return problem('a code point above U+10FFFF', 4);
      return problem('an overlong encoding', length);
    }
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < 0x80 || next > 0xbf) {
        return problem('a sequence cut short', k);
      }
    }
    i += length;
  }
  return undefined;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(
    ' ',
  );
}

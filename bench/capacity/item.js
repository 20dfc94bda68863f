// What the capacity server answers for /item/<i>, and the digest the client task computes over it.
// Plain ESM JavaScript: the task module loads it in worker threads, which start without a
// TypeScript loader; the server and the benchmark (TypeScript) share it through item.d.ts.

/** Lines in each item's body: about 1 KB, so reading it costs the client a little. */
const LINES = 24;

/** A 32-bit integer mix (murmur3's finalizer): stable filler that differs per item and line. */
function mix(x) {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The text body of /item/<i>. */
export function itemBody(i) {
  let body = '';
  for (let line = 0; line < LINES; line++) {
    body += `item ${i} line ${line} ${mix(i * LINES + line)
      .toString(16)
      .padStart(8, '0')}\n`;
  }
  return body;
}

/** FNV-1a over the text's UTF-16 code units, `rounds` times over: the client's CPU work. */
export function digest(text, rounds) {
  let h = 0x811c9dc5;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < text.length; k++) {
      h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
    }
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

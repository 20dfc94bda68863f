/**
 * A progress line made of fields that fits any width by leaving whole fields out, least important
 * first: a narrow terminal shows fewer facts, never a number cut in the middle.
 */

export interface Field {
  readonly text: string;
  /** 0 is kept longest; higher numbers are left out first. */
  readonly priority: number;
}

const SEPARATOR = '  ';

/** Characters a line takes on a terminal: our glyphs (█ ░ ▁ µ —) are one column each. */
export function columnsOf(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The fields in their order, without the least important ones that do not fit in `width`. */
export function fitFields(fields: readonly Field[], width: number, separator = SEPARATOR): string {
  const kept = fields.filter((field) => field.text !== '');
  const join = (): string => kept.map((field) => field.text).join(separator);
  while (kept.length > 0 && columnsOf(join()) > width) {
    // Of the least important, the rightmost goes first.
    let drop = 0;
    for (let i = 1; i < kept.length; i++) {
      if (kept[i]!.priority >= kept[drop]!.priority) drop = i;
    }
    kept.splice(drop, 1);
  }
  return join();
}

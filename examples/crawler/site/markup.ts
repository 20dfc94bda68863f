/**
 * Builds HTML and, alongside it, what a correct extractor must find in it: the number of visible
 * words. The site's pages are generated with this, so the tests compare the crawler against the
 * generator's intent rather than against another parser.
 *
 * Words are runs of characters other than ASCII whitespace and no-break space, in text outside
 * <title>, <script>, <style>, <noscript> and <template>; a tag or a comment ends a word.
 */
import type { Random } from './prng.ts';

const NAMED: Readonly<Record<string, string>> = {
  é: 'eacute',
  ï: 'iuml',
  ü: 'uuml',
  ö: 'ouml',
  ñ: 'ntilde',
  '—': 'mdash',
  '“': 'ldquo',
  '”': 'rdquo',
  '’': 'rsquo',
  '©': 'copy',
  '€': 'euro',
  '…': 'hellip',
};

const WORD = /[^ \t\n\f\r\u00a0]+/g;

export function countWords(text: string): number {
  return text.match(WORD)?.length ?? 0;
}

/**
 * Escapes text for an element's content or a quoted attribute value, spelling each special
 * character one of the ways real pages do (named, decimal or hex reference, or the raw character).
 */
export function encodeText(text: string, random: Random, inAttribute = false): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '&') out += random.chance(0.8) ? '&amp;' : '&#38;';
    else if (char === '<') out += '&lt;';
    else if (char === '>') out += random.chance(0.5) ? '&gt;' : '>';
    else if (char === '"' && inAttribute) out += '&quot;';
    else if (char === '\u00a0') out += '&nbsp;';
    else if (code > 127) {
      const roll = random.next();
      const name = NAMED[char];
      if (name && roll < 0.4) out += `&${name};`;
      else if (roll < 0.6) out += `&#${code};`;
      else if (roll < 0.75) out += `&#x${code.toString(16).toUpperCase()};`;
      else out += char;
    } else out += char;
  }
  return out;
}

/** Accumulates markup and the visible word count it carries. */
export class Markup {
  #html = '';
  #words = 0;
  /** Decoded visible text since the last tag: words may continue across entity spellings. */
  #pending = '';

  constructor(readonly random: Random) {}

  /** Markup that ends any word in progress (a tag, a comment, a whole hidden element). */
  tag(html: string): this {
    this.#flush();
    this.#html += html;
    return this;
  }

  /** Visible text, escaped. */
  text(text: string): this {
    this.#html += encodeText(text, this.random);
    this.#pending += text;
    return this;
  }

  /** Visible text already written as HTML, with the text it decodes to. */
  raw(html: string, decoded: string): this {
    this.#html += html;
    this.#pending += decoded;
    return this;
  }

  /** A run of visible text already escaped, whose word count is known, between two tags. */
  counted(html: string, words: number): this {
    this.#flush();
    this.#html += html;
    this.#words += words;
    return this;
  }

  /** Whitespace between elements: no words, and ends none (it is whitespace). */
  space(whitespace = '\n'): this {
    this.#html += whitespace;
    this.#pending += whitespace;
    return this;
  }

  get words(): number {
    this.#flush();
    return this.#words;
  }

  get html(): string {
    return this.#html;
  }

  #flush(): void {
    if (this.#pending) this.#words += countWords(this.#pending);
    this.#pending = '';
  }
}

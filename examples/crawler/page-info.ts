/**
 * What the crawler extracts from an HTML page, and the parser-independent rules for it: how links
 * are resolved and kept, how words are counted, which elements hold no visible text, so that
 * what the crawler finds does not depend on the parser behind extract.ts.
 */

export interface PageInfo {
  /** The first <title>'s text, whitespace collapsed; null if the page has none. */
  readonly title: string | null;
  /** The first <meta name="description">'s content, whitespace collapsed; null if none. */
  readonly description: string | null;
  /** Absolute http(s) URLs of <a href>, resolved against <base href> or the page URL, without fragment, de-duplicated, in document order. */
  readonly links: string[];
  /** Visible words: runs of non-whitespace in text outside title, script, style, noscript and template; tags end words. */
  readonly words: number;
}

/** Elements whose content is not visible text (noscript: as a browser with scripts on renders it). */
export const HIDDEN_ELEMENTS: ReadonlySet<string> = new Set([
  'script',
  'style',
  'noscript',
  'template',
]);

/** ASCII whitespace runs to one space, trimmed (the way `document.title` reads a title). */
export function collapseWhitespace(text: string): string {
  return text.replace(/[ \t\n\f\r]+/g, ' ').trim();
}

/** Resolves hrefs against the document's base URL, keeping each http(s) target once. */
export class LinkCollector {
  readonly #links = new Set<string>();
  /** Raw hrefs already handled: pages repeat the same href many times, and parsing a URL is not free. */
  readonly #seen = new Set<string>();
  #base: string;
  #baseSet = false;

  constructor(readonly documentUrl: string) {
    this.#base = documentUrl;
  }

  /** The first <base href> wins; an invalid one is ignored, as browsers do. */
  setBase(href: string): void {
    if (this.#baseSet) return;
    this.#baseSet = true;
    try {
      this.#base = new URL(href, this.documentUrl).href;
      this.#seen.clear();
    } catch {
      // Keep the document URL.
    }
  }

  add(href: string): void {
    if (this.#seen.has(href)) return;
    this.#seen.add(href);
    let url: URL;
    try {
      url = new URL(href, this.#base);
    } catch {
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
    const serialized = url.href;
    // A serialized URL has at most one '#': the fragment's start.
    const hash = serialized.indexOf('#');
    this.#links.add(hash === -1 ? serialized : serialized.slice(0, hash));
  }

  get links(): string[] {
    return [...this.#links];
  }
}

/** Counts words in text that arrives in pieces; `boundary()` marks a tag or comment between pieces. */
export class WordCounter {
  count = 0;
  #inWord = false;

  feed(text: string): void {
    let inWord = this.#inWord;
    let count = this.count;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      // space, \t, \n, \f, \r and no-break space
      if (c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 160) inWord = false;
      else if (!inWord) {
        inWord = true;
        count++;
      }
    }
    this.#inWord = inWord;
    this.count = count;
  }

  boundary(): void {
    this.#inWord = false;
  }
}

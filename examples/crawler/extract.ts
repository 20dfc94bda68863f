/**
 * Extracts a page's title, description, links and word count with htmlparser2's streaming
 * tokenizer: no tree is built, chunks are parsed as they arrive from the network. It is 4.1–4.3×
 * parse5's speed on the test site's pages (bench/experiments/NOTES.md).
 */
import { Parser } from 'htmlparser2';
import {
  collapseWhitespace,
  HIDDEN_ELEMENTS,
  LinkCollector,
  type PageInfo,
  WordCounter,
} from './page-info.ts';

export class HtmlExtractor {
  readonly #parser: Parser;
  readonly #links: LinkCollector;
  readonly #words = new WordCounter();
  #title: string | null = null;
  #description: string | null = null;
  /** Text of the first <title> while it is being read. */
  #titleText: string | undefined;
  #inTitle = false;
  /** The hidden element we are inside (script, style...) and how deep its own nesting goes. */
  #hidden: string | undefined;
  #hiddenDepth = 0;
  /** A <title> inside <svg> is the graphic's, not the page's. */
  #svgDepth = 0;

  constructor(documentUrl: string) {
    this.#links = new LinkCollector(documentUrl);
    this.#parser = new Parser(
      {
        onopentag: (name, attributes) => this.#open(name, attributes),
        onclosetag: (name) => this.#close(name),
        ontext: (text) => this.#text(text),
        oncomment: () => this.#words.boundary(),
      },
      { decodeEntities: true },
    );
  }

  write(chunk: string): void {
    this.#parser.write(chunk);
  }

  end(chunk?: string): PageInfo {
    this.#parser.end(chunk);
    return {
      title: this.#title,
      description: this.#description,
      links: this.#links.links,
      words: this.#words.count,
    };
  }

  #open(name: string, attributes: Record<string, string>): void {
    if (this.#hidden !== undefined) {
      if (name === this.#hidden) this.#hiddenDepth++;
      return;
    }
    this.#words.boundary();
    switch (name) {
      case 'a': {
        const href = attributes.href;
        if (href !== undefined) this.#links.add(href);
        break;
      }
      case 'base': {
        const href = attributes.href;
        if (href !== undefined) this.#links.setBase(href);
        break;
      }
      case 'meta':
        if (this.#description === null && attributes.content !== undefined) {
          const metaName = attributes.name;
          if (metaName !== undefined && metaName.toLowerCase() === 'description') {
            this.#description = collapseWhitespace(attributes.content);
          }
        }
        break;
      case 'title':
        if (this.#svgDepth === 0) {
          this.#inTitle = true;
          if (this.#title === null) this.#titleText = '';
        }
        break;
      case 'svg':
        this.#svgDepth++;
        break;
      default:
        if (HIDDEN_ELEMENTS.has(name)) {
          this.#hidden = name;
          this.#hiddenDepth = 1;
        }
    }
  }

  #close(name: string): void {
    if (this.#hidden !== undefined) {
      if (name === this.#hidden && --this.#hiddenDepth === 0) this.#hidden = undefined;
      return;
    }
    this.#words.boundary();
    if (name === 'title' && this.#inTitle) {
      this.#inTitle = false;
      if (this.#titleText !== undefined) {
        this.#title = collapseWhitespace(this.#titleText);
        this.#titleText = undefined;
      }
    } else if (name === 'svg' && this.#svgDepth > 0) {
      this.#svgDepth--;
    }
  }

  #text(text: string): void {
    if (this.#hidden !== undefined) return;
    if (this.#inTitle) {
      if (this.#titleText !== undefined) this.#titleText += text;
      return;
    }
    this.#words.feed(text);
  }
}

/** Extracts from a whole document at once. */
export function extractPage(html: string, documentUrl: string): PageInfo {
  return new HtmlExtractor(documentUrl).end(html);
}

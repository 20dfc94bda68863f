/**
 * The site's generated pages: page N is a pure function of N and the site's origins. Each page
 * comes with its truth — the title, description, links and word count a correct extractor finds —
 * recorded while the markup is written, from the generator's own intent (the absolute URL it
 * meant each href to reach), not by parsing the result.
 */
import { type Block, buildAnchorTexts, buildBlocks, type Snippet, VOCABULARY } from './blocks.ts';
import { encodeText, Markup } from './markup.ts';
import { Random } from './prng.ts';

export interface SiteShape {
  /** Number of generated pages: /page/0 ... /page/(pages-1). */
  readonly pages: number;
  /** `http://127.0.0.1:PORT`, one per port the site listens on; page N lives on origins[N % length]. */
  readonly origins: readonly string[];
}

export interface PageTruth {
  readonly url: string;
  readonly title: string | null;
  readonly description: string | null;
  /** Absolute http(s) URLs without fragment, de-duplicated, in document order. */
  readonly links: readonly string[];
  readonly words: number;
}

export interface Page {
  readonly body: Buffer;
  readonly contentType: string;
  readonly truth: PageTruth;
}

export function pageUrl(site: SiteShape, n: number): string {
  return `${site.origins[n % site.origins.length]}/page/${n}`;
}

let shared: { blocks: Block[]; anchors: Snippet[] } | undefined;
function snippets(): { blocks: Block[]; anchors: Snippet[] } {
  shared ??= { blocks: buildBlocks(), anchors: buildAnchorTexts() };
  return shared;
}

/** Hrefs that must never become links: other schemes, an invalid URL. */
const NOT_CRAWLABLE = [
  'mailto:info@example.test?subject=Hi%20there',
  'javascript:void(0)',
  'tel:+1-555-0100',
  'data:text/html,%3Ch1%3Ehi%3C%2Fh1%3E',
  'ftp://127.0.0.1/pub/file.txt',
  'http://exa mple.test/',
  'http://[::1/broken',
];

const CONTENT_TYPES = [
  'text/html; charset=utf-8',
  'text/html; charset=utf-8',
  'text/html; charset=UTF-8',
  'text/html',
  'TEXT/HTML; Charset="utf-8"',
];

function words(random: Random, min: number, max: number): string {
  const count = random.int(min, max);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(random.pick(VOCABULARY));
  return out.join(' ');
}

function originOf(url: string): string {
  return url.slice(0, url.indexOf('/', 'http://'.length));
}

/** Writes one page's links in the many ways real pages spell an href, and records what each reaches. */
class LinkWriter {
  readonly found: string[] = [];
  readonly #baseOrigin: string;
  readonly #baseDir: string;

  constructor(
    private readonly random: Random,
    private readonly site: SiteShape,
    private readonly page: number,
    private readonly base: string,
  ) {
    this.#baseOrigin = originOf(base);
    const path = base.slice(this.#baseOrigin.length);
    this.#baseDir = path.slice(0, path.lastIndexOf('/') + 1);
  }

  write(m: Markup, index: number): void {
    const r = this.random;
    const roll = r.next();
    let href: string;
    if (roll < 0.06) {
      href = r.pick(NOT_CRAWLABLE);
    } else if (roll < 0.08) {
      // Fragment-only: the base document itself.
      href = `#sec-${r.int(1, 20)}`;
      this.found.push(this.base);
    } else {
      const target = this.#target(roll, index);
      href = this.#spell(target);
      if (r.chance(0.15)) href += `#part-${r.int(1, 9)}`;
      if (r.chance(0.04)) href = ` \n  ${href}  `;
      this.found.push(target);
    }
    const anchor = r.pick(snippets().anchors);
    m.tag(this.#openTag(href))
      .counted(anchor.html, anchor.words)
      .tag(r.chance(0.1) ? '</A>' : '</a>');
  }

  #target(roll: number, index: number): string {
    const r = this.random;
    const { origins, pages } = this.site;
    if (roll < 0.12 && this.found.length > 0) return r.pick(this.found);
    if (roll < 0.15) {
      const m = r.int(0, pages - 1);
      const path = r.pick([
        '/status/404',
        '/status/500',
        `/redirect/2/page/${m}`,
        '/image.png',
        `/slow/50/page/${m}`,
      ]);
      return `${r.pick(origins)}${path}`;
    }
    const m = r.int(0, pages - 1);
    const url = pageUrl(this.site, m);
    return r.chance(0.1) ? `${url}?ref=p${this.page}&pos=${index}` : url;
  }

  /** An href that resolves against the base to `target`, spelled one of several ways. */
  #spell(target: string): string {
    const r = this.random;
    const origin = originOf(target);
    const path = target.slice(origin.length);
    const roll = r.next();
    if (origin === this.#baseOrigin) {
      if (roll < 0.3) return path;
      if (roll < 0.45 && path.startsWith(this.#baseDir)) {
        return (r.chance(0.5) ? './' : '') + path.slice(this.#baseDir.length);
      }
      if (roll < 0.6) {
        const depth = this.#baseDir.split('/').length - 2;
        return '../'.repeat(depth) + path.slice(1);
      }
    }
    if (roll < 0.7) return `//${origin.slice('http://'.length)}${path}`;
    if (roll < 0.75) return `HTTP://${origin.slice('http://'.length)}${path}`;
    return target;
  }

  #openTag(href: string): string {
    const r = this.random;
    // Most pages escape & in attributes; enough do not that both spellings must work.
    const value = r.chance(0.7) ? href.replaceAll('&', '&amp;') : href;
    const roll = r.next();
    let attribute: string;
    if (roll < 0.15 && /^[^\s"'=<>`]+$/.test(value)) attribute = `href=${value}`;
    else if (roll < 0.3 && !value.includes("'")) attribute = `href='${value}'`;
    else attribute = `href="${value.replaceAll('"', '&quot;')}"`;
    if (r.chance(0.1)) return `<A ${attribute.replace('href', 'HREF')}>`;
    if (r.chance(0.3)) return `<a class="nav-link" ${attribute} rel=nofollow>`;
    return `<a ${attribute}>`;
  }
}

/** Page `n` of the site, with its truth. */
export function buildPage(site: SiteShape, n: number): Page {
  const r = new Random(n * 7919 + 17);
  const url = pageUrl(site, n);
  const origin = originOf(url);
  const targetBytes = Math.round((20 + 130 * r.next() ** 2) * 1024);
  const linkCount = r.int(50, 200);

  let base = url;
  let baseTag = '';
  if (r.chance(0.12)) {
    const baseOrigin = r.pick(site.origins);
    const dir = `/docs/v${r.int(1, 9)}/`;
    base = baseOrigin + dir;
    baseTag = `<base href="${baseOrigin === origin && r.chance(0.5) ? dir : base}">\n`;
  }

  const titleWords = r.chance(0.03) ? null : words(r, 3, 7);
  const rawTitle = titleWords === null ? null : `${titleWords} — Page ${n}`;
  const rawDescription = r.chance(0.1)
    ? null
    : `Page ${n}: "${words(r, 1, 3)}" & ${words(r, 6, 18)}`;

  const parts: Buffer[] = [];
  let bytes = 0;
  let wordCount = 0;
  const push = (part: string | Buffer, partWords: number) => {
    const buffer = typeof part === 'string' ? Buffer.from(part) : part;
    parts.push(buffer);
    bytes += buffer.length;
    wordCount += partWords;
  };

  let head = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n';
  if (titleWords !== null) {
    const tag = r.chance(0.1) ? 'TITLE' : 'title';
    const text = `${encodeText(titleWords, r)}\n   ${encodeText('—', r)}  Page ${n}`;
    head += `<${tag}>\n  ${text}\n</${tag}>\n`;
  }
  head += '<meta name="viewport" content="width=device-width, initial-scale=1">\n';
  if (rawDescription !== null) {
    const content = encodeText(rawDescription, r, true);
    head += r.chance(0.3)
      ? `<meta content="${content}" NAME="Description">\n`
      : `<meta name="description" content="  ${content}">\n`;
  }
  head += `${baseTag}<link rel="stylesheet" href="/css/site.css">\n`;
  head += '<script src="/js/app.js" defer></script>\n</head>\n<body class="page">\n';
  push(head, 0);

  const links = new LinkWriter(r, site, n, base);
  let written = 0;
  const writeLinks = (m: Markup, count: number) => {
    for (let i = 0; i < count && written < linkCount; i++, written++) {
      m.tag('<li>');
      links.write(m, written);
      m.tag('</li>').space();
    }
  };

  const nav = new Markup(r).tag('<header><nav><ul class="menu">').space();
  writeLinks(nav, r.int(10, 20));
  nav.tag('</ul></nav></header>').space().tag('<main>').space();
  push(nav.html, nav.words);

  const pool = snippets().blocks;
  const footerReserve = 3000;
  while (bytes < targetBytes - footerReserve) {
    const block = pool[r.int(0, pool.length - 1)]!;
    push(block.html, block.words);
    if (written < linkCount && r.chance(0.6)) {
      const related = new Markup(r).tag('<ul class="related">').space();
      writeLinks(related, r.int(2, 8));
      related.tag('</ul>').space();
      push(related.html, related.words);
    }
  }

  const footer = new Markup(r).tag('</main>').space().tag('<footer><ul>').space();
  writeLinks(footer, linkCount - written);
  footer.tag('</ul>').space().tag('<p>').text(`© 2026 polyloop test site, page ${n}`).tag('</p>');
  footer.space().tag('</footer>').space();
  // Some pages end without closing body and html, as real ones do.
  if (r.chance(0.9)) footer.tag('</body>\n</html>\n');
  push(footer.html, footer.words);

  return {
    body: Buffer.concat(parts, bytes),
    contentType: r.pick(CONTENT_TYPES),
    truth: {
      url,
      title: rawTitle === null ? null : collapse(rawTitle),
      description: rawDescription === null ? null : collapse(rawDescription),
      links: [...new Set(links.found)],
      words: wordCount,
    },
  };
}

/** ASCII whitespace runs to one space, trimmed (what document.title does). */
function collapse(text: string): string {
  return text.replace(/[ \t\n\f\r]+/g, ' ').trim();
}

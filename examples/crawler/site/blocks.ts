/**
 * The pool of content blocks pages are assembled from. Built once per process from a fixed seed,
 * so every process serves (and every test predicts) the same bytes, and a page costs the site a
 * few buffer copies rather than fresh markup: the site shares the cores with the crawler.
 */
import { Markup } from './markup.ts';
import { Random } from './prng.ts';

export const VOCABULARY: readonly string[] = (
  'the of and to in is for on that with as by at from this be are was it an or which ' +
  'data report market city council river station garden library museum season festival ' +
  'engine network service search results update release version schedule weather forecast ' +
  'recipe kitchen travel guide hotel museum history science research study university ' +
  'review product price shipping return policy customer support account privacy terms ' +
  'café naïve résumé über Zürich São Paulo München jalapeño façade coöperate — “quoted” ' +
  'it’s 3½ €20 © AT&T R&D <tag> a<b x>y 2024 10:30 e-mail self-hosted well-known ' +
  'performance latency throughput parser crawler worker thread event loop'
).split(' ');

export interface Block {
  readonly html: Buffer;
  /** Visible words in the block. */
  readonly words: number;
}

function sentence(random: Random, min: number, max: number): string {
  const count = random.int(min, max);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(random.pick(VOCABULARY));
  return words.join(random.chance(0.05) ? '\u00a0' : ' ');
}

/** Inline markup inside a paragraph: nested, sometimes mis-nested, always between spaces. */
function paragraph(m: Markup, open = '<p>'): void {
  const r = m.random;
  m.tag(open);
  const pieces = r.int(3, 8);
  for (let i = 0; i < pieces; i++) {
    if (i > 0) m.space(' ');
    const roll = r.next();
    if (roll < 0.45) m.text(sentence(r, 4, 14));
    else if (roll < 0.55)
      m.tag('<b>')
        .text(sentence(r, 1, 3))
        .tag('</b>');
    else if (roll < 0.62)
      m.tag('<em class="note">')
        .text(sentence(r, 1, 4))
        .tag('</em>');
    else if (roll < 0.68)
      m.tag('<span class="a"><span class="b"><strong>')
        .text(sentence(r, 1, 3))
        .tag('</strong></span> ')
        .text(sentence(r, 1, 2))
        .tag('</span>');
    else if (roll < 0.72)
      m.tag('<b>').text('bold ').tag('<i>').text('both').tag('</b>').tag('</i>');
    else if (roll < 0.76) m.tag('<code>').text('if (a < b && c > d) return;').tag('</code>');
    else if (roll < 0.8) m.raw('&copy 2024 AT&T', '\u00a9 2024 AT&T');
    else if (roll < 0.84)
      m.tag(`<abbr title="${r.pick(['HyperText', 'a &amp; b', "it's"])}">`)
        .text('HTML')
        .tag('</abbr>');
    else if (roll < 0.88) m.tag('<br/>');
    else if (roll < 0.92) m.tag('<img src=/img/photo.jpg alt="a > b" width=300 loading=lazy>');
    else if (roll < 0.96)
      m.tag(`<a name="anchor-${r.int(1, 99)}">`)
        .text(sentence(r, 1, 2))
        .tag('</a>');
    else m.tag('<x-widget data-state=\'{"open":true}\' hidden>').text('widget').tag('</x-widget>');
  }
  // Real pages leave paragraphs open about as often as they close them.
  if (r.chance(0.6)) m.tag('</p>');
  m.space();
}

function prose(m: Markup): void {
  const r = m.random;
  m.tag(`<section id="s${r.int(1, 9999)}" class="content">`).space();
  m.tag(r.chance(0.3) ? '<H2>' : '<h2>')
    .text(sentence(r, 2, 6))
    .tag('</h2>')
    .space();
  const paragraphs = r.int(2, 5);
  for (let i = 0; i < paragraphs; i++) paragraph(m, r.chance(0.2) ? '<P class=lead>' : '<p>');
  m.tag('</section>').space();
}

function list(m: Markup): void {
  const r = m.random;
  m.tag(r.chance(0.5) ? '<ul class="items">' : '<ol start=3>').space();
  const items = r.int(3, 10);
  for (let i = 0; i < items; i++) {
    // <li> without </li> is valid HTML: the next <li> closes it.
    m.tag('<li>').text(sentence(r, 2, 8));
    if (r.chance(0.5)) m.tag('</li>');
    m.space();
  }
  m.tag(r.chance(0.5) ? '</ul>' : '</ol>').space();
}

function table(m: Markup): void {
  const r = m.random;
  m.tag('<table class=data>').space().tag('<tr>');
  const columns = r.int(2, 5);
  for (let c = 0; c < columns; c++) m.tag('<th>').text(sentence(r, 1, 2));
  m.space();
  const rows = r.int(2, 8);
  for (let i = 0; i < rows; i++) {
    m.tag('<tr>');
    for (let c = 0; c < columns; c++)
      m.tag('<td>')
        .text(sentence(r, 1, 3))
        .tag('</td>');
    m.space();
  }
  m.tag('</table>').space();
}

/** Scripts full of things that look like markup and links but are not. */
function script(m: Markup): void {
  const r = m.random;
  const n = r.int(1, 999);
  const body = r.chance(0.5)
    ? `\nvar html = "<a href='/in-script/${n}'>x</a>"; if (a < b && b > c) { document.write('<div>' + html + '</scr' + 'ipt>'); }\n` +
      `function track(e){for(var i=0;i<e.length;i++){if(e[i]&&e[i].href){send(e[i].href)}}}\n`
    : `\n{"@context":"https://schema.org","@type":"Article","url":"/in-json/${n}","name":"a &amp; b <b>"}\n`;
  const open = body.startsWith('\n{') ? '<script type="application/ld+json">' : '<script>';
  m.tag(`${open}${body.repeat(r.int(1, 6))}</script>`).space();
}

function style(m: Markup): void {
  const rules =
    'a[href^="http"] > span::after { content: "<a href=/in-style>"; }\n.grid{display:grid;gap:1rem}\n';
  m.tag(`<style media="screen">\n${rules.repeat(m.random.int(1, 8))}</style>`).space();
}

/** Comments (with a dead link inside) and a noscript fallback: neither holds visible text or links. */
function hidden(m: Markup): void {
  const r = m.random;
  if (r.chance(0.5)) {
    m.tag(`<!-- <a href="/commented-out/${r.int(1, 99)}">old link</a> -->`).space();
    m.tag('<!--[if lt IE 9]><script src="/html5shiv.js"></script><![endif]-->').space();
  } else {
    m.tag(
      '<noscript><img src="/pixel.gif?id=1&amp;t=2" alt=""><a href="/noscript-only">Enable JavaScript</a></noscript>',
    ).space();
  }
}

/** Markup that is broken the usual ways, kept so that every word boundary is still a tag or a space. */
function broken(m: Markup): void {
  const r = m.random;
  m.tag('<DIV CLASS=box data-x=1 data-x=2>').space();
  m.tag('<p>')
    .text(sentence(r, 2, 6))
    .space(' ')
    .tag('<div class="inner">')
    .text(sentence(r, 1, 4));
  m.space(' ')
    .tag('</span>')
    .space(' ')
    .text(sentence(r, 1, 3))
    .space(' ')
    .tag('</div></p>');
  m.space()
    .tag('<font color=red size=+1>')
    .text(sentence(r, 1, 3))
    .tag('</font>')
    .space();
  m.tag(
    '<svg width="16" height="16" viewBox="0 0 16 16"><path d="M0 0h16v16H0z"/><circle cx=8 cy=8 r=4 /></svg>',
  );
  m.space().tag(
    '<form action="/search"><input name=q value="a&amp;b" disabled><button type=submit>',
  );
  m.text('Search').tag('</button></form>').space().tag('</DIV>').space();
}

export interface Snippet {
  readonly html: string;
  readonly words: number;
}

/** Link texts, escaped once up front: 1–4 words each. */
export function buildAnchorTexts(count = 512, seed = 7): Snippet[] {
  const random = new Random(seed);
  const texts: Snippet[] = [];
  for (let i = 0; i < count; i++) {
    const m = new Markup(random).text(sentence(random, 1, 4));
    texts.push({ html: m.html, words: m.words });
  }
  return texts;
}

const KINDS = [prose, prose, prose, prose, list, list, table, script, style, hidden, broken];

/** The shared pool: `count` blocks, each 0.3–4 KB of one kind. */
export function buildBlocks(count = 96, seed = 20261125): Block[] {
  const random = new Random(seed);
  const blocks: Block[] = [];
  for (let i = 0; i < count; i++) {
    const m = new Markup(random);
    KINDS[i % KINDS.length]!(m);
    blocks.push({ html: Buffer.from(m.html), words: m.words });
  }
  return blocks;
}

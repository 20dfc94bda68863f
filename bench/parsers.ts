// Which HTML parser should the crawler use? Extracts title, description, links and words from a
// sample of the test site's pages with htmlparser2 (streaming callbacks) and with parse5 (full
// tree, then a walk); checks both against the pages' truth; reports MB/s, the median of several
// runs. Usage: node --import tsx bench/parsers.ts [--pages 300] [--runs 7]
import { loadavg } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { extractPage } from '../examples/crawler/extract.ts';
import type { PageInfo } from '../examples/crawler/page-info.ts';
import { buildPage, type PageTruth } from '../examples/crawler/site/pages.ts';
import { extractPageParse5 } from './crawl-extract-parse5.ts';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1)
    throw new TypeError(`--${name} wants a positive integer`);
  return value;
}

const PAGES = flag('pages', 300);
const RUNS = flag('runs', 7);

// Origins as the site would have them; no server is needed to parse its pages.
const site = {
  pages: 20_000,
  origins: [4001, 4002, 4003, 4004].map((p) => `http://127.0.0.1:${p}`),
};
// Every 61st page: spread over the site, not its first few.
const sample = Array.from({ length: PAGES }, (_, i) => buildPage(site, (i * 61) % site.pages));
const documents = sample.map((page) => ({ html: page.body.toString('utf8'), truth: page.truth }));
const megabytes = sample.reduce((sum, page) => sum + page.body.length, 0) / 1e6;

const parsers: Array<[string, (html: string, url: string) => PageInfo]> = [
  ['htmlparser2 12 (streaming callbacks)', extractPage],
  ['parse5 8 (tree, then walk)', extractPageParse5],
];

function matches(info: PageInfo, truth: PageTruth): boolean {
  const { url: _, ...expected } = truth;
  return isDeepStrictEqual(info, { ...expected, links: [...expected.links] });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const loadBefore = loadavg()[0]!;
console.log(
  `${PAGES} pages of the test site, ${megabytes.toFixed(1)} MB of HTML, median of ${RUNS} runs (Node ${process.version})\n`,
);
const rows: string[] = [
  '| parser | MB/s | ms per page | pages matching the truth |',
  '|---|---:|---:|---:|',
];
const correct = parsers.map(
  ([, extract]) => documents.filter((d) => matches(extract(d.html, d.truth.url), d.truth)).length,
);
// Runs alternate between the parsers, so a change in the machine's load weighs on both alike.
const times: number[][] = parsers.map(() => []);
for (let run = 0; run < RUNS; run++) {
  parsers.forEach(([, extract], p) => {
    const start = performance.now();
    for (const d of documents) extract(d.html, d.truth.url);
    times[p]!.push(performance.now() - start);
  });
}
const speeds = parsers.map(([name], p) => {
  const ms = median(times[p]!);
  const speed = megabytes / (ms / 1000);
  rows.push(
    `| ${name} | ${speed.toFixed(1)} | ${(ms / PAGES).toFixed(3)} | ${correct[p]}/${PAGES} |`,
  );
  return speed;
});
console.log(rows.join('\n'));
const [fast, slow] = speeds as [number, number];
console.log(`\nhtmlparser2 is ${(fast / slow).toFixed(2)}x the speed of parse5 on these pages.`);
console.log(
  `1-minute load average: ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after.`,
);

/**
 * The test site's URL scheme: what each path answers, as data. The server (server.ts) adds the
 * latency and writes the reply.
 *
 *   /page/N              generated page N (404 past the last page)
 *   /known               a hand-written page with known extraction (known-page.ts)
 *   /status/CODE         that status, small HTML body
 *   /redirect/K/PATH     K redirects (301, 302, 303, 307, 308 in turn), then PATH
 *   /redirect-loop       redirects to itself forever
 *   /redirect-invalid    redirects to an invalid URL
 *   /slow/MS/PATH        PATH, MS ms later than its own latency
 *   /hang                never answers (handled by the server)
 *   /reset               closes the connection without answering
 *   /big, /big/chunked   64 MiB of HTML, with or without a Content-Length
 *   /image.png           a PNG; /data.json: JSON
 *   /urls.jsonl?count=N&bad=K   N URLs to crawl, one JSON string a line (every K-th a bad one)
 *   /site.json           { pages, origins, latencyMs }
 *   /                    an index of the first 100 pages
 */
import { knownPage } from './known-page.ts';
import { buildPage, pageUrl, type SiteShape } from './pages.ts';
import { siteUrls } from './urls.ts';

export type Reply =
  | {
      readonly kind: 'body';
      readonly status: number;
      readonly type: string;
      readonly body: string | Buffer;
    }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  | { readonly kind: 'big'; readonly declareLength: boolean }
  | { readonly kind: 'reset' }
  | { readonly kind: 'later'; readonly ms: number; readonly path: string };

export interface RouteContext {
  readonly site: SiteShape;
  readonly latencyMs: readonly [number, number];
  /** The origin the request came in on. */
  readonly origin: string;
  readonly query: URLSearchParams;
}

const HTML = 'text/html; charset=utf-8';
// A 1x1 transparent PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

const html = (status: number, body: string): Reply => ({ kind: 'body', status, type: HTML, body });

export function route(path: string, context: RouteContext): Reply {
  const { site, origin } = context;
  let match = /^\/page\/(\d+)$/.exec(path);
  if (match) {
    const n = Number(match[1]);
    if (n >= site.pages) return html(404, notFound(path));
    const page = buildPage(site, n);
    return { kind: 'body', status: 200, type: page.contentType, body: page.body };
  }
  match = /^\/slow\/(\d+)(\/.*)$/.exec(path);
  if (match) return { kind: 'later', ms: Number(match[1]), path: match[2]! };
  match = /^\/redirect\/(\d+)(\/.*)$/.exec(path);
  if (match) {
    const left = Number(match[1]);
    const location = left <= 1 ? match[2]! : `/redirect/${left - 1}${match[2]}`;
    return { kind: 'redirect', status: [301, 302, 303, 307, 308][left % 5]!, location };
  }
  match = /^\/status\/(\d{3})$/.exec(path);
  if (match && Number(match[1]) >= 200) {
    return html(Number(match[1]), `<!doctype html><title>${match[1]}</title>`);
  }
  switch (path) {
    case '/':
      return html(200, indexPage(site));
    case '/known': {
      const next = site.origins[(site.origins.indexOf(origin) + 1) % site.origins.length]!;
      return html(200, knownPage(origin, next));
    }
    case '/site.json': {
      const body = JSON.stringify({ ...site, latencyMs: context.latencyMs });
      return { kind: 'body', status: 200, type: 'application/json', body };
    }
    case '/urls.jsonl':
      return urlList(site, context.query);
    case '/redirect-loop':
      return { kind: 'redirect', status: 302, location: '/redirect-loop' };
    case '/redirect-invalid':
      return { kind: 'redirect', status: 302, location: 'http://exa mple.test/' };
    case '/image.png':
      return { kind: 'body', status: 200, type: 'image/png', body: PNG };
    case '/data.json':
      return { kind: 'body', status: 200, type: 'application/json', body: '{"not":"html"}' };
    case '/big':
      return { kind: 'big', declareLength: true };
    case '/big/chunked':
      return { kind: 'big', declareLength: false };
    case '/reset':
      return { kind: 'reset' };
  }
  return html(404, notFound(path));
}

function urlList(site: SiteShape, query: URLSearchParams): Reply {
  const count = Number(query.get('count') ?? site.pages);
  const badEvery = Number(query.get('bad') ?? 0);
  if (!(Number.isInteger(count) && count >= 0 && Number.isInteger(badEvery) && badEvery >= 0)) {
    return {
      kind: 'body',
      status: 400,
      type: 'text/plain',
      body: 'count and bad: integers >= 0\n',
    };
  }
  const lines = siteUrls(site, count, badEvery).map((url) => `${JSON.stringify(url)}\n`);
  return { kind: 'body', status: 200, type: 'application/x-ndjson', body: lines.join('') };
}

function notFound(path: string): string {
  return `<!doctype html><title>Not found</title><p>No page at ${path.replace(/[<&]/g, '')}</p>`;
}

function indexPage(site: SiteShape): string {
  const links: string[] = [];
  for (let n = 0; n < Math.min(site.pages, 100); n++) {
    links.push(`<li><a href="${pageUrl(site, n)}">Page ${n}</a>`);
  }
  return `<!doctype html><title>polyloop crawler test site</title>
<h1>polyloop crawler test site</h1><p>${site.pages} pages on ${site.origins.length} origins.</p>
<ul>${links.join('\n')}</ul>`;
}

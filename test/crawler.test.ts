// The crawler example against its test site, run as a real child process on 127.0.0.1: known
// extraction, generated pages against the generator's truth, every bad-response kind, and a run
// over 2,000 URLs, through the library and through the CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
// The built library, as the other tests use it: worker threads cannot start from src/ on Node 20.
import { Pool, type StreamResult } from '../dist/index.js';
import { knownPage } from '../examples/crawler/site/known-page.ts';
import { buildPage, type PageTruth } from '../examples/crawler/site/pages.ts';
import { type SiteProcess, spawnSite } from '../examples/crawler/site/spawn.ts';
import { BAD_PATHS } from '../examples/crawler/site/urls.ts';
import type { CrawlInput, CrawlRecord } from '../examples/crawler/task.ts';

const TASK = fileURLToPath(new URL('../examples/crawler/task.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

type CrawlerModule = typeof import('../examples/crawler/task.ts');

/** What each of the site's bad paths must give: a record with this status, or this error code. */
const BAD_OUTCOMES: Record<string, { status: number; contentType?: string } | { code: string }> = {
  '/status/404': { status: 404 },
  '/status/410': { status: 410 },
  '/status/500': { status: 500 },
  '/status/503': { status: 503 },
  '/redirect/9/page/7': { code: 'ERR_CRAWL_TOO_MANY_REDIRECTS' },
  '/redirect-loop': { code: 'ERR_CRAWL_TOO_MANY_REDIRECTS' },
  '/image.png': { status: 200, contentType: 'image/png' },
  '/data.json': { status: 200, contentType: 'application/json' },
  '/big': { code: 'ERR_CRAWL_TOO_LARGE' },
  '/big/chunked': { code: 'ERR_CRAWL_TOO_LARGE' },
  '/reset': { code: 'UND_ERR_SOCKET' },
};

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function codeOf(error: Error): unknown {
  // polyloop wraps a task's error in TaskError; the task's own error (with its code) is the cause.
  return (error.cause as { code?: unknown } | undefined)?.code;
}

function assertMatchesTruth(record: CrawlRecord, truth: PageTruth, label: string): void {
  assert.equal(record.status, 200, label);
  assert.equal(record.finalUrl, truth.url, label);
  assert.equal(record.title, truth.title, `${label}: title`);
  assert.equal(record.description, truth.description, `${label}: description`);
  assert.deepEqual(record.links, truth.links, `${label}: links`);
  assert.equal(record.words, truth.words, `${label}: words`);
}

/** Checks one record of a mixed URL list: a page against its truth, a bad path against BAD_OUTCOMES. */
function assertOutcome(
  site: SiteProcess,
  url: string,
  outcome: { ok: true; value: CrawlRecord } | { ok: false; code: unknown },
): void {
  const path = new URL(url).pathname;
  const page = /^\/page\/(\d+)$/.exec(path);
  if (page) {
    assert.ok(outcome.ok, `${url} failed: ${String(!outcome.ok && outcome.code)}`);
    const { truth } = buildPage(site, Number(page[1]));
    assert.equal(outcome.value.title, truth.title, url);
    assert.equal(outcome.value.links.length, truth.links.length, url);
    assert.equal(outcome.value.words, truth.words, url);
    return;
  }
  const expected = BAD_OUTCOMES[path];
  assert.ok(expected, `unexpected URL ${url}`);
  if ('code' in expected) {
    assert.ok(!outcome.ok, `${url} should fail with ${expected.code}`);
    assert.equal(outcome.code, expected.code, url);
  } else {
    assert.ok(outcome.ok, `${url} failed: ${String(!outcome.ok && outcome.code)}`);
    assert.equal(outcome.value.status, expected.status, url);
    if (expected.contentType) assert.equal(outcome.value.contentType, expected.contentType, url);
    assert.equal(outcome.value.title, null, `${url} is not parsed`);
    assert.deepEqual(outcome.value.links, [], url);
  }
}

async function urlList(site: SiteProcess, count: number, badEvery: number): Promise<string[]> {
  const response = await request(`${site.url}/urls.jsonl?count=${count}&bad=${badEvery}`);
  const text = await response.body.text();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string);
}

describe('crawler example', () => {
  let site: SiteProcess;
  let pool: Pool<CrawlerModule>;

  before(async () => {
    site = await spawnSite({ pages: 3000, latencyMs: [0, 20], origins: 4 });
    pool = new Pool<CrawlerModule>(TASK, { workers: 2, concurrency: 500 });
  });

  after(async () => {
    await pool?.destroy();
    await site?.stop();
  });

  it('extracts the hand-written page exactly', async () => {
    const [origin, other] = site.origins as [string, string];
    const record = await pool.run(`${origin}/known`);
    assert.deepEqual(record, {
      url: `${origin}/known`,
      finalUrl: `${origin}/known`,
      status: 200,
      contentType: 'text/html; charset=utf-8',
      bytes: Buffer.byteLength(knownPage(origin, other)),
      title: 'Café & Crème — <Known> page',
      description: 'Entities: "quoted", 5 < 6 && café',
      // Resolved against <base href="/docs/">; fragments dropped; the duplicate, mailto:,
      // javascript:, the invalid URL and the links in script, comment, style and noscript left out.
      links: [
        `${origin}/docs/guide.html`,
        `${origin}/page/1?a=1&b=2`,
        `${other}/page/2`,
        `${other}/page/3`,
        `${origin}/docs/sub/page.html?q=caf%C3%A9`,
        `${origin}/docs/?q=a%20b`,
      ],
      // h1 2, first p 5 (a no-break space separates), 12 link texts, last p 4.
      words: 23,
    });
  });

  it("matches the generator's truth on generated pages, including <base> pages and missing titles", async () => {
    const candidates = Array.from({ length: 400 }, (_, n) => buildPage(site, n));
    const pick = (test: (page: (typeof candidates)[number]) => boolean) =>
      candidates.slice(30).filter(test).slice(0, 4);
    const kinds = {
      '<base href>': pick((page) => page.body.includes('<base ')),
      'no title': pick((page) => page.truth.title === null),
      'no description': pick((page) => page.truth.description === null),
      'over 120 KB': pick((page) => page.body.length > 120_000),
    };
    for (const [kind, found] of Object.entries(kinds)) {
      assert.equal(found.length, 4, `pages with ${kind} among the first 400`);
    }
    const chosen = new Set([...candidates.slice(0, 30), ...Object.values(kinds).flat()]);

    const pages = [...chosen];
    const records = await pool.map(pages.map((page) => page.truth.url));
    records.forEach((record, i) => {
      const page = pages[i]!;
      assertMatchesTruth(record, page.truth, page.truth.url);
      assert.equal(record.bytes, page.body.length);
      assert.equal(record.contentType, page.contentType);
    });
  });

  it('gives every kind of bad response its record or error code', async () => {
    const origin = site.url;
    const refused = `http://127.0.0.1:${await closedPort()}/page/1`;
    const cases: Array<[CrawlInput, (result: StreamResult<CrawlInput, CrawlRecord>) => void]> = [];
    const fails = (code: string) => (result: StreamResult<CrawlInput, CrawlRecord>) => {
      assert.ok(!result.ok, `${JSON.stringify(result.input)} should fail with ${code}`);
      assert.equal(codeOf(result.error), code, JSON.stringify(result.input));
    };
    for (const path of BAD_PATHS) {
      cases.push([
        origin + path,
        (result) =>
          assertOutcome(
            site,
            origin + path,
            result.ok ? result : { ok: false, code: codeOf(result.error) },
          ),
      ]);
    }
    cases.push(
      [refused, fails('ECONNREFUSED')],
      [{ url: `${origin}/hang`, timeoutMs: 300 }, fails('ERR_CRAWL_TIMEOUT')],
      [`${origin}/redirect-invalid`, fails('ERR_CRAWL_INVALID_URL')],
      ['not a url', fails('ERR_CRAWL_INVALID_URL')],
      ['ftp://127.0.0.1/file.txt', fails('ERR_CRAWL_INVALID_URL')],
      [{ url: `${origin}/page/1`, timeoutMs: -5 }, fails('ERR_CRAWL_INVALID_INPUT')],
      [{ url: `${origin}/page/1`, maxBytes: 1000 }, fails('ERR_CRAWL_TOO_LARGE')],
      [
        `${origin}/redirect/3/page/5`,
        (result) => {
          assert.ok(result.ok);
          assert.equal(result.value.finalUrl, `${origin}/page/5`);
          assert.equal(result.value.title, buildPage(site, 5).truth.title);
        },
      ],
      [
        // Slow, but within its limit: a page.
        { url: `${origin}/slow/300/page/6`, timeoutMs: 20_000 },
        (result) => {
          assert.ok(result.ok);
          assert.equal(result.value.title, buildPage(site, 6).truth.title);
        },
      ],
    );

    const seen = new Set<number>();
    for await (const result of pool.stream(cases.map(([input]) => input))) {
      seen.add(result.index);
      cases[result.index]![1](result);
    }
    assert.equal(seen.size, cases.length);
  });

  it('aborts the fetch when the pool times the task out', async () => {
    await assert.rejects(pool.run(`${site.url}/hang`, { timeout: 200 }), {
      code: 'ERR_POLYLOOP_TIMEOUT',
    });
    // The worker is not stuck on the hung request: the next task runs.
    const record = await pool.run(`${site.url}/status/404`);
    assert.equal(record.status, 404);
  });

  it('gives exactly one record per URL over 2,000 URLs (library)', async () => {
    const urls = await urlList(site, 2000, 50);
    assert.equal(urls.length, 2000);
    const seen = new Set<number>();
    for await (const result of pool.stream(urls)) {
      assert.ok(!seen.has(result.index), `index ${result.index} twice`);
      seen.add(result.index);
      assertOutcome(
        site,
        urls[result.index]!,
        result.ok ? result : { ok: false, code: codeOf(result.error) },
      );
    }
    assert.equal(seen.size, 2000);
  });

  it('gives exactly one record per URL over 2,000 URLs (polyloop run)', async () => {
    assert.ok(existsSync(CLI), 'dist/cli/main.js is missing: run `npm run build` first');
    const urls = await urlList(site, 2000, 50);
    const dir = mkdtempSync(join(tmpdir(), 'polyloop-crawler-'));
    try {
      const input = join(dir, 'urls.jsonl');
      const output = join(dir, 'pages.jsonl');
      writeFileSync(input, urls.map((url) => `${JSON.stringify(url)}\n`).join(''));
      const child = spawn(
        process.execPath,
        [CLI, 'run', TASK, '--input', input, '--output', output, '--workers', '2', '--quiet'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      // 1: some inputs have an error record (the bad URLs), and nothing worse.
      assert.equal(code, 1, stderr);

      const lines = readFileSync(output, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, 2000);
      const seen = new Set<number>();
      for (const line of lines) {
        const record = JSON.parse(line) as {
          index: number;
          value?: CrawlRecord;
          error?: { code: string; message: string };
        };
        assert.ok(!seen.has(record.index), `index ${record.index} twice`);
        seen.add(record.index);
        assertOutcome(
          site,
          urls[record.index]!,
          record.error
            ? { ok: false, code: record.error.code }
            : { ok: true, value: record.value! },
        );
      }
      assert.equal(seen.size, 2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

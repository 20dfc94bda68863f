/**
 * The crawler's polyloop task: fetch one URL, parse it if it is HTML, return what the page holds.
 *
 *   polyloop run examples/crawler/task.ts --input urls.jsonl --output pages.jsonl
 *
 * Input: a URL string, or `{ url, timeoutMs?, maxRedirects?, maxBytes? }` to override the limits
 * for that URL. A 4xx/5xx or non-HTML response is a record (with its status and content type, not
 * parsed); failures throw an error with a string `code` (see errors.ts). Worker-wide settings come
 * from the environment (config.ts), read in `setup`, which gives each worker its own undici Agent:
 * one keep-alive connection pool per event loop.
 */
import { TextDecoder } from 'node:util';
import { Agent } from 'undici';
import { type CrawlerConfig, configFromEnv, type RequestLimits, requestLimits } from './config.ts';
import { CrawlAbortedError, CrawlTimeoutError, InvalidInputError, withCode } from './errors.ts';
import { HtmlExtractor } from './extract.ts';
import { header, parseHttpUrl, readCapped, requestFollowingRedirects } from './fetch-page.ts';
import type { PageInfo } from './page-info.ts';

export type CrawlInput = string | ({ readonly url: string } & Partial<RequestLimits>);

export interface CrawlRecord extends PageInfo {
  /** The URL as given. */
  readonly url: string;
  /** Where the redirects, if any, ended. */
  readonly finalUrl: string;
  readonly status: number;
  /** The Content-Type header as sent, or null. */
  readonly contentType: string | null;
  /** Body bytes received. */
  readonly bytes: number;
}

let config: CrawlerConfig | undefined;
let agent: Agent | undefined;

/** Once per worker: the settings and the worker's connection pool. */
export async function setup(): Promise<void> {
  config = configFromEnv();
  agent = new Agent({
    connections: config.connectionsPerHost,
    keepAliveTimeout: config.keepAliveMs,
    // undici's own timers back up the overall deadline below.
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
    connect: { timeout: Math.min(config.timeoutMs, 10_000) },
  });
}

/** Closes the connections (for a caller that imported the module itself; a worker just exits). */
export async function teardown(): Promise<void> {
  await agent?.close();
  agent = undefined;
}

const NOT_PARSED: PageInfo = { title: null, description: null, links: [], words: 0 };

export default async function crawl(
  input: CrawlInput,
  ctx: { readonly signal: AbortSignal },
): Promise<CrawlRecord> {
  if (agent === undefined || config === undefined) await setup();
  const { url: given, limits } = readInput(input, config!);
  const url = parseHttpUrl(given);

  // One deadline for the whole fetch, and the task's own signal (the pool's timeout, an abort).
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new CrawlTimeoutError(given, limits.timeoutMs)),
    limits.timeoutMs,
  );
  const onTaskAbort = () => controller.abort(new CrawlAbortedError(given, ctx.signal.reason));
  if (ctx.signal.aborted) onTaskAbort();
  else ctx.signal.addEventListener('abort', onTaskAbort, { once: true });
  try {
    const response = await requestFollowingRedirects(
      agent!,
      url,
      limits.maxRedirects,
      controller.signal,
    );
    const contentType = header(response.headers, 'content-type') ?? null;
    const parse = response.status >= 200 && response.status < 300 && isHtml(contentType);
    const extractor = parse ? new HtmlExtractor(response.finalUrl.href) : undefined;
    const decoder = parse ? decoderFor(contentType) : undefined;
    const bytes = await readCapped(
      response,
      limits.maxBytes,
      extractor && ((chunk) => extractor.write(decoder!.decode(chunk, { stream: true }))),
    );
    const info = extractor ? extractor.end(decoder!.decode()) : NOT_PARSED;
    return {
      url: given,
      finalUrl: response.finalUrl.href,
      status: response.status,
      contentType,
      bytes,
      ...info,
    };
  } catch (error) {
    // After an abort, undici reports it its own way; the reason we gave says what happened.
    throw withCode(controller.signal.aborted ? controller.signal.reason : error, given);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onTaskAbort);
  }
}

function readInput(
  input: CrawlInput,
  defaults: RequestLimits,
): { url: string; limits: RequestLimits } {
  if (typeof input === 'string') return { url: input, limits: defaults };
  if (typeof input !== 'object' || input === null || typeof input.url !== 'string') {
    throw new InvalidInputError(input, 'expected a URL string or { url }');
  }
  try {
    return { url: input.url, limits: requestLimits(defaults, input) };
  } catch (error) {
    throw new InvalidInputError(input, (error as Error).message);
  }
}

function mediaType(contentType: string | null): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

function isHtml(contentType: string | null): boolean {
  const type = mediaType(contentType);
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** A decoder for the charset parameter if there is one Node knows, else UTF-8 (the web's default). */
function decoderFor(contentType: string | null): TextDecoder {
  const label = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  if (label !== undefined) {
    try {
      return new TextDecoder(label);
    } catch {
      // An unknown label: fall through.
    }
  }
  return new TextDecoder('utf-8');
}

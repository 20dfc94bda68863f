/**
 * One GET with undici, following redirects itself (so it can count them and report where it
 * ended), and reading the body in chunks up to a size cap.
 */
import type { Agent, Dispatcher } from 'undici';
import { InvalidUrlError, TooLargeError, TooManyRedirectsError } from './errors.ts';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const HEADERS = {
  'user-agent': 'polyloop-crawler-example/0.1',
  accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1',
};

/** An absolute http(s) URL, or InvalidUrlError. */
export function parseHttpUrl(text: string, base?: string): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new InvalidUrlError(text, 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidUrlError(text, `unsupported protocol ${url.protocol}`);
  }
  return url;
}

export interface Response {
  readonly finalUrl: URL;
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly body: Dispatcher.ResponseData['body'];
}

/** GETs `url`, following up to `maxRedirects` redirects; the last response's body is unread. */
export async function requestFollowingRedirects(
  agent: Agent,
  url: URL,
  maxRedirects: number,
  signal: AbortSignal,
): Promise<Response> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const response = await agent.request({
      origin: current.origin,
      path: current.pathname + current.search,
      method: 'GET',
      headers: HEADERS,
      signal,
    });
    const location = header(response.headers, 'location');
    if (!REDIRECTS.has(response.statusCode) || location === undefined) {
      return {
        finalUrl: current,
        status: response.statusCode,
        headers: response.headers,
        body: response.body,
      };
    }
    // Read a redirect's small body so its connection can be reused.
    await response.body.dump();
    if (redirects === maxRedirects) throw new TooManyRedirectsError(url.href, maxRedirects);
    current = parseHttpUrl(location, current.href);
  }
}

/** Reads the body chunk by chunk; stops and throws TooLargeError past `maxBytes`. Returns the byte count. */
export async function readCapped(
  response: Response,
  maxBytes: number,
  onChunk: ((chunk: Buffer) => void) | undefined,
): Promise<number> {
  const declared = Number(header(response.headers, 'content-length'));
  if (declared > maxBytes) {
    response.body.destroy();
    throw new TooLargeError(response.finalUrl.href, maxBytes);
  }
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      response.body.destroy();
      throw new TooLargeError(response.finalUrl.href, maxBytes);
    }
    onChunk?.(chunk);
  }
  return bytes;
}

export function header(
  headers: Dispatcher.ResponseData['headers'],
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The crawler's test site: generated pages and every kind of bad response (routes.ts), on
 * 127.0.0.1 only, each response held back by a simulated network latency.
 *
 * It listens on several ports at once: each is a distinct origin (a "host" to the crawler, which
 * caps connections per host), so a crawl of many pages is not throttled by the cap the way a
 * crawl of a single real host would be.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SiteShape } from './pages.ts';
import { hash32, hashString } from './prng.ts';
import { type Reply, route } from './routes.ts';

export interface SiteOptions {
  /** Generated pages: /page/0 ... /page/(pages-1). */
  readonly pages?: number;
  /** Each response waits between min and max ms (fixed per URL) before it is sent. */
  readonly latencyMs?: readonly [number, number];
  /** The first port; the others follow it. 0 picks free ports. */
  readonly port?: number;
  /** How many ports (origins) to listen on. */
  readonly origins?: number;
}

export interface Site extends SiteShape {
  /** The first origin, e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly latencyMs: readonly [number, number];
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const BIG_BYTES = 64 * 1024 * 1024;
const BIG_CHUNK = Buffer.alloc(64 * 1024, '<p>filler text, over and over</p>\n');

export async function startSite(options: SiteOptions = {}): Promise<Site> {
  const pages = options.pages ?? 1000;
  const latencyMs = options.latencyMs ?? [0, 0];
  const count = options.origins ?? 8;
  const firstPort = options.port ?? 0;
  const [minLatency, maxLatency] = latencyMs;
  if (!(Number.isInteger(pages) && pages >= 1)) throw new TypeError('pages: an integer >= 1');
  if (!(minLatency >= 0 && maxLatency >= minLatency)) throw new TypeError('latencyMs: [min, max]');
  if (!(Number.isInteger(count) && count >= 1)) throw new TypeError('origins: an integer >= 1');

  const origins: string[] = [];
  const site: SiteShape = { pages, origins };
  const pending = new Set<NodeJS.Timeout>();

  const later = (ms: number, action: () => void) => {
    if (ms <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      pending.delete(timer);
      action();
    }, ms);
    pending.add(timer);
  };

  const answer = (path: string, origin: string, url: URL, response: ServerResponse): void => {
    const reply = route(path, { site, latencyMs, origin, query: url.searchParams });
    if (reply.kind === 'later') later(reply.ms, () => answer(reply.path, origin, url, response));
    else write(reply, response);
  };

  const handle = (request: IncomingMessage, response: ServerResponse, origin: string): void => {
    const url = new URL(request.url ?? '/', origin);
    const path = url.pathname;
    if (path === '/hang') return; // Never answers: the client gives up first.
    // The latency is fixed per URL, so a page takes as long in every run.
    const page = /^\/page\/(\d+)$/.exec(path);
    const seed = page ? hash32(Number(page[1])) : hashString(path);
    later(minLatency + (seed % (maxLatency - minLatency + 1)), () =>
      answer(path, origin, url, response),
    );
  };

  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer({ keepAliveTimeout: 30_000 });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(firstPort === 0 ? 0 : firstPort + i, HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const origin = `http://${HOST}:${(server.address() as AddressInfo).port}`;
      origins.push(origin);
      server.on('request', (request, response) => handle(request, response, origin));
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }

  return {
    url: origins[0]!,
    pages,
    origins,
    latencyMs,
    close: async () => {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

function write(reply: Exclude<Reply, { kind: 'later' }>, response: ServerResponse): void {
  switch (reply.kind) {
    case 'body': {
      const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
      response.writeHead(reply.status, {
        'content-type': reply.type,
        'content-length': body.length,
      });
      response.end(body);
      break;
    }
    case 'redirect':
      response.writeHead(reply.status, { location: reply.location, 'content-length': 0 });
      response.end();
      break;
    case 'big':
      streamBig(response, reply.declareLength);
      break;
    case 'reset':
      response.socket?.destroy();
      break;
  }
}

/** An HTML body far past any sane cap, sent as fast as the client reads, until it hangs up. */
function streamBig(response: ServerResponse, declareLength: boolean): void {
  response.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    ...(declareLength && { 'content-length': BIG_BYTES }),
  });
  let sent = 0;
  const pump = () => {
    while (sent < BIG_BYTES && !response.destroyed) {
      sent += BIG_CHUNK.length;
      if (!response.write(BIG_CHUNK)) {
        response.once('drain', pump);
        return;
      }
    }
    if (!response.destroyed) response.end();
  };
  pump();
}

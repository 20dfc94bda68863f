/**
 * An HTTP server with finite capacity, on 127.0.0.1 only: at most `capacity` requests are in
 * service at once, each for `serviceMs`; the rest wait in a FIFO queue, so latency grows with the
 * load; a request that finds `backlog` already waiting has its connection reset (an RST, so the
 * client sees ECONNRESET). The capacity can follow a schedule (seconds since the first item request
 * → capacity), for a server that halves and recovers mid-run.
 *
 *   GET /item/<i>  the item's body (item.js), through the queue
 *   GET /stats     the counters and the timeline as JSON, answered at once (not queued)
 *
 * `server.ts` runs it as a program; `spawn-server.ts` runs that program in a child process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { itemBody } from './item.js';

export interface ScheduleStep {
  /** Seconds since the first /item request. */
  readonly atSeconds: number;
  readonly capacity: number;
}

export interface CapacityServerOptions {
  /** Requests in service at once (until a schedule step changes it). */
  readonly capacity: number;
  /** How long each request is in service, in ms. */
  readonly serviceMs: number;
  /** Requests that may wait for service; one more and its connection is reset. */
  readonly backlog: number;
  /** Capacity changes over time; a step at 0 s replaces `capacity`. */
  readonly schedule?: readonly ScheduleStep[];
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Timeline sample period in ms (default 100). */
  readonly sampleMs?: number;
}

/** One timeline sample: the server's state `t` seconds after the first /item request. */
export interface CapacitySample {
  readonly t: number;
  readonly capacity: number;
  readonly inService: number;
  readonly queued: number;
  readonly connections: number;
  readonly served: number;
  readonly reset: number;
}

export interface CapacityStats {
  readonly capacity: number;
  readonly serviceMs: number;
  readonly backlog: number;
  /** Responses sent in full. */
  readonly served: number;
  /** Requests whose connection was reset because the backlog was full. */
  readonly reset: number;
  /** Requests whose client hung up before their answer (timed out, aborted): not served. */
  readonly abandoned: number;
  readonly inService: number;
  readonly queued: number;
  readonly peakInService: number;
  readonly peakQueue: number;
  readonly connections: number;
  readonly peakConnections: number;
  /** Sum of each served request's time from arrival to answer, and the slowest, in ms. */
  readonly latencySumMs: number;
  readonly latencyMaxMs: number;
  readonly timeline: readonly CapacitySample[];
}

export interface CapacityServer {
  readonly port: number;
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  stats(): CapacityStats;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
/** A bound on the timeline: 16 minutes of samples at 100 ms. */
const MAX_SAMPLES = 9600;

interface Waiting {
  readonly index: number;
  readonly response: ServerResponse;
  readonly arrived: number;
}

/** Parses "0:64,10:32,20:64" (seconds:capacity, ascending seconds). */
export function parseSchedule(text: string): ScheduleStep[] {
  const steps = text
    .split(',')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const [at, capacity] = part.split(':').map((field) => Number(field.trim()));
      if (at === undefined || capacity === undefined || !(at >= 0) || !isCount(capacity, 1)) {
        throw new TypeError(`schedule step ${JSON.stringify(part)}: want seconds:capacity`);
      }
      return { atSeconds: at, capacity };
    });
  for (let k = 1; k < steps.length; k++) {
    if (steps[k]!.atSeconds <= steps[k - 1]!.atSeconds) {
      throw new TypeError(`schedule ${JSON.stringify(text)}: seconds must ascend`);
    }
  }
  return steps;
}

function isCount(value: number, min: number): boolean {
  return Number.isInteger(value) && value >= min;
}

export async function startCapacityServer(options: CapacityServerOptions): Promise<CapacityServer> {
  const { serviceMs, backlog } = options;
  const schedule = options.schedule ?? [];
  const sampleMs = options.sampleMs ?? 100;
  if (!isCount(options.capacity, 1)) throw new TypeError('capacity: an integer >= 1');
  if (!(serviceMs >= 0)) throw new TypeError('serviceMs: a number >= 0');
  if (!isCount(backlog, 0)) throw new TypeError('backlog: an integer >= 0');
  if (!(sampleMs > 0)) throw new TypeError('sampleMs: a number > 0');

  let capacity = options.capacity;
  let served = 0;
  let reset = 0;
  let abandoned = 0;
  let inService = 0;
  let peakInService = 0;
  let peakQueue = 0;
  let connections = 0;
  let peakConnections = 0;
  let latencySumMs = 0;
  let latencyMaxMs = 0;
  let firstRequestAt: number | undefined;
  const timeline: CapacitySample[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let sampler: NodeJS.Timeout | undefined;
  // A FIFO as an array and a head index: shift() on a long array is linear.
  let queue: (Waiting | undefined)[] = [];
  let head = 0;
  const queued = () => queue.length - head;

  const sample = (): void => {
    if (firstRequestAt === undefined || timeline.length >= MAX_SAMPLES) return;
    timeline.push({
      t: Math.round(performance.now() - firstRequestAt) / 1000,
      capacity,
      inService,
      queued: queued(),
      connections,
      served,
      reset,
    });
  };

  // Starts the schedule's clock and the timeline at the first item request, not at listen: the
  // client starts later than the server, by a delay that is not the server's to know.
  const begin = (): void => {
    firstRequestAt = performance.now();
    for (const step of schedule) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        capacity = step.capacity;
        admit();
        sample();
      }, step.atSeconds * 1000);
      timers.add(timer);
    }
    sample();
    sampler = setInterval(sample, sampleMs);
  };

  const serve = (waiting: Waiting): void => {
    inService++;
    if (inService > peakInService) peakInService = inService;
    const timer = setTimeout(() => {
      timers.delete(timer);
      inService--;
      const { response, index, arrived } = waiting;
      if (response.destroyed) {
        abandoned++;
      } else {
        const body = itemBody(index);
        response.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
        served++;
        const latency = performance.now() - arrived;
        latencySumMs += latency;
        if (latency > latencyMaxMs) latencyMaxMs = latency;
      }
      admit();
    }, serviceMs);
    timers.add(timer);
  };

  // Fills free service slots from the head of the queue; a request whose client already hung up
  // takes no slot (a server notices the closed connection when it picks the request up).
  const admit = (): void => {
    while (inService < capacity && head < queue.length) {
      const next = queue[head]!;
      queue[head++] = undefined; // lets the answered response be collected
      if (next.response.destroyed) abandoned++;
      else serve(next);
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = request.url ?? '/';
    if (path === '/stats') {
      const body = JSON.stringify(stats());
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
      return;
    }
    const item = /^\/item\/(\d+)$/.exec(path);
    if (!item) {
      response.writeHead(404, { 'content-length': 0 });
      response.end();
      return;
    }
    if (firstRequestAt === undefined) begin();
    const waiting = { index: Number(item[1]), response, arrived: performance.now() };
    if (inService < capacity && queued() === 0) {
      serve(waiting);
    } else if (queued() < backlog) {
      queue.push(waiting);
      if (queued() > peakQueue) peakQueue = queued();
    } else {
      reset++;
      // An RST rather than a FIN: the client sees ECONNRESET, as from an overloaded server.
      request.socket.resetAndDestroy();
    }
  };

  const stats = (): CapacityStats => ({
    capacity,
    serviceMs,
    backlog,
    served,
    reset,
    abandoned,
    inService,
    queued: queued(),
    peakInService,
    peakQueue,
    connections,
    peakConnections,
    latencySumMs: Math.round(latencySumMs),
    latencyMaxMs: Math.round(latencyMaxMs),
    timeline,
  });

  const server = createServer({ keepAliveTimeout: 30_000 }, handle);
  server.on('connection', (socket: Socket) => {
    connections++;
    if (connections > peakConnections) peakConnections = connections;
    socket.once('close', () => connections--);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `http://${HOST}:${port}`,
    stats,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (sampler) clearInterval(sampler);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The crawler's limits. Worker-wide ones (connections) come from the environment, read when a
 * worker starts; per-request ones can also be set per input (`{ url, timeoutMs }`).
 */

export interface RequestLimits {
  /** The whole fetch, redirects and body included. */
  readonly timeoutMs: number;
  /** Redirects followed before giving up with ERR_CRAWL_TOO_MANY_REDIRECTS. */
  readonly maxRedirects: number;
  /** Body bytes read before giving up with ERR_CRAWL_TOO_LARGE. */
  readonly maxBytes: number;
}

export interface CrawlerConfig extends RequestLimits {
  /** Open connections per origin, per worker. */
  readonly connectionsPerHost: number;
  /** How long an idle keep-alive connection is kept. */
  readonly keepAliveMs: number;
}

export const DEFAULTS: CrawlerConfig = {
  // 64 per host is generous for one real site, but the test site's latency is simulated by
  // holding each response open, so connections bound throughput: 8 origins x 64 is room for
  // ~850 pages/s at 0.6 s mean latency per worker, above what one core parses.
  connectionsPerHost: 64,
  keepAliveMs: 10_000,
  timeoutMs: 30_000,
  maxRedirects: 5,
  maxBytes: 5 * 1024 * 1024,
};

const ENV_NAMES: Record<keyof CrawlerConfig, string> = {
  connectionsPerHost: 'CRAWLER_CONNECTIONS_PER_HOST',
  keepAliveMs: 'CRAWLER_KEEP_ALIVE_MS',
  timeoutMs: 'CRAWLER_TIMEOUT_MS',
  maxRedirects: 'CRAWLER_MAX_REDIRECTS',
  maxBytes: 'CRAWLER_MAX_BYTES',
};

function checkLimit(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`Expected ${name} to be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): CrawlerConfig {
  const config: Record<string, number> = { ...DEFAULTS };
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const raw = env[envName];
    if (raw === undefined || raw === '') continue;
    config[key] = checkLimit(envName, Number(raw), key === 'maxRedirects' ? 0 : 1);
  }
  return config as unknown as CrawlerConfig;
}

/** The limits for one input: its own overrides, else the worker's. */
export function requestLimits(
  defaults: RequestLimits,
  overrides: Partial<RequestLimits>,
): RequestLimits {
  return {
    timeoutMs:
      overrides.timeoutMs === undefined
        ? defaults.timeoutMs
        : checkLimit('timeoutMs', overrides.timeoutMs, 1),
    maxRedirects:
      overrides.maxRedirects === undefined
        ? defaults.maxRedirects
        : checkLimit('maxRedirects', overrides.maxRedirects, 0),
    maxBytes:
      overrides.maxBytes === undefined
        ? defaults.maxBytes
        : checkLimit('maxBytes', overrides.maxBytes, 1),
  };
}

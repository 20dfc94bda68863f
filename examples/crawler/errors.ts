/**
 * The crawler's own errors. Each has a stable string `code`, so a record of a failed URL says why
 * in one field (polyloop keeps a task error's own properties, and the CLI writes its `code`).
 * Errors from the network keep undici's or Node's code (`ECONNREFUSED`, `UND_ERR_SOCKET`...).
 */

export class CrawlError extends Error {
  readonly code: string;
  readonly url: string;

  constructor(code: string, url: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.url = url;
  }
}

/** The input is neither a URL string nor `{ url, ...limits }` with valid limits. */
export class InvalidInputError extends CrawlError {
  constructor(input: unknown, reason: string) {
    const shown = typeof input === 'string' ? input : (JSON.stringify(input) ?? String(input));
    super('ERR_CRAWL_INVALID_INPUT', String(shown), `Invalid input ${shown}: ${reason}`);
  }
}

/** The input is not a URL, or not an http(s) one; or a redirect points to such a thing. */
export class InvalidUrlError extends CrawlError {
  constructor(url: string, reason: string) {
    super('ERR_CRAWL_INVALID_URL', url, `Invalid URL ${JSON.stringify(url)}: ${reason}`);
  }
}

export class TooManyRedirectsError extends CrawlError {
  constructor(url: string, limit: number) {
    super('ERR_CRAWL_TOO_MANY_REDIRECTS', url, `More than ${limit} redirects from ${url}`);
  }
}

/** The body is (or announces itself as) longer than the size cap; reading stopped at the cap. */
export class TooLargeError extends CrawlError {
  constructor(url: string, limit: number) {
    super('ERR_CRAWL_TOO_LARGE', url, `The response of ${url} is larger than ${limit} bytes`);
  }
}

/** The whole fetch (connect, redirects, headers, body) took longer than the request timeout. */
export class CrawlTimeoutError extends CrawlError {
  constructor(url: string, ms: number) {
    super('ERR_CRAWL_TIMEOUT', url, `Fetching ${url} took longer than ${ms} ms`);
  }
}

/** The task's signal fired (the pool's timeout, an abort): the fetch was cut short. */
export class CrawlAbortedError extends CrawlError {
  constructor(url: string, reason: unknown) {
    super('ERR_CRAWL_ABORTED', url, `Fetching ${url} was aborted`, { cause: reason });
  }
}

/** A failure that came with no code of its own. */
export class FetchFailedError extends CrawlError {
  constructor(url: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('ERR_CRAWL_FETCH_FAILED', url, `Fetching ${url} failed: ${why}`, { cause });
  }
}

/** The error to report for `error`: a string code is kept as it is, anything else is wrapped. */
export function withCode(error: unknown, url: string): Error {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    return error;
  }
  return new FetchFailedError(url, error);
}

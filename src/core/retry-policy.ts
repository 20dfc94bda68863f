/**
 * Retries of tasks that failed (threw, or passed their timeout): whether one is retried, and how
 * long it waits first. Shared by the pool, `--workers 0` and `polyloop worker` (which hands the
 * delay to BullMQ), so every path waits alike.
 */
import { TaskError, TimeoutError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';

/** The longest nominal delay between two attempts, unless `retryDelay` itself is longer. */
export const MAX_RETRY_DELAY_MS = 30_000;

/** Each delay is stretched by up to this fraction, at random (never shortened). */
export const RETRY_JITTER = 0.5;

/**
 * How long to wait before the attempt after attempt number `attempt` (1-based) failed:
 * `base × 2^(attempt − 1)`, capped at MAX_RETRY_DELAY_MS (or `base` if longer), then stretched by
 * a random 0–RETRY_JITTER, so tasks that failed together do not all come back together.
 */
export function retryDelayFor(attempt: number, base: number, random = Math.random): number {
  const nominal = Math.min(base * 2 ** (attempt - 1), Math.max(base, MAX_RETRY_DELAY_MS));
  return Math.ceil(nominal * (1 + RETRY_JITTER * random()));
}

/** Errors that are a task's own failure, worth another run: it threw, or it ran too long. */
export function isRetryable(error: unknown): boolean {
  return error instanceof TaskError || error instanceof TimeoutError;
}

export type RetryOptions = Pick<ResolvedOptions, 'retryErrors' | 'retryDelay' | 'shouldRetry'>;

/**
 * The delay before retrying a task whose attempt number `attempt` (1-based) failed with
 * `error`, or -1 when that error is its answer. A `shouldRetry` that throws says no.
 */
export function retryDelayAfter(options: RetryOptions, error: unknown, attempt: number): number {
  if (attempt > options.retryErrors || !isRetryable(error)) return -1;
  if (options.shouldRetry) {
    let retry: unknown;
    try {
      retry = options.shouldRetry(error as Error, attempt);
    } catch {
      retry = false;
    }
    if (!retry) return -1;
  }
  return retryDelayFor(attempt, options.retryDelay);
}

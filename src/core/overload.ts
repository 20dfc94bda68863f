/**
 * Which failures say "too much at once" rather than "this input is bad": the signals the adaptive
 * limit backs off on. A code anywhere on the error's cause chain counts (`fetch failed` hides
 * `ECONNRESET` one level down).
 */
import { TimeoutError } from '../errors.js';

/** This process (or the whole system) is out of descriptors: the pool let in too much. */
const OVER_ADMISSION_CODES = new Set(['EMFILE', 'ENFILE']);

/** A peer turned the request away at once (a full backlog, a server shedding load). */
const REJECTED_CODES = new Set([
  'ECONNRESET',
  'UND_ERR_SOCKET', // "other side closed": a server that hangs up without an answer
  'EAI_AGAIN', // the resolver is overwhelmed
]);

/** The answer took too long: a peer with a queue, or a run too slow to finish in time. */
const SLOW_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const MAX_DEPTH = 8;

/**
 * - `over-admission`: the pool's own doing; the task runs again after a back-off.
 * - `rejected`: a peer refused it; it runs again if the pool finds it let in too much.
 * - `slow`: a timeout; the limit backs off, but the task's error is its answer (a second run
 *   would take as long again).
 */
export type OverloadKind = 'over-admission' | 'rejected' | 'slow' | undefined;

/** What a task's failure says about load. */
export function overloadKind(error: unknown): OverloadKind {
  let kind: OverloadKind;
  let current = error;
  for (let depth = 0; current !== undefined && current !== null && depth <= MAX_DEPTH; depth++) {
    const code = readField(current, 'code');
    if (typeof code === 'string') {
      if (OVER_ADMISSION_CODES.has(code)) return 'over-admission';
      if (REJECTED_CODES.has(code)) kind ??= 'rejected';
      else if (SLOW_CODES.has(code)) kind ??= 'slow';
    }
    // polyloop's own, and AbortSignal.timeout()'s DOMException.
    if (current instanceof TimeoutError || readField(current, 'name') === 'TimeoutError') {
      kind ??= 'slow';
    }
    current = typeof current === 'object' ? readField(current, 'cause') : undefined;
  }
  return kind;
}

function readField(value: unknown, key: 'code' | 'name' | 'cause'): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * Which failures say "too much at once" rather than "this input is bad": the signals the adaptive
 * limit backs off on. A code anywhere on the error's cause chain counts (`fetch failed` hides
 * `ECONNRESET` one level down).
 */
import { TimeoutError } from '../errors.js';

/** This process (or the whole system) is out of descriptors: the pool let in too much. */
const OVER_ADMISSION_CODES = new Set(['EMFILE', 'ENFILE']);

/** A peer turned the request away (a full backlog, a server shedding load). */
const REJECTED_CODES = new Set([
  'ECONNRESET',
  'UND_ERR_SOCKET', // "other side closed": a server that hangs up without an answer
  'EAI_AGAIN', // the resolver is overwhelmed
]);

/** Any code that says it timed out: ETIMEDOUT, undici's UND_ERR_*_TIMEOUT, a task's own. */
const TIMEOUT_CODE = /TIME_?OUT|TIMEDOUT/i;

const MAX_DEPTH = 8;

/**
 * `over-admission`: the pool's own doing; `rejected`: a peer turned it away; `timeout`: it took
 * too long — load only if the tasks that succeed meanwhile take about as long (see
 * error-retries.ts), or else the input's own slowness.
 */
export type OverloadKind = 'over-admission' | 'rejected' | 'timeout' | undefined;

/** What a task's failure says about load. */
export function overloadKind(error: unknown): OverloadKind {
  let kind: OverloadKind;
  let current = error;
  for (let depth = 0; current !== undefined && current !== null && depth <= MAX_DEPTH; depth++) {
    const code = readField(current, 'code');
    if (typeof code === 'string') {
      if (OVER_ADMISSION_CODES.has(code)) return 'over-admission';
      if (REJECTED_CODES.has(code)) kind ??= 'rejected';
      else if (TIMEOUT_CODE.test(code)) kind ??= 'timeout';
    }
    // polyloop's own, and AbortSignal.timeout()'s DOMException.
    if (current instanceof TimeoutError || readField(current, 'name') === 'TimeoutError') {
      kind ??= 'timeout';
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

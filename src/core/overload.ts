/**
 * Which failures say "too much at once" rather than "this input is bad": the signals the adaptive
 * limit backs off on. A code anywhere on the error's cause chain counts (`fetch failed` hides
 * `ECONNRESET` one level down).
 */
import { TimeoutError } from '../errors.js';

/** Codes of a resource or a peer at its limit. */
const OVERLOAD_CODES = new Set([
  'EMFILE', // this process is out of descriptors
  'ENFILE', // the whole system is
  'ECONNRESET', // the peer dropped us (a full backlog, a server shedding load)
  'ETIMEDOUT',
  'EAI_AGAIN', // the resolver is overwhelmed
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Codes of the pool's own over-admission: re-run after backing off, not reported. */
const OVER_ADMISSION_CODES = new Set(['EMFILE', 'ENFILE']);

const MAX_DEPTH = 8;

export type OverloadKind = 'over-admission' | 'overload' | undefined;

/** What a task's failure says about load: the pool's own over-admission, overload, or nothing. */
export function overloadKind(error: unknown): OverloadKind {
  let kind: OverloadKind;
  let current = error;
  for (let depth = 0; current !== undefined && current !== null && depth <= MAX_DEPTH; depth++) {
    if (current instanceof TimeoutError) kind ??= 'overload';
    const code = readCode(current);
    if (code !== undefined && OVER_ADMISSION_CODES.has(code)) return 'over-admission';
    if (code !== undefined && OVERLOAD_CODES.has(code)) kind ??= 'overload';
    current = current instanceof Error ? readCause(current) : undefined;
  }
  return kind;
}

function readCode(error: unknown): string | undefined {
  try {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function readCause(error: Error): unknown {
  try {
    return error.cause;
  } catch {
    return undefined;
  }
}

import { PolyloopError } from '../errors.js';

/**
 * The command line was wrong, or names something unusable (a missing task module, an unreadable
 * input file). The CLI prints its message on one line, without a stack, and exits with code 2.
 */
export class UsageError extends PolyloopError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_POLYLOOP_USAGE', message, options);
  }
}

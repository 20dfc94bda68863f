/**
 * One status line on stderr for the queue commands: redrawn in place on a terminal, printed every
 * few seconds otherwise (logs, CI), and a last line at the end.
 */
import type { ProgressMode } from '../progress.js';

const PLAIN_EVERY_MS = 5000;

export class StatusLine {
  #lastPlain = performance.now();
  #drawn = false;

  constructor(
    private readonly mode: ProgressMode,
    private readonly label: string,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Show `text` now (live), or if the last plain line is old enough. */
  update(text: string): void {
    if (this.mode === 'live') {
      const columns = (this.out as { columns?: number }).columns ?? 120;
      this.out.write(`\r\x1b[2K${`${this.label}: ${text}`.slice(0, Math.max(20, columns - 1))}`);
      this.#drawn = true;
    } else if (this.mode === 'plain' && performance.now() - this.#lastPlain >= PLAIN_EVERY_MS) {
      this.#lastPlain = performance.now();
      this.out.write(`${this.label}: ${text}\n`);
    }
  }

  /** The last line, shown in every mode but quiet. */
  finish(text: string): void {
    if (this.#drawn) this.out.write('\r\x1b[2K');
    this.#drawn = false;
    if (this.mode !== 'quiet') this.out.write(`${this.label}: ${text}\n`);
  }
}

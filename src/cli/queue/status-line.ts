/**
 * One status line on stderr for the queue commands, on the same mechanics as `Progress`: redrawn
 * in place on a terminal (a one-line `LiveFrame`, fitted to its width by leaving whole fields
 * out), printed every PLAIN_EVERY_MS otherwise (logs, CI), and a last line at the end.
 */
import { LiveFrame } from '../live-frame.js';
import { PLAIN_EVERY_MS, type ProgressMode } from '../progress.js';
import { columnsOf, fitFields } from '../progress-fields.js';

/** How the fields of a status read in a log, and in the summary. */
const FIELD_SEPARATOR = ', ';

export class StatusLine {
  #lastPlain = performance.now();
  readonly #frame: LiveFrame | undefined;

  constructor(
    private readonly mode: ProgressMode,
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.#frame = mode === 'live' ? new LiveFrame(out) : undefined;
  }

  /**
   * Show these fields now (live), or if the last plain line is old enough. On a narrow terminal
   * the last fields are left out first.
   */
  update(fields: readonly string[]): void {
    if (this.#frame) {
      const prefix = `${this.label}: `;
      const width = this.#frame.width() - columnsOf(prefix);
      const fitted = fitFields(
        fields.map((text, priority) => ({ text, priority })),
        width,
        FIELD_SEPARATOR,
      );
      this.#frame.draw([`${prefix}${fitted}`]);
    } else if (this.mode === 'plain' && performance.now() - this.#lastPlain >= PLAIN_EVERY_MS) {
      this.#lastPlain = performance.now();
      this.out.write(`${this.label}: ${fields.join(FIELD_SEPARATOR)}\n`);
    }
  }

  /** The last line, shown in every mode but quiet. */
  finish(text: string): void {
    this.#frame?.clear();
    if (this.mode !== 'quiet') this.out.write(`${this.label}: ${text}\n`);
  }
}

/** "Redis unreachable since 14:02:07 (35 s)": said instead of blaming the queue's name. */
export function redisDownText(since: number, now = Date.now()): string {
  const time = new Date(since).toTimeString().slice(0, 8);
  return `Redis unreachable since ${time} (${Math.round((now - since) / 1000)} s)`;
}

/**
 * The lines of a live display at the bottom of a terminal, redrawn in place. Whatever else goes to
 * that terminal — a notice, the records when stdout is the same terminal — is written above the
 * frame: the frame is erased first and drawn again after, so it never shares a line with other
 * text, never erases it, and leaves no stale copy behind.
 */

/**
 * Columns left free at the right: the terminal echoes "^C" after the cursor, which sits at the end
 * of the frame; a line that wrapped would take one more row than the frame erases.
 */
const RIGHT_MARGIN = 3;
/** When a terminal does not say its width. */
const DEFAULT_COLUMNS = 80;

export class LiveFrame {
  /** The lines now on screen (the cursor is at the end of the last one). */
  private drawn: readonly string[] = [];
  /** The lines to show: kept while the frame is held, to draw them again after. */
  private lines: readonly string[] = [];
  private held = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** The widest line `draw` may be given. */
  width(): number {
    const columns = this.out.columns;
    return Math.max(
      1,
      (columns !== undefined && columns > 0 ? columns : DEFAULT_COLUMNS) - RIGHT_MARGIN,
    );
  }

  /** Show these lines instead of the frame on screen (each at most `width()` columns). */
  draw(lines: readonly string[]): void {
    this.lines = lines;
    if (this.held > 0) return;
    // One write, so the terminal never shows the frame half-erased.
    this.out.write(this.eraseSequence() + lines.join('\n'));
    this.drawn = lines;
  }

  /** Take the frame off the screen for good (the cursor is left at the start of its first line). */
  clear(): void {
    this.lines = [];
    if (this.drawn.length > 0) this.out.write(this.eraseSequence());
    this.drawn = [];
  }

  /** A line above the frame, which stays on screen. */
  print(text: string): void {
    const frame = this.held > 0 ? [] : this.lines;
    // With no frame drawn yet, the cursor may follow a "^C" echo: start the line afresh anyway.
    const erase = this.drawn.length > 0 ? this.eraseSequence() : '\r\x1b[2K';
    this.out.write(`${erase}${text}\n${frame.join('\n')}`);
    this.drawn = frame;
  }

  /** Erase the frame while something else writes to the terminal; `release` draws it again. */
  hold(): void {
    if (this.held++ === 0 && this.drawn.length > 0) {
      this.out.write(this.eraseSequence());
      this.drawn = [];
    }
  }

  release(): void {
    if (this.held === 0 || --this.held > 0) return;
    if (this.lines.length > 0) this.draw(this.lines);
  }

  /**
   * Clear each line the frame took, from the last (where the cursor is, after any "^C" echo) up
   * to the first, ending at its column 0. Line by line, not "clear to the end of the screen": tmux
   * takes that, from the top row, for a screen clear and scrolls the frame into its history.
   */
  private eraseSequence(): string {
    if (this.drawn.length === 0) return '';
    return `\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(this.drawn.length - 1)}`;
  }
}

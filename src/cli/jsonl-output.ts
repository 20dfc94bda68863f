/**
 * Writes JSONL records to a file or stdout in batches: one write per FLUSH_CHARS characters or
 * FLUSH_MS instead of one per record, so writing costs the run little, while a `kill -9` loses at
 * most the last FLUSH_MS of records (they have no record, so `--resume` runs them again). Data
 * handed to the OS survives the process being killed; only a machine crash could lose more (no
 * fsync per batch). A slow disk or pipe pushes back: past HIGH_WATER_CHARS not yet written,
 * `write` asks its caller to wait, so memory stays bounded.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { PolyloopError } from '../errors.js';

const FLUSH_CHARS = 64 * 1024;
const FLUSH_MS = 100;
const HIGH_WATER_CHARS = 4 * 1024 * 1024;

/**
 * The output cannot be written (a full disk, a file it cannot write): the run stops, exit code 2.
 * Not a closed stdout (`| head`): that ends the run quietly (see JsonlWriter.closed).
 */
export class OutputError extends PolyloopError {
  constructor(target: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const name = target === '-' ? 'stdout' : target;
    super('ERR_POLYLOOP_OUTPUT', `Cannot write the output to ${name}: ${reason}`, { cause });
  }
}

/** A live display sharing the terminal stdout writes to. */
export interface ScreenShare {
  /** Take it off the screen before records are written... */
  hold(): void;
  /** ...and draw it again below them. */
  release(): void;
}

export class JsonlWriter {
  /** Lines queued here, not yet handed to a write. */
  private pending: string[] = [];
  private pendingChars = 0;
  /** Characters handed to writes that have not completed yet. */
  private writingChars = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The write in progress; writes are chained so lines keep their order. */
  private writing: Promise<void> = Promise.resolve();
  private failure: OutputError | undefined;
  /** The reader of stdout has gone: not a failure (see `closed`). */
  private isClosed = false;
  private onClosed!: () => void;
  /**
   * Resolves once the reader of stdout has gone (`| head` has what it wanted): from then on, lines
   * are dropped, and the run should stop, quietly, as any Unix tool would.
   */
  readonly closed = new Promise<void>((resolve) => {
    this.onClosed = resolve;
  });
  private screen: ScreenShare | undefined;
  /** Records handed to the writer so far. */
  written = 0;

  private constructor(
    private readonly file: FileHandle | undefined,
    readonly target: string,
  ) {}

  /**
   * `-` writes to stdout; otherwise the file is created, truncated, or appended to (`append`).
   * `screen` is told around each write to stdout: a live display on the same terminal steps aside.
   */
  static async open(
    target: string,
    { append, screen }: { append: boolean; screen?: ScreenShare | undefined },
  ): Promise<JsonlWriter> {
    if (target !== '-') {
      try {
        return new JsonlWriter(await open(target, append ? 'a' : 'w'), target);
      } catch (error) {
        throw new OutputError(target, error);
      }
    }
    const writer = new JsonlWriter(undefined, target);
    writer.screen = screen;
    // A closed pipe (`| head`) is reported here, not thrown at some later write.
    process.stdout.on('error', (error) => writer.fail(error));
    return writer;
  }

  /** Queue one line (ending with a newline). Returns false when the caller should `await drain()`. */
  write(line: string): boolean {
    if (this.failure) throw this.failure;
    if (this.isClosed) return true;
    this.pending.push(line);
    this.pendingChars += line.length;
    this.written++;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    return this.pendingChars + this.writingChars < HIGH_WATER_CHARS;
  }

  /** Resolves once what was queued so far has reached the OS; rejects with an OutputError. */
  async drain(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.file?.close().catch(() => {});
    }
  }

  private fail(error: unknown): void {
    // EPIPE is stdout's reader closing its end: the end of the output, not an error. A file
    // cannot be closed by its reader, so there EPIPE never comes; ENOSPC and the like stay errors.
    if (this.file === undefined && (error as { code?: unknown })?.code === 'EPIPE') {
      if (!this.isClosed) {
        this.isClosed = true;
        this.pending = [];
        this.pendingChars = 0;
        this.onClosed();
      }
      return;
    }
    if (this.isClosed) return;
    this.failure ??= error instanceof OutputError ? error : new OutputError(this.target, error);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    this.writingChars += chunk.length;
    this.writing = this.writing
      .then(() => this.writeChunk(chunk))
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.writingChars -= chunk.length;
      });
  }

  private async writeChunk(chunk: string): Promise<void> {
    if (this.failure || this.isClosed) return;
    if (this.file) {
      await this.file.write(chunk);
      return;
    }
    const screen = this.screen;
    screen?.hold();
    try {
      await new Promise<void>((resolve, reject) => {
        process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
    } finally {
      screen?.release();
    }
  }
}

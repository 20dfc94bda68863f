/**
 * Writes JSONL records to a file or stdout in batches: one write per FLUSH_CHARS characters or FLUSH_MS
 * instead of one per record, so writing never slows the run, while a `kill -9` loses at most the
 * last FLUSH_MS of records (they have no record, so `--resume` runs them again). Data handed to the
 * OS survives the process being killed; only a machine crash could lose more (no fsync per batch).
 */
import { type FileHandle, open } from 'node:fs/promises';

const FLUSH_CHARS = 64 * 1024;
const FLUSH_MS = 100;
/** Above this many characters waiting, `write` asks its caller to wait (a slow disk or pipe). */
const HIGH_WATER_CHARS = 4 * 1024 * 1024;

export class JsonlWriter {
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The write in progress; writes are chained so lines keep their order. */
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Records handed to the writer so far. */
  written = 0;

  private constructor(
    private readonly file: FileHandle | undefined,
    readonly target: string,
  ) {}

  /** `-` writes to stdout; otherwise the file is created, truncated, or appended to (`append`). */
  static async open(target: string, { append }: { append: boolean }): Promise<JsonlWriter> {
    if (target === '-') return new JsonlWriter(undefined, target);
    return new JsonlWriter(await open(target, append ? 'a' : 'w'), target);
  }

  /** Queue one line (ending with a newline). Returns false when the caller should `await drain()`. */
  write(line: string): boolean {
    if (this.failure) throw this.failure;
    this.pending.push(line);
    this.pendingChars += line.length;
    this.written++;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    return this.pendingChars < HIGH_WATER_CHARS;
  }

  /** Resolves once what was queued so far has reached the OS. */
  async drain(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.file?.close();
    }
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
    this.writing = this.writing
      .then(() => this.writeChunk(chunk))
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      });
  }

  private async writeChunk(chunk: string): Promise<void> {
    if (this.failure) return;
    if (this.file) {
      await this.file.write(chunk);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/**
 * Inputs from a JSONL file or stdin, read lazily (a file of millions of lines never sits in
 * memory): one input per line, its 0-based line number as its index. Blank lines are not inputs
 * but still count, so an index always names its line. A line that is not JSON, or not UTF-8, is
 * an input that fails (InvalidInputError); the lines after it are read on.
 */
import { isUtf8 } from 'node:buffer';
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InvalidInputError, type ParsedInput, parseJsonLine } from '../records/json-line.js';
import { FingerprintKeeper, loadFingerprint } from './fingerprint-file.js';
import { InputFingerprint } from './input-fingerprint.js';
import { checkResumedInput, type InputCheck } from './resume.js';
import { UsageError } from './usage-error.js';
import { utf8Problem } from './utf8.js';

export { InvalidInputError, type ParsedInput };

/** A line (starting at byte `offset` of the input) whose bytes are not UTF-8. */
function notUtf8(index: number, offset: number, bytes: Uint8Array): InvalidInputError {
  const problem = utf8Problem(bytes);
  const where = problem
    ? `at byte offset ${offset + problem.at} of the input (offset ${problem.at} in the line: ${problem.bytes}, ${problem.reason})`
    : `(it starts at byte offset ${offset} of the input)`;
  return new InvalidInputError(index, `is not valid UTF-8 ${where}`);
}

export type InputFormat = 'json' | 'lines';

type Line =
  | { readonly index: number; readonly text: string }
  | { readonly index: number; readonly text?: undefined; readonly error: InvalidInputError };

export class InputReader {
  private stopped = false;
  /** The stream's chunks, through one iterator: a resume may read some ahead (`aheadChunks`). */
  private readonly chunks: AsyncIterator<Buffer>;
  /** Chunks read before the run started (a resume checking a stream's head), not yet split. */
  private readonly aheadChunks: Buffer[] = [];
  /** Keeps this input's fingerprint beside the output file, if there is one. */
  private keeper: FingerprintKeeper | undefined;

  private constructor(
    private readonly stream: Readable,
    private readonly format: InputFormat,
  ) {
    this.chunks = stream[Symbol.asyncIterator]();
  }

  /**
   * `-` reads stdin. A file that cannot be read is a usage error, raised before the run starts:
   * opened here, not by the stream (whose open error would come with nobody listening yet).
   * With `check`, this input's fingerprint is kept beside the output file, and a resume of an
   * output with records of another input is refused here, before the run starts.
   */
  static async open(path: string, format: InputFormat, check?: InputCheck): Promise<InputReader> {
    if (path === '-') {
      const reader = new InputReader(process.stdin, format);
      if (check) await reader.fingerprint(path, undefined, check);
      return reader;
    }
    let file: FileHandle;
    let regular: boolean;
    let size: number;
    try {
      const stats = await stat(path);
      if (stats.isDirectory()) throw new Error('it is a directory');
      // A named pipe: this waits for its writer.
      file = await open(path, 'r');
      // Of what was opened: a file replaced meanwhile is fingerprinted as it is read.
      const opened = await file.stat();
      regular = opened.isFile();
      size = opened.size;
    } catch (error) {
      const reason =
        (error as { code?: string }).code === 'ENOENT'
          ? 'no such file'
          : String((error as Error).message ?? error);
      throw new UsageError(`Cannot read the input file ${path}: ${reason}`);
    }
    const reader = new InputReader(file.createReadStream({ highWaterMark: 256 * 1024 }), format);
    if (check) {
      try {
        await reader.fingerprint(path, regular ? { file, size } : undefined, check);
      } catch (error) {
        await file.close().catch(() => {});
        throw error;
      }
    }
    return reader;
  }

  /** Stop reading (SIGINT): the iteration ends after the line it is on, even while waiting on stdin. */
  stop(): void {
    this.stopped = true;
    this.stream.destroy();
  }

  /** Every non-blank line, parsed. */
  async *inputs(): AsyncGenerator<ParsedInput> {
    for await (const line of this.lines()) {
      const { index, text } = line;
      if (text === undefined) {
        yield { index, ok: false, error: line.error };
      } else if (this.format === 'lines') {
        yield { index, ok: true, value: text };
      } else {
        yield parseJsonLine(index, text);
      }
    }
  }

  /**
   * Every non-blank line as its text, unparsed (`enqueue` hands JSON lines to the workers as
   * text); a line that is not UTF-8 carries its error.
   */
  async *texts(): AsyncGenerator<
    | { readonly index: number; readonly text: string }
    | { readonly index: number; readonly error: InvalidInputError }
  > {
    yield* this.lines();
  }

  /**
   * A regular file is fingerprinted now, at once; a stream as it is read. When resuming, a stream
   * is read ahead as far as the stored fingerprint covers, so that it is checked before the run.
   */
  private async fingerprint(
    path: string,
    regular: { file: FileHandle; size: number } | undefined,
    check: InputCheck,
  ): Promise<void> {
    const stored = check.resuming
      ? await loadFingerprint(check.output).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        )
      : undefined;
    const checkAt = stored instanceof Error ? undefined : stored?.head.bytes;
    const fingerprint = regular
      ? await InputFingerprint.ofFile(regular.file, regular.size, path, this.format, checkAt)
      : InputFingerprint.ofStream(path, this.format, checkAt);
    this.keeper = new FingerprintKeeper(check.output, fingerprint, check.warn);
    if (!regular && checkAt !== undefined) {
      while (fingerprint.headBytes < checkAt) {
        const chunk = await this.read();
        if (chunk === undefined) break;
        this.aheadChunks.push(chunk);
      }
    }
    if (check.resuming) checkResumedInput(check, stored, fingerprint);
  }

  /** The stream's next chunk, hashed into the fingerprint; undefined at its end. */
  private async read(): Promise<Buffer | undefined> {
    const next = await this.chunks.next();
    if (next.done) return undefined;
    const chunk = next.value;
    this.keeper?.fingerprint.observe(chunk);
    return chunk;
  }

  /** The next chunk to split into lines, once the fingerprint beside the output covers it. */
  private async nextChunk(): Promise<Buffer | undefined> {
    const chunk = this.aheadChunks.shift() ?? (await this.read());
    if (chunk !== undefined) await this.keeper?.save();
    return chunk;
  }

  /**
   * Lines are split on bytes (a newline byte is never part of a multibyte character), so each one
   * is checked as UTF-8 on its own: a bad one fails, not its neighbours, nor the whole run. The
   * whole lines of a chunk are checked (node's isUtf8, SIMD) and decoded at once, as fast as the
   * decoding alone was.
   */
  private async *lines(): AsyncGenerator<Line> {
    // The start of a line not ended yet, in pieces: a huge line is joined once, not rescanned.
    let pieces: Buffer[] = [];
    let index = 0;
    // Where the chunk in hand starts in the input, in bytes; and the line in `pieces`.
    let position = 0;
    let lineStart = 0;
    try {
      for (;;) {
        const chunk = await this.nextChunk();
        if (chunk === undefined || this.stopped) break;
        let start = 0;
        const first = chunk.indexOf(0x0a);
        if (first === -1) {
          if (pieces.length === 0) lineStart = position;
          pieces.push(chunk);
          position += chunk.length;
          continue;
        }
        if (pieces.length > 0) {
          pieces.push(chunk.subarray(0, first));
          const line = this.line(Buffer.concat(pieces), index++, lineStart);
          pieces = [];
          start = first + 1;
          if (line !== undefined) yield line;
          if (this.stopped) return;
        }
        const last = chunk.lastIndexOf(0x0a);
        const block = chunk.subarray(start, last + 1);
        const offset = position + start;
        // Inline, not a helper generator: this is the loop every line goes through. The block is
        // decoded at once; if it is not all UTF-8, a line with a U+FFFD (what bad bytes decode to)
        // has its own bytes checked.
        const text = block.toString('utf8');
        let replaced = isUtf8(block) ? -1 : text.indexOf('\ufffd');
        let from = 0;
        // Text and bytes in step, after the last line checked: the text since then has no U+FFFD,
        // so it came from valid UTF-8, and its UTF-8 length is the bytes' (no walk line by line).
        let textAt = 0;
        let byteAt = 0;
        for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', from)) {
          let line: Line | undefined;
          if (replaced !== -1 && replaced < end) {
            replaced = text.indexOf('\ufffd', end);
            const byteFrom = byteAt + Buffer.byteLength(text.slice(textAt, from));
            const byteEnd = block.indexOf(0x0a, byteFrom);
            const bytes = block.subarray(byteFrom, byteEnd);
            textAt = end + 1;
            byteAt = byteEnd + 1;
            if (!isUtf8(bytes)) {
              line = { index, error: notUtf8(index, offset + byteFrom, bytes) };
            }
          }
          if (line === undefined) {
            const value = this.text(text.slice(from, end), from === 0 && offset === 0);
            if (value !== undefined) line = { index, text: value };
          }
          from = end + 1;
          if (line !== undefined) yield line;
          index++;
          if (this.stopped) return;
        }
        if (last + 1 < chunk.length) {
          pieces.push(chunk.subarray(last + 1));
          lineStart = position + last + 1;
        }
        position += chunk.length;
      }
    } catch (error) {
      if (this.stopped) return; // destroyed on purpose
      throw error;
    } finally {
      // Stopped early: let the stream go (a no-op once it has ended).
      await this.chunks.return?.().catch(() => {});
    }
    if (!this.stopped && pieces.length > 0) {
      const line = this.line(Buffer.concat(pieces), index, lineStart);
      if (line !== undefined) yield line;
    }
  }

  /** One line's bytes (without its newline), starting at `offset` in the input. */
  private line(bytes: Buffer, index: number, offset: number): Line | undefined {
    if (!isUtf8(bytes)) return { index, error: notUtf8(index, offset, bytes) };
    const text = this.text(bytes.toString('utf8'), offset === 0);
    return text === undefined ? undefined : { index, text };
  }

  /** A line's text without its \r (CRLF files) and, on the first line, a byte order mark; undefined if blank. */
  private text(line: string, first: boolean): string | undefined {
    let text = line;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text.trim() === '' ? undefined : text;
  }
}

/**
 * How many inputs (non-blank lines) a file holds, for a progress bar's total. Reads the file once
 * more, in big chunks, without decoding it. Undefined for anything but a regular file: a pipe
 * (`--input <(zcat x.gz)`, /dev/stdin) can be read only once, and the run needs every line.
 */
export async function countInputs(path: string): Promise<number | undefined> {
  if (!(await stat(path)).isFile()) return undefined;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let count = 0;
    let blank = true;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) {
        const byte = buffer[i]!;
        if (byte === 0x0a) {
          if (!blank) count++;
          blank = true;
        } else if (blank && byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) {
          blank = false;
        }
      }
    }
    if (!blank) count++;
    return count;
  } finally {
    await file.close();
  }
}

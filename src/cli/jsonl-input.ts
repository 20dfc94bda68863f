/**
 * Inputs from a JSONL file or stdin, read lazily (a file of millions of lines never sits in
 * memory): one input per line, its 0-based line number as its index. Blank lines are not inputs
 * but still count, so an index always names its line.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { PolyloopError } from '../errors.js';
import { UsageError } from './usage-error.js';

/** A line that is not valid JSON: that input fails with this error, the run goes on. */
export class InvalidInputError extends PolyloopError {
  readonly line: number;
  constructor(index: number, message: string, options?: ErrorOptions) {
    super('ERR_POLYLOOP_INVALID_INPUT', `Line ${index + 1} is not valid JSON: ${message}`, options);
    this.line = index + 1;
  }
}

export type InputFormat = 'json' | 'lines';

export type ParsedInput =
  | { readonly index: number; readonly ok: true; readonly value: unknown }
  | { readonly index: number; readonly ok: false; readonly error: InvalidInputError };

export class InputReader {
  private stopped = false;

  private constructor(
    private readonly stream: Readable,
    private readonly format: InputFormat,
  ) {}

  /**
   * `-` reads stdin. A file that cannot be read is a usage error, raised before the run starts:
   * opened here, not by the stream (whose open error would come with nobody listening yet).
   */
  static async open(path: string, format: InputFormat): Promise<InputReader> {
    if (path === '-') return new InputReader(process.stdin, format);
    let file: FileHandle;
    try {
      if ((await stat(path)).isDirectory()) throw new Error('it is a directory');
      // A named pipe: this waits for its writer.
      file = await open(path, 'r');
    } catch (error) {
      const reason =
        (error as { code?: string }).code === 'ENOENT'
          ? 'no such file'
          : String((error as Error).message ?? error);
      throw new UsageError(`Cannot read the input file ${path}: ${reason}`);
    }
    return new InputReader(file.createReadStream({ highWaterMark: 256 * 1024 }), format);
  }

  /** Stop reading (SIGINT): the iteration ends after the line it is on, even while waiting on stdin. */
  stop(): void {
    this.stopped = true;
    this.stream.destroy();
  }

  /** Every non-blank line, parsed. */
  async *inputs(): AsyncGenerator<ParsedInput> {
    for await (const { index, text } of this.lines()) {
      if (this.format === 'lines') {
        yield { index, ok: true, value: text };
        continue;
      }
      try {
        yield { index, ok: true, value: JSON.parse(text) };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        yield { index, ok: false, error: new InvalidInputError(index, message, { cause: error }) };
      }
    }
  }

  private async *lines(): AsyncGenerator<{ index: number; text: string }> {
    this.stream.setEncoding('utf8');
    // The start of a line not ended yet, in pieces: a huge line is joined once, not rescanned.
    let pieces: string[] = [];
    let index = 0;
    let first = true;
    try {
      for await (const data of this.stream) {
        if (this.stopped) return;
        let chunk = data as string;
        if (first) {
          first = false;
          if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
        }
        let start = 0;
        for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
          let line = chunk.slice(start, end);
          if (pieces.length > 0) {
            pieces.push(line);
            line = pieces.join('');
            pieces = [];
          }
          start = end + 1;
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line.trim() !== '') yield { index, text: line };
          index++;
          if (this.stopped) return;
        }
        if (start < chunk.length) pieces.push(chunk.slice(start));
      }
    } catch (error) {
      if (this.stopped) return; // destroyed on purpose
      throw error;
    }
    const last = pieces.join('');
    if (!this.stopped && last.trim() !== '') {
      yield { index, text: last.endsWith('\r') ? last.slice(0, -1) : last };
    }
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

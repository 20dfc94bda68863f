/**
 * What an input is, so that `--resume` can tell whether an output's records are of this input:
 * a fingerprint computed when the run starts reading, kept beside the output in
 * `OUTPUT.polyloop-input` (the output's own lines stay plain records for their consumers).
 *
 * What is hashed, and why not the whole input:
 * - A regular file: its size, a SHA-256 of its first MiB, and a SHA-256 of its last MiB plus 32
 *   blocks of 16 KiB spread evenly in between. That is at most ~2.5 MiB read, whatever the size:
 *   a 50 GB input does not delay a run (or a resume) by the minutes a full hash would take, and
 *   the fingerprint exists, complete, before the first record is written, so a run killed at any
 *   point leaves one that covers its records. It tells apart files of different sizes, and files
 *   of one size that differ in their first or last MiB or in any sampled block (a regenerated
 *   input differs nearly everywhere). What it cannot see is an edit of the same length between
 *   samples: resuming then mixes that edit's lines, as resuming any edited input would.
 * - A stream (stdin, a pipe, `<(zcat in.gz)`): it can be read once, and its size is only known at
 *   its end, so only its first MiB is hashed, as it is read. The fingerprint is saved before any
 *   line of a chunk is used, so it always covers every record whose line lies in that first MiB.
 *   A resume from a stream reads the bytes the earlier fingerprint covers before the run starts,
 *   and compares them: a different input is refused before anything is written.
 * A line count would need a full read too, and adds nothing a size does not already tell.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { InputFormat } from './jsonl-input.js';

/** How much of the start of an input is hashed. */
export const HEAD_BYTES = 1024 * 1024;
const TAIL_BYTES = 1024 * 1024;
const SAMPLES = 32;
const SAMPLE_BYTES = 16 * 1024;

/** A fingerprint as the file beside the output holds it. */
export interface Fingerprint {
  /** The input's name as given (`-`: stdin): only to name it in messages, never compared. */
  readonly input: string;
  readonly format: InputFormat;
  /** How many bytes of the start were hashed (up to HEAD_BYTES), and their SHA-256. */
  readonly head: { readonly bytes: number; readonly sha256: string };
  /** A regular file's size; unknown for a stream. */
  readonly size?: number | undefined;
  /** A regular file larger than HEAD_BYTES: the SHA-256 of its tail and sampled blocks. */
  readonly sample?: string | undefined;
}

/** The fingerprint of the input being read, as far as it is known. */
export class InputFingerprint {
  private readonly hash: Hash = createHash('sha256');
  private hashed = 0;
  /** The head's hash at one earlier length: the length a stored fingerprint covers. */
  private checkpoint: string | undefined;
  private size: number | undefined;
  private sample: string | undefined;
  /** A file's fingerprint is complete from the start; a stream's head grows as it is read. */
  private complete = false;

  private constructor(
    readonly input: string,
    readonly format: InputFormat,
    private readonly checkAt: number | undefined,
  ) {
    if (checkAt === 0) this.checkpoint = this.hash.copy().digest('hex');
  }

  /** A stream's: its head is hashed by `observe` as it is read. */
  static ofStream(input: string, format: InputFormat, checkAt?: number): InputFingerprint {
    return new InputFingerprint(input, format, checkAt);
  }

  /** A regular file's, read now at a few places (positional reads: the file's position stays). */
  static async ofFile(
    file: FileHandle,
    size: number,
    input: string,
    format: InputFormat,
    checkAt?: number,
  ): Promise<InputFingerprint> {
    const fingerprint = new InputFingerprint(input, format, checkAt);
    fingerprint.size = size;
    fingerprint.observe(await readAt(file, 0, Math.min(size, HEAD_BYTES)));
    if (size > HEAD_BYTES) {
      const sample = createHash('sha256');
      const tailStart = Math.max(HEAD_BYTES, size - TAIL_BYTES);
      const gap = tailStart - HEAD_BYTES;
      if (gap > SAMPLES * SAMPLE_BYTES) {
        for (let i = 0; i < SAMPLES; i++) {
          const at = HEAD_BYTES + Math.floor(((i + 0.5) * gap) / SAMPLES - SAMPLE_BYTES / 2);
          sample.update(await readAt(file, at, SAMPLE_BYTES));
        }
      } else {
        // Little between head and tail: all of it.
        sample.update(await readAt(file, HEAD_BYTES, gap));
      }
      sample.update(await readAt(file, tailStart, size - tailStart));
      fingerprint.sample = sample.digest('hex');
    }
    fingerprint.complete = true;
    return fingerprint;
  }

  /** Bytes of the head hashed so far. */
  get headBytes(): number {
    return this.hashed;
  }

  /** A chunk a stream has just given, in order: the part of it within the head is hashed. */
  observe(chunk: Uint8Array): void {
    if (this.complete) return;
    let part = chunk.subarray(0, HEAD_BYTES - this.hashed);
    if (this.checkAt !== undefined && this.checkpoint === undefined) {
      const before = this.checkAt - this.hashed;
      if (before <= part.length) {
        this.hash.update(part.subarray(0, before));
        this.hashed += before;
        this.checkpoint = this.hash.copy().digest('hex');
        part = part.subarray(before);
      }
    }
    this.hash.update(part);
    this.hashed += part.length;
  }

  /**
   * What differs from a stored fingerprint, in words naming both inputs; undefined if nothing
   * does. Only what both know is compared: a stream has no size, a stored stream head may be short.
   */
  differences(stored: Fingerprint): string | undefined {
    const then = stored.input === '-' ? 'stdin then' : `${stored.input} then`;
    const now = this.input === '-' ? 'stdin now' : `${this.input} now`;
    if (stored.format !== this.format) {
      const how = (format: InputFormat) =>
        format === 'lines' ? 'as plain text lines (--lines)' : 'as JSON';
      return `read ${how(stored.format)} then, ${how(this.format)} now`;
    }
    if (stored.size !== undefined && this.size !== undefined && stored.size !== this.size) {
      return `${then} had ${stored.size} bytes, ${now} has ${this.size}`;
    }
    const head = this.headAt(stored.head.bytes);
    if (head === undefined) {
      return `${now} ends before the ${stored.head.bytes} bytes ${then} began with`;
    }
    if (head !== stored.head.sha256) return `their first ${stored.head.bytes} bytes differ`;
    if (stored.sample !== undefined && this.sample !== undefined && stored.sample !== this.sample) {
      return 'of one size and first MiB, they differ further on';
    }
    return undefined;
  }

  toJSON(): Fingerprint {
    return {
      input: this.input,
      format: this.format,
      head: { bytes: this.hashed, sha256: this.hash.copy().digest('hex') },
      size: this.size,
      sample: this.sample,
    };
  }

  /** The hash of the first `bytes` bytes; undefined if the input has fewer. */
  private headAt(bytes: number): string | undefined {
    if (bytes === this.checkAt && this.checkpoint !== undefined) return this.checkpoint;
    if (bytes === this.hashed) return this.hash.copy().digest('hex');
    return undefined;
  }
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break; // the file shrank meanwhile: what it has
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

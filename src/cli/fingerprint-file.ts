/**
 * The file beside an output that says which input its records are of: `out.jsonl.polyloop-input`,
 * one JSON object (see input-fingerprint.ts). A sidecar, not a first line in the output, so the
 * output stays one record per line for whatever reads it.
 */
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { type Fingerprint, HEAD_BYTES, type InputFingerprint } from './input-fingerprint.js';

const KIND = 'polyloop input fingerprint';
const VERSION = 1;

export function fingerprintPath(output: string): string {
  return `${output}.polyloop-input`;
}

/** The fingerprint kept beside `output`; undefined if there is none (an older polyloop wrote it). */
export async function loadFingerprint(output: string): Promise<Fingerprint | undefined> {
  const path = fingerprintPath(output);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  const stored = parse(text);
  if (stored === undefined) throw new Error(`${path} is not a polyloop input fingerprint`);
  return stored;
}

/**
 * Saves the fingerprint of the input being read beside the output, again whenever it has grown (a
 * stream's head): called before the lines of each chunk are used, so it always covers the records.
 */
export class FingerprintKeeper {
  private savedBytes = -1;
  private disabled = false;

  constructor(
    private readonly output: string,
    readonly fingerprint: InputFingerprint,
    private readonly warn: (message: string) => void,
  ) {}

  async save(): Promise<void> {
    if (this.disabled || this.fingerprint.headBytes === this.savedBytes) return;
    const path = fingerprintPath(this.output);
    try {
      // Only beside a regular file: not /dev/null.polyloop-input, nor beside a pipe.
      if (this.savedBytes === -1 && !(await stat(this.output)).isFile()) {
        this.disabled = true;
        return;
      }
      const fingerprint = this.fingerprint.toJSON();
      // Written whole, then renamed over the old one: a kill never leaves half a fingerprint.
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(
        temporary,
        `${JSON.stringify({ kind: KIND, version: VERSION, ...fingerprint })}\n`,
      );
      await rename(temporary, path).catch(async (error: unknown) => {
        await unlink(temporary).catch(() => {});
        throw error;
      });
      this.savedBytes = fingerprint.head.bytes;
    } catch (error) {
      // The records matter more than the check a later --resume could make: say so and go on.
      this.disabled = true;
      this.warn(
        `cannot write ${path} (${(error as Error).message}): a later --resume cannot check its input`,
      );
    }
  }
}

function parse(text: string): Fingerprint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Record<string, unknown> | null;
  const head = v?.head as Record<string, unknown> | undefined;
  const count = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  const sha = (s: unknown) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
  if (
    v?.kind !== KIND ||
    v.version !== VERSION ||
    typeof v.input !== 'string' ||
    (v.format !== 'json' && v.format !== 'lines') ||
    !count(head?.bytes) ||
    (head?.bytes as number) > HEAD_BYTES ||
    !sha(head?.sha256) ||
    (v.size !== undefined && !count(v.size)) ||
    (v.sample !== undefined && !sha(v.sample))
  ) {
    return undefined;
  }
  return {
    input: v.input,
    format: v.format,
    head: { bytes: head!.bytes as number, sha256: head!.sha256 as string },
    size: v.size as number | undefined,
    sample: v.sample as string | undefined,
  };
}

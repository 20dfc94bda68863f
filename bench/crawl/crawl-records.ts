/**
 * Checks a crawl's output: every index once, and a checksum over what each record says (status,
 * title, number of links, words, bytes — or the error code), so two runs, and the test site's
 * own truth, can be compared in one number.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { buildPage, type SiteShape } from '../../examples/crawler/site/pages.ts';
import type { CrawlRecord } from '../../examples/crawler/task.ts';

export interface CrawlSummary {
  readonly records: number;
  readonly ok: number;
  /** Error codes and how often each occurred. */
  readonly errors: Record<string, number>;
  readonly checksum: string;
}

function digestLine(index: number, record: CrawlRecord | undefined, code?: string): string {
  if (record === undefined) return `${index} error ${code}`;
  return `${index} ${record.status} ${record.title} ${record.links.length} ${record.words} ${record.bytes}`;
}

function checksum(lines: string[]): string {
  const hash = createHash('sha256');
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Reads a JSONL output of `polyloop run`; throws if an index is missing or repeated. */
export async function summarizeOutput(path: string, count: number): Promise<CrawlSummary> {
  const lines: Array<string | undefined> = new Array(count).fill(undefined);
  const errors: Record<string, number> = {};
  let records = 0;
  let ok = 0;
  const reader = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const text of reader) {
    if (!text) continue;
    const line = JSON.parse(text) as {
      index: number;
      value?: CrawlRecord;
      error?: { code: string };
    };
    if (!(line.index >= 0 && line.index < count))
      throw new Error(`index ${line.index} out of range`);
    if (lines[line.index] !== undefined) throw new Error(`index ${line.index} has two records`);
    records++;
    if (line.value) ok++;
    else errors[line.error!.code] = (errors[line.error!.code] ?? 0) + 1;
    lines[line.index] = digestLine(line.index, line.value, line.error?.code);
  }
  const missing = lines.indexOf(undefined);
  if (records !== count || missing !== -1) {
    throw new Error(`${records} records for ${count} inputs (first missing index: ${missing})`);
  }
  return { records, ok, errors, checksum: checksum(lines as string[]) };
}

/** The checksum a correct crawl of pages 0..count-1 gives, from the generator's truth. */
export function expectedChecksum(site: SiteShape, count: number): string {
  const lines: string[] = [];
  for (let n = 0; n < count; n++) {
    const page = buildPage(site, n % site.pages);
    const { truth } = page;
    lines.push(
      digestLine(n, {
        ...truth,
        links: [...truth.links],
        finalUrl: truth.url,
        status: 200,
        contentType: page.contentType,
        bytes: page.body.length,
      }),
    );
  }
  return checksum(lines);
}

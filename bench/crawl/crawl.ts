// The crawler example at scale: 20,000 pages of the test site (its own process, 200–1000 ms of
// latency per page), crawled by `polyloop run` on one event loop (--workers 0: the same task code,
// a concurrency-limited loop on the main thread) and on every core. Reports pages/s, the speedup,
// where the CPU went (crawler, test site, everything else), checks every run's records against
// the site's truth, and keeps each mode's per-core chart (--chart) of its median run.
//
//   npm run bench:crawl -- [--pages 20000] [--latency 200-1000] [--runs 3] [--concurrency 1000]
//                          [--origins 8] [--workers N] [--wait-load 0.5]
//
// --concurrency: the one event loop's (`--workers 0` runs a fixed number of tasks at once); the
// workers run on polyloop's defaults, which find their own number.
//
// --wait-load L: before each run, wait (up to 5 minutes) until the 1-minute load average is at
// most L, so that other work on the machine, or the previous run, does not weigh on the next.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { spawnSite } from '../../examples/crawler/site/spawn.ts';
import { CpuWatch, loadAverage, machineBusySeconds, processCpuSeconds } from './crawl-cpu.ts';
import { type CrawlSummary, expectedChecksum, summarizeOutput } from './crawl-records.ts';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TASK = fileURLToPath(new URL('../../examples/crawler/task.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const { values } = parseArgs({
  options: {
    pages: { type: 'string', default: '20000' },
    latency: { type: 'string', default: '200-1000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1000' },
    origins: { type: 'string', default: '8' },
    workers: { type: 'string', default: String(availableParallelism()) },
    'wait-load': { type: 'string' },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`--${name}: an integer >= 0`);
  return value;
}

const PAGES = positive('pages', values.pages);
const [minLatency, maxLatency = minLatency] = values.latency.split('-');
const LATENCY: [number, number] = [
  positive('latency', minLatency),
  positive('latency', maxLatency),
];
const RUNS = positive('runs', values.runs);
const CONCURRENCY = positive('concurrency', values.concurrency);
const ORIGINS = positive('origins', values.origins);
const WORKERS = positive('workers', values.workers);
const WAIT_LOAD = values['wait-load'] === undefined ? undefined : Number(values['wait-load']);
if (WAIT_LOAD !== undefined && !(WAIT_LOAD > 0)) throw new TypeError('--wait-load: a number > 0');

type Mode = 'one-loop' | 'polyloop';
const LABEL: Record<Mode, string> = {
  'one-loop': 'one event loop',
  polyloop: `polyloop, ${WORKERS} workers`,
};

interface Measurement {
  readonly mode: Mode;
  readonly run: number;
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly summary: CrawlSummary;
  /** CPU seconds: the polyloop run process (all threads), the test site, all other processes. */
  readonly crawlerCpu: number | undefined;
  readonly siteCpu: number | undefined;
  readonly otherCpu: number | undefined;
  readonly loadBefore: number;
  readonly chart: string;
}

async function crawl(
  mode: Mode,
  run: number,
  work: string,
  urls: string,
  sitePid: number,
): Promise<Measurement> {
  const output = join(work, `${mode}.jsonl`);
  const chart = join(work, `${mode}-${run}.svg`);
  const args = [
    CLI,
    'run',
    TASK,
    '--input',
    urls,
    '--output',
    output,
    '--workers',
    mode === 'one-loop' ? '0' : String(WORKERS),
    ...(mode === 'one-loop' ? ['--concurrency', String(CONCURRENCY)] : []),
    '--chart',
    chart,
    '--quiet',
    '--overwrite',
  ];
  const loadBefore = loadAverage();
  const busyBefore = machineBusySeconds();
  const siteBefore = processCpuSeconds(sitePid);
  const start = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const watch = new CpuWatch(child.pid!);
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - start) / 1000;
  const crawlerCpu = watch.stop();
  const siteAfter = processCpuSeconds(sitePid);
  const busyAfter = machineBusySeconds();
  const siteCpu =
    siteBefore === undefined || siteAfter === undefined ? undefined : siteAfter - siteBefore;
  const otherCpu =
    busyBefore === undefined ||
    busyAfter === undefined ||
    crawlerCpu === undefined ||
    siteCpu === undefined
      ? undefined
      : Math.max(0, busyAfter - busyBefore - crawlerCpu - siteCpu);
  const summary = await summarizeOutput(output, PAGES);
  rmSync(output, { force: true });
  return {
    mode,
    run,
    seconds,
    exitCode,
    summary,
    crawlerCpu,
    siteCpu,
    otherCpu,
    loadBefore,
    chart,
  };
}

/** Waits until the 1-minute load average is at most `limit`, or 5 minutes have passed. */
async function settle(limit: number): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  while (loadAverage() > limit && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The run whose wall time is the median (the lower middle one for an even count). */
function medianRun(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[(sorted.length - 1) >> 1]!;
}

const cpu = (seconds: number | undefined) => (seconds === undefined ? '-' : seconds.toFixed(1));
const perPage = (seconds: number | undefined) =>
  seconds === undefined ? '-' : `${((seconds * 1000) / PAGES).toFixed(2)} ms`;

/** How much of the machine's CPU the median run used, crawler, site and others together. */
function busy(runs: Measurement[]): string {
  const m = medianRun(runs);
  if (m.crawlerCpu === undefined || m.siteCpu === undefined || m.otherCpu === undefined) return '-';
  const used = m.crawlerCpu + m.siteCpu + m.otherCpu;
  return `${Math.round((100 * used) / (m.seconds * cpus().length))} %`;
}
const rate = (m: Measurement) => Math.round(PAGES / m.seconds).toLocaleString('en-US');

async function main(): Promise<void> {
  if (RUNS < 1 || PAGES < 1 || WORKERS < 1) throw new TypeError('--runs, --pages, --workers: >= 1');
  const started = new Date();
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
  console.log(
    `${PAGES.toLocaleString('en-US')} pages, latency ${LATENCY.join('–')} ms; ${machine}`,
  );
  console.log(`load average before start: ${loadAverage()}`);

  const site = await spawnSite({ pages: PAGES, latencyMs: LATENCY, origins: ORIGINS });
  const work = mkdtempSync(join(tmpdir(), 'polyloop-crawl-'));
  const measurements: Measurement[] = [];
  let expected: string;
  try {
    const urls = join(work, 'urls.jsonl');
    const list = await request(`${site.url}/urls.jsonl?count=${PAGES}`);
    writeFileSync(urls, await list.body.text());
    expected = expectedChecksum(site, PAGES);

    for (let run = 1; run <= RUNS; run++) {
      for (const mode of ['one-loop', 'polyloop'] as const) {
        if (WAIT_LOAD !== undefined) await settle(WAIT_LOAD);
        process.stderr.write(`run ${run}/${RUNS}: ${LABEL[mode]}... `);
        const m = await crawl(mode, run, work, urls, site.child.pid!);
        measurements.push(m);
        const verdict = m.summary.checksum === expected ? 'records = truth' : 'RECORDS DIFFER';
        process.stderr.write(
          `${m.seconds.toFixed(1)} s, ${rate(m)} pages/s, ${m.summary.ok} ok, ${verdict} (load before ${m.loadBefore})\n`,
        );
      }
    }
  } finally {
    await site.stop();
  }

  const byMode = (mode: Mode) => measurements.filter((m) => m.mode === mode);
  const one = byMode('one-loop');
  const poly = byMode('polyloop');
  const oneSeconds = median(one.map((m) => m.seconds));
  const polySeconds = median(poly.map((m) => m.seconds));
  const allMatch = measurements.every((m) => m.summary.checksum === expected);

  mkdirSync(RESULTS, { recursive: true });
  const charts: Record<Mode, string> = {
    'one-loop': 'crawl-one-loop.svg',
    polyloop: 'crawl-polyloop.svg',
  };
  for (const mode of ['one-loop', 'polyloop'] as const) {
    copyFileSync(medianRun(byMode(mode)).chart, join(RESULTS, charts[mode]));
  }
  rmSync(work, { recursive: true, force: true });

  const medianOf = (runs: Measurement[], pick: (m: Measurement) => number | undefined) => {
    const known = runs.map(pick).filter((v): v is number => v !== undefined);
    return known.length === runs.length ? median(known) : undefined;
  };
  const summaryRows = [
    `| | ${LABEL['one-loop']} | ${LABEL.polyloop} |`,
    '|---|---:|---:|',
    `| wall time, median of ${RUNS} | ${oneSeconds.toFixed(1)} s | ${polySeconds.toFixed(1)} s |`,
    `| pages/s | ${Math.round(PAGES / oneSeconds)} | ${Math.round(PAGES / polySeconds)} |`,
    `| speedup | 1.00× | ${(oneSeconds / polySeconds).toFixed(2)}× |`,
    `| crawler CPU (core-seconds) | ${cpu(medianOf(one, (m) => m.crawlerCpu))} | ${cpu(medianOf(poly, (m) => m.crawlerCpu))} |`,
    `| test site CPU (its own process) | ${cpu(medianOf(one, (m) => m.siteCpu))} | ${cpu(medianOf(poly, (m) => m.siteCpu))} |`,
    `| other processes' CPU | ${cpu(medianOf(one, (m) => m.otherCpu))} | ${cpu(medianOf(poly, (m) => m.otherCpu))} |`,
    `| crawler CPU per page | ${perPage(medianOf(one, (m) => m.crawlerCpu))} | ${perPage(medianOf(poly, (m) => m.crawlerCpu))} |`,
    `| machine busy (all ${cpus().length} cores) | ${busy(one)} | ${busy(poly)} |`,
    `| every run's ${PAGES.toLocaleString('en-US')} records = the site's truth | ${one.every((m) => m.summary.checksum === expected) ? '✓' : '✗'} | ${poly.every((m) => m.summary.checksum === expected) ? '✓' : '✗'} |`,
  ];
  const runRows = [
    '| run | mode | wall time | pages/s | ok records | crawler CPU | site CPU | others CPU | load avg before |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...measurements.map(
      (m) =>
        `| ${m.run} | ${LABEL[m.mode]} | ${m.seconds.toFixed(1)} s | ${rate(m)} | ${m.summary.ok.toLocaleString('en-US')} | ${cpu(m.crawlerCpu)} | ${cpu(m.siteCpu)} | ${cpu(m.otherCpu)} | ${m.loadBefore.toFixed(2)} |`,
    ),
  ];
  const errors = measurements.filter((m) => Object.keys(m.summary.errors).length > 0);
  const report = [
    '# Crawl benchmark',
    '',
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}.`,
    `${PAGES.toLocaleString('en-US')} pages of the test site (${ORIGINS} origins, latency ${LATENCY.join('–')} ms per page, fixed per URL), crawled with`,
    `\`polyloop run examples/crawler/task.ts\`: \`--workers 0 --concurrency ${CONCURRENCY}\` (one event loop) and \`--workers ${WORKERS}\` on the defaults (the adaptive limit). Wall time of the whole command, start to exit.`,
    '',
    ...summaryRows,
    '',
    ...runRows,
    '',
    ...(errors.length > 0
      ? errors.map((m) => `Run ${m.run} ${m.mode} errors: ${JSON.stringify(m.summary.errors)}`)
      : ['No errors in any run.']),
    '',
    `Per-core charts (median run): [one event loop](${charts['one-loop']}), [polyloop](${charts.polyloop}).`,
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'crawl.md'), report);
  console.log(`\n${summaryRows.join('\n')}\n\n${runRows.join('\n')}\n`);
  console.log(`written: bench/crawl/results/crawl.md, ${charts['one-loop']}, ${charts.polyloop}`);
  if (!allMatch || measurements.some((m) => m.exitCode !== 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});

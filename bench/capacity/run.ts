/**
 * polyloop against a server with finite capacity (issue 16's benchmark): `polyloop run` of
 * task.js (Node's fetch, then a digest of the body) over N inputs, each run against a fresh
 * capacity server in its own process (capacity-server.ts), the client under `ulimit -n`, as a new
 * user's shell would have it. Settings: polyloop's defaults and fixed --concurrency values, the
 * same inputs, several runs, the settings' order rotated per run so a slow spell of a shared
 * machine does not always hit the same one. Scenarios:
 *   steady    a fixed capacity; requests past --backlog waiting are reset (ECONNRESET)
 *   deep      a fixed capacity, and a server that queues every request: the client runs out of
 *             descriptors first (EMFILE), as in the issue's runs
 *   changing  as steady, but the capacity halves, then recovers, on a schedule whose clock
 *             starts at the first request
 *
 *   npm run bench:capacity -- [--inputs 12000] [--runs 3] [--settings default,32,128,512,10000]
 *     [--scenarios steady,deep,changing] [--capacity 64] [--service-ms 40] [--backlog 256]
 *     [--schedule "0:64,2.5:32,5:64"] [--ulimit 1024] [--workers N] [--rounds 16]
 *     [--timeout-ms 10000] [--run-timeout 180] [--out FILE] [--quick]
 *
 * --quick: 2,400 inputs, 1 run, writes bench/out/capacity-quick.md (a smoke run of about a minute).
 * --settings: `default` passes no --concurrency (the adaptive limit); a number N passes
 *   --concurrency N --fixed-concurrency.
 * --schedule: seconds:capacity steps; the default halves the capacity a third of the way into
 *   the ideal run time (inputs × service time / capacity) and restores it at two thirds.
 * --timeout-ms: the task's own fetch timeout (a real client gives up at some point).
 * --run-timeout: seconds before a `polyloop run` is killed (its row then says so).
 *
 * Each cell of the table is over the runs: the wall time's median (and range), the median run's
 * records ok / failed (ranges over the runs), failure codes (the records' error.code, mean per
 * run), and the server's counts in the median run. Every ok record is checked against item.js (index and digest), and every
 * input must have exactly one record.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CapacityStats, ScheduleStep } from './capacity-server.ts';
import { parseSchedule } from './capacity-server.ts';
import { digest, itemBody } from './item.js';
import { spawnCapacityServer } from './spawn-server.ts';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TASK = fileURLToPath(new URL('./task.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const SCRATCH = fileURLToPath(new URL('../out/', import.meta.url));

const { values } = parseArgs({
  options: {
    inputs: { type: 'string' },
    runs: { type: 'string' },
    settings: { type: 'string', default: 'default,32,128,512,10000' },
    scenarios: { type: 'string', default: 'steady,deep,changing' },
    capacity: { type: 'string', default: '64' },
    'service-ms': { type: 'string', default: '40' },
    backlog: { type: 'string', default: '256' },
    schedule: { type: 'string' },
    ulimit: { type: 'string', default: '1024' },
    workers: { type: 'string', default: String(availableParallelism()) },
    rounds: { type: 'string', default: '16' },
    'timeout-ms': { type: 'string', default: '10000' },
    'run-timeout': { type: 'string', default: '180' },
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});

function count(name: string, text: string | undefined, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new TypeError(`--${name}: an integer >= ${min}`);
  return value;
}

const QUICK = values.quick;
const INPUTS = count('inputs', values.inputs ?? (QUICK ? '2400' : '12000'));
const RUNS = count('runs', values.runs ?? (QUICK ? '1' : '3'));
const CAPACITY = count('capacity', values.capacity);
const SERVICE_MS = Number(values['service-ms']);
if (!(SERVICE_MS >= 0)) throw new TypeError('--service-ms: a number >= 0');
const BACKLOG = count('backlog', values.backlog, 0);
const ULIMIT = count('ulimit', values.ulimit, 64);
const WORKERS = count('workers', values.workers);
const ROUNDS = count('rounds', values.rounds, 0);
const TIMEOUT_MS = count('timeout-ms', values['timeout-ms']);
const RUN_TIMEOUT_S = count('run-timeout', values['run-timeout']);
// A smoke run's table goes where git does not look (bench/out/), so it never replaces latest.md.
const OUT = values.out ?? (QUICK ? join(SCRATCH, 'capacity-quick.md') : join(RESULTS, 'latest.md'));

/** A setting: `default` passes no --concurrency; a number passes it. */
const SETTINGS = values.settings.split(',').map((text) => {
  if (text === 'default') return text;
  count('settings', text);
  return text;
});

type Scenario = 'steady' | 'deep' | 'changing';
const SCENARIO_TITLES: Record<Scenario, string> = {
  steady: `Steady capacity, backlog ${BACKLOG}`,
  deep: 'Steady capacity, no backlog limit (the client runs out of descriptors first)',
  changing: '', // set below, once the schedule is known
};
const SCENARIOS = values.scenarios.split(',').map((name) => {
  if (!(name in SCENARIO_TITLES)) throw new TypeError(`unknown scenario ${name}`);
  return name as Scenario;
});
/** polyloop's default --concurrency (per worker): the cap its adaptive limit stays under. */
const DEFAULT_CONCURRENCY = 10_000;
/** A backlog no client here can fill: `deep`'s server queues every request. */
const UNBOUNDED = 1_000_000_000;

/** The ideal run time at full capacity, in seconds: every slot busy from first to last input. */
const IDEAL_S = (INPUTS * SERVICE_MS) / CAPACITY / 1000;
const round1 = (x: number) => Math.round(x * 10) / 10;
const SCHEDULE: ScheduleStep[] = values.schedule
  ? parseSchedule(values.schedule)
  : [
      { atSeconds: 0, capacity: CAPACITY },
      { atSeconds: round1(IDEAL_S / 3), capacity: Math.max(1, CAPACITY >> 1) },
      { atSeconds: round1((2 * IDEAL_S) / 3), capacity: CAPACITY },
    ];
const scheduleText = SCHEDULE.map((s) => `${s.atSeconds}:${s.capacity}`).join(',');
SCENARIO_TITLES.changing = `Changing capacity, backlog ${BACKLOG} (${scheduleText}: seconds from the first request → capacity)`;

interface Measurement {
  readonly scenario: Scenario;
  readonly setting: string;
  readonly run: number;
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly killed: boolean;
  readonly ok: number;
  readonly failed: number;
  /** Inputs without a record (a killed run), or with more than one. */
  readonly missing: number;
  readonly codes: ReadonlyMap<string, number>;
  readonly server: CapacityStats | undefined;
  readonly load: number;
}

/** The inputs, one JSON line each, pointing at this run's server. */
function writeInputs(path: string, url: string): void {
  const lines: string[] = [];
  for (let i = 0; i < INPUTS; i++) {
    lines.push(
      JSON.stringify({ i, url: `${url}/item/${i}`, rounds: ROUNDS, timeoutMs: TIMEOUT_MS }),
    );
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const expected = new Map<number, string>();
function expectedDigest(i: number): string {
  let value = expected.get(i);
  if (value === undefined) {
    value = digest(itemBody(i), ROUNDS);
    expected.set(i, value);
  }
  return value;
}

interface RecordLine {
  readonly index: number;
  readonly value?: { i: number; digest: string };
  readonly error?: { code: string; message: string };
}

/** Counts the records; throws if an ok record's value is not the item's. */
function summarize(path: string): Pick<Measurement, 'ok' | 'failed' | 'missing' | 'codes'> {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No output file: every input is missing.
  }
  const seen = new Uint8Array(INPUTS);
  const codes = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  let extra = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const record = JSON.parse(line) as RecordLine;
    if (seen[record.index]) extra++;
    seen[record.index] = 1;
    if (record.error) {
      failed++;
      codes.set(record.error.code, (codes.get(record.error.code) ?? 0) + 1);
    } else {
      const value = record.value;
      if (value?.i !== record.index || value.digest !== expectedDigest(record.index)) {
        throw new Error(`record ${record.index} has a wrong value: ${line}`);
      }
      ok++;
    }
  }
  const missing = INPUTS - seen.reduce((sum, bit) => sum + bit, 0) + extra;
  return { ok, failed, missing, codes };
}

async function measure(
  scenario: Scenario,
  setting: string,
  run: number,
  work: string,
): Promise<Measurement> {
  const server = await spawnCapacityServer({
    capacity: CAPACITY,
    serviceMs: SERVICE_MS,
    backlog: scenario === 'deep' ? UNBOUNDED : BACKLOG,
    ...(scenario === 'changing' && { schedule: SCHEDULE }),
  });
  const input = join(work, 'in.jsonl');
  const output = join(work, 'out.jsonl');
  rmSync(output, { force: true });
  writeInputs(input, server.url);
  const cli = ['run', TASK, '-i', input, '-o', output, '--overwrite', '-q', '-w', String(WORKERS)];
  // A number is a fixed setting, as a user who knows their number sets it.
  if (setting !== 'default') cli.push('--concurrency', setting, '--fixed-concurrency');
  const load = loadavg()[0]!;
  let killed = false;
  let seconds: number;
  let exitCode: number | null;
  try {
    const start = performance.now();
    // `exec` keeps the shell out of the way: the signal on a timeout reaches node itself.
    const child = spawn(
      'sh',
      ['-c', `ulimit -n ${ULIMIT} && exec "$0" "$@"`, process.execPath, CLI, ...cli],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_S * 1000);
    [exitCode] = (await once(child, 'exit')) as [number | null];
    seconds = (performance.now() - start) / 1000;
    clearTimeout(timer);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const stats = await server.stop();
  const records = summarize(output);
  return { scenario, setting, run, seconds, exitCode, killed, ...records, server: stats, load };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (n: number) => n.toFixed(2);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The run whose wall time is the median (the lower middle one for an even count). */
function medianRun(runs: readonly Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** The cap on tasks in flight: --concurrency × workers; the defaults adapt below theirs. */
function inFlightCap(setting: string): string {
  if (setting === 'default') return `adaptive, ≤ ${fmt(DEFAULT_CONCURRENCY * WORKERS)}`;
  return `${fmt(Number(setting) * WORKERS)}, fixed`;
}

function codesCell(runs: readonly Measurement[]): string {
  const total = new Map<string, number>();
  for (const m of runs) {
    for (const [code, n] of m.codes) total.set(code, (total.get(code) ?? 0) + n);
  }
  if (total.size === 0) return '–';
  return [...total]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${fmt(n / runs.length)}`)
    .join(', ');
}

function range(values: readonly number[], show: (n: number) => string): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? show(lo) : `${show(lo)}–${show(hi)}`;
}

/** Mean requests at the server (in service + queued) in each phase of the schedule. */
function perPhase(stats: CapacityStats | undefined): string {
  if (!stats) return '?';
  return SCHEDULE.map((step, k) => {
    const end = SCHEDULE[k + 1]?.atSeconds ?? Number.POSITIVE_INFINITY;
    const samples = stats.timeline.filter(
      (s) => s.t >= step.atSeconds && s.t < end && s.inService + s.queued > 0,
    );
    if (samples.length === 0) return '–';
    const mean = samples.reduce((sum, s) => sum + s.inService + s.queued, 0) / samples.length;
    return fmt(mean);
  }).join(' / ');
}

function summaryTable(scenario: Scenario, all: readonly Measurement[]): string {
  const phases = scenario === 'changing';
  const header = [
    'setting',
    'tasks in flight, at most',
    'wall s, median (range)',
    'ok',
    'failed',
    'failure codes (mean per run)',
    'served',
    'reset',
    'peak queue',
    'mean latency ms',
    ...(phases ? [`at the server per phase (${scheduleText})`] : []),
  ];
  const rows = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const setting of SETTINGS) {
    const runs = all.filter((m) => m.scenario === scenario && m.setting === setting);
    if (runs.length === 0) continue;
    const m = medianRun(runs);
    const s = m.server;
    const killed = runs.filter((r) => r.killed).length;
    const cells = [
      setting === 'default' ? 'defaults' : `-c ${setting}`,
      inFlightCap(setting),
      `${secs(median(runs.map((r) => r.seconds)))} (${range(
        runs.map((r) => r.seconds),
        secs,
      )})${killed ? ` ⚠ ${killed} killed` : ''}`,
      range(
        runs.map((r) => r.ok),
        fmt,
      ),
      range(
        runs.map((r) => r.failed + r.missing),
        fmt,
      ),
      codesCell(runs),
      s ? fmt(s.served) : '?',
      s ? fmt(s.reset) : '?',
      s ? fmt(s.peakQueue) : '?',
      s && s.served > 0 ? fmt(s.latencySumMs / s.served) : '?',
      ...(phases ? [perPhase(s)] : []),
    ];
    rows.push(`| ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

function detailTable(all: readonly Measurement[]): string {
  const header = [
    'scenario',
    'run',
    'setting',
    'load',
    'wall s',
    'exit',
    'ok',
    'failed',
    'missing',
    'codes',
    'served',
    'reset',
    'abandoned',
    'peak conns',
  ];
  const rows = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const m of all) {
    const s = m.server;
    rows.push(
      `| ${[
        m.scenario,
        m.run,
        m.setting,
        m.load.toFixed(2),
        secs(m.seconds),
        m.killed ? 'killed' : String(m.exitCode),
        fmt(m.ok),
        fmt(m.failed),
        fmt(m.missing),
        codesCell([m]),
        s ? fmt(s.served) : '?',
        s ? fmt(s.reset) : '?',
        s ? fmt(s.abandoned) : '?',
        s ? fmt(s.peakConnections) : '?',
      ].join(' | ')} |`,
    );
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
  const loadStart = loadavg();
  const server = `capacity ${CAPACITY}, ${SERVICE_MS} ms per request, backlog ${BACKLOG}`;
  const client = `${fmt(INPUTS)} inputs, ${WORKERS} workers, ulimit -n ${ULIMIT}, fetch timeout ${TIMEOUT_MS} ms, digest ${ROUNDS} rounds`;
  console.log(`server: ${server}; client: ${client}; ${machine}`);
  console.log(`ideal time at full capacity: ${IDEAL_S.toFixed(2)} s`);
  const work = mkdtempSync(join(tmpdir(), 'polyloop-capacity-'));
  const all: Measurement[] = [];
  const started = performance.now();
  try {
    for (const scenario of SCENARIOS) {
      for (let run = 1; run <= RUNS; run++) {
        for (let k = 0; k < SETTINGS.length; k++) {
          const setting = SETTINGS[(run - 1 + k) % SETTINGS.length]!;
          process.stderr.write(`${scenario} run ${run}/${RUNS}, ${setting}: `);
          const m = await measure(scenario, setting, run, work);
          all.push(m);
          process.stderr.write(
            `${secs(m.seconds)} s, ok ${m.ok}, failed ${m.failed}, missing ${m.missing}` +
              ` (${codesCell([m])}); served ${m.server?.served ?? '?'}, reset ${m.server?.reset ?? '?'}` +
              `; load ${m.load.toFixed(2)}${m.killed ? ' KILLED' : ''}\n`,
          );
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const loads = all.map((m) => m.load);
  const minutes = (performance.now() - started) / 60_000;
  const sections = [
    `# polyloop against a server with finite capacity`,
    '',
    `${new Date().toISOString().slice(0, 16)}Z; ${machine}; ${minutes.toFixed(1)} min in all.`,
    `Server: ${server}, in its own process. Client: \`polyloop run bench/capacity/task.js\`, ${client}.`,
    `Ideal time at full capacity: ${IDEAL_S.toFixed(2)} s. ${RUNS} run(s) per setting, order rotated per run.`,
    `Load average (1 min) before the runs: ${loadStart.map((l) => l.toFixed(2)).join(' ')};` +
      ` before each run: ${range(loads, (l) => l.toFixed(2))}.`,
    '',
    '"tasks in flight, at most" is --concurrency × workers (the defaults adapt below it); "failed" counts error records and' +
      ' inputs with no record; served, reset, peak queue and latency (arrival to answer, at the' +
      " server) are the server's counts in the median run.",
  ];
  for (const scenario of SCENARIOS) {
    sections.push('', `## ${SCENARIO_TITLES[scenario]}`, '', summaryTable(scenario, all));
    if (scenario === 'changing') {
      sections.push(
        '',
        'The last column: mean requests at the server (in service + queued) in each phase, median run.',
      );
    }
  }
  sections.push('', '## Every run', '', detailTable(all), '');
  const report = sections.join('\n');
  console.log(`\n${report}`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, report);
  console.log(`written to ${OUT}`);
}

await main();

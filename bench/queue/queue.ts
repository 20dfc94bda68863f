/**
 * What the BullMQ queue costs per task: the same inputs through `polyloop run` (all cores), one
 * `polyloop worker` (all cores), and two `polyloop worker` processes with one worker each (two
 * "machines" on this one), each against a fresh queue on a throwaway redis-server.
 *
 *   npm run build && node --import tsx bench/queue/queue.ts [--runs 3] [--variants tiny,ms] [--quiet-below 0.3]
 *
 * Times are from spawning the command to its last task's end: `run` until it exits; the workers
 * until the last job's `finishedOn` in Redis (their exit, with --until-done, follows after a poll).
 * Enqueue and collect are timed on their own. Redis CPU is read from /proc (Linux), the polyloop
 * processes' CPU with GNU time; "others" is the rest of the machine's busy time meanwhile (other
 * work sharing the machine), in cores. --quiet-below C waits before each sample (up to 3 minutes)
 * for a 2-second spell in which the whole machine uses less than C cores.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { type RedisServer, startRedis } from '../../test/bullmq-redis.ts';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TASK = fileURLToPath(new URL('./queue-task.js', import.meta.url));
// GNU time measures a command's CPU, its threads included; without it the CPU column is empty.
const GNU_TIME = '/usr/bin/time';
const haveGnuTime = existsSync(GNU_TIME);
let timeFiles = 0;

interface Variant {
  readonly name: string;
  readonly inputs: number;
  /** Integers each task sums: 2,300 is about 1 µs here, 2,600,000 about 1 ms. */
  readonly n: number;
  readonly label: string;
}

const VARIANTS: Record<string, Variant> = {
  tiny: { name: 'tiny', inputs: 20_000, n: 2_300, label: '~1 µs of CPU' },
  ms: { name: 'ms', inputs: 4_000, n: 2_600_000, label: '~1 ms of CPU' },
};

type Contestant = 'run' | 'one worker' | 'two workers';
const CONTESTANTS: Contestant[] = ['run', 'one worker', 'two workers'];

interface Sample {
  /** Seconds from spawn to the last task's end. */
  readonly seconds: number;
  /** Redis CPU seconds spent meanwhile. */
  readonly redisCpu: number;
  /** CPU seconds of the polyloop process(es), their threads included (needs GNU time). */
  readonly cpu: number | undefined;
  readonly enqueueSeconds?: number;
  readonly collectSeconds?: number;
  readonly load: number;
  /** Cores' worth of CPU that other processes used during the sample. */
  readonly others: number | undefined;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'tiny,ms' },
    'quiet-below': { type: 'string' },
  },
});
const quietBelow = values['quiet-below'] === undefined ? undefined : Number(values['quiet-below']);
const runs = Number(values.runs);
const variants = values.variants.split(',').map((name) => {
  const variant = VARIANTS[name];
  if (!variant) throw new Error(`unknown variant ${name} (${Object.keys(VARIANTS).join(', ')})`);
  return variant;
});
const cores = availableParallelism();

const dir = mkdtempSync(join(tmpdir(), 'polyloop-queue-bench-'));
const redis = await startRedis();
let queueNumber = 0;
try {
  console.log(`# polyloop over BullMQ vs polyloop run (${cores} cores, Node ${process.version})`);
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  for (const variant of variants) {
    const input = join(dir, `${variant.name}.jsonl`);
    writeFileSync(
      input,
      Array.from({ length: variant.inputs }, (_, i) => `{"i":${i},"n":${variant.n}}\n`).join(''),
    );
    await measureRun(variant, input); // warm-up: disk cache, JIT of the CLI's own code
    const samples = new Map<Contestant, Sample[]>(CONTESTANTS.map((c) => [c, []]));
    for (let run = 0; run < runs; run++) {
      // Rotate the order so a slow spell of the shared machine does not always hit the same one.
      for (let k = 0; k < CONTESTANTS.length; k++) {
        const contestant = CONTESTANTS[(run + k) % CONTESTANTS.length]!;
        if (quietBelow !== undefined) await waitForQuiet(quietBelow);
        const sample =
          contestant === 'run'
            ? await measureRun(variant, input)
            : await measureWorkers(variant, input, contestant === 'one worker' ? 1 : 2);
        samples.get(contestant)!.push(sample);
        process.stderr.write(
          `${variant.name} run ${run + 1} ${contestant}: ${sample.seconds.toFixed(2)} s ` +
            `(load ${sample.load.toFixed(2)}, others ${sample.others?.toFixed(2) ?? '?'} cores)\n`,
        );
      }
    }
    report(variant, samples);
  }
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

async function measureRun(variant: Variant, input: string): Promise<Sample> {
  const output = join(dir, 'run-out.jsonl');
  const load = loadavg()[0]!;
  const cpu = redisCpuSeconds(redis);
  const busy = machineBusySeconds();
  const started = performance.now();
  const processCpu = await exec([
    'run',
    TASK,
    '-i',
    input,
    '-o',
    output,
    '--overwrite',
    '-q',
    '--workers',
    String(cores),
  ]);
  const seconds = (performance.now() - started) / 1000;
  const redisCpu = redisCpuSeconds(redis) - cpu;
  const others = othersCores(machineBusySeconds() - busy, processCpu, redisCpu, seconds);
  checkOutput(output, variant);
  return { seconds, redisCpu, cpu: processCpu, load, others };
}

async function measureWorkers(variant: Variant, input: string, machines: 1 | 2): Promise<Sample> {
  const name = `bench-${++queueNumber}`;
  const target = ['--redis', redis.url, '--queue', name];
  const enqueueStarted = performance.now();
  await exec(['enqueue', ...target, '-i', input, '-q']);
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;

  const load = loadavg()[0]!;
  const cpu = redisCpuSeconds(redis);
  // One machine gets every core; two share them, one worker each.
  const workers = machines === 1 ? cores : Math.max(1, Math.floor(cores / 2));
  const busy = machineBusySeconds();
  const started = performance.now();
  const startedAt = Date.now();
  const cpus = await Promise.all(
    Array.from({ length: machines }, () =>
      exec(['worker', TASK, ...target, '--workers', String(workers), '--until-done', '-q']),
    ),
  );
  const processCpu = cpus.some((c) => c === undefined)
    ? undefined
    : cpus.reduce((sum: number, c) => sum + c!, 0);
  const redisCpu = redisCpuSeconds(redis) - cpu;
  const others = othersCores(
    machineBusySeconds() - busy,
    processCpu,
    redisCpu,
    (performance.now() - started) / 1000,
  );
  const seconds = ((await lastFinishedOn(name)) - startedAt) / 1000;

  const output = join(dir, 'collect-out.jsonl');
  const collectStarted = performance.now();
  await exec(['collect', ...target, '-o', output, '-q']);
  const collectSeconds = (performance.now() - collectStarted) / 1000;
  checkOutput(output, variant);
  return { seconds, redisCpu, cpu: processCpu, enqueueSeconds, collectSeconds, load, others };
}

/** The latest `finishedOn` (ms since the epoch) of the queue's completed jobs. */
async function lastFinishedOn(name: string): Promise<number> {
  const queue = new Queue(name, { connection: { url: redis.url } });
  try {
    const [newest] = await queue.getJobs(['completed'], 0, 0, false);
    if (!newest?.finishedOn) throw new Error(`queue ${name} has no completed job`);
    return newest.finishedOn;
  } finally {
    await queue.close();
  }
}

function checkOutput(path: string, variant: Variant): void {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const seen = new Set<number>();
  for (const line of lines) {
    const record = JSON.parse(line) as { index: number; value?: unknown };
    if (!('value' in record)) throw new Error(`error record: ${line}`);
    seen.add(record.index);
  }
  if (lines.length !== variant.inputs || seen.size !== variant.inputs) {
    throw new Error(
      `${path}: ${lines.length} records, ${seen.size} indexes, ${variant.inputs} inputs`,
    );
  }
}

/** Runs a polyloop command; resolves with its CPU seconds (threads included), when measurable. */
function exec(args: string[]): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const cpuFile = join(dir, `cpu-${++timeFiles}.txt`);
    const command = haveGnuTime
      ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, process.execPath, CLI, ...args]
      : [process.execPath, CLI, ...args];
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.once('close', (code) => {
      // `run` exits 1 when some inputs failed; checkOutput says which.
      if (code === 0 || code === 1) resolve(haveGnuTime ? cpuSeconds(cpuFile) : undefined);
      else reject(new Error(`polyloop ${args.join(' ')} exited ${code}:\n${stderr}`));
    });
  });
}

function cpuSeconds(file: string): number {
  const [user, system] = readFileSync(file, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return (user ?? Number.NaN) + (system ?? Number.NaN);
}

/** Busy CPU seconds of the whole machine so far, all cores (Linux /proc/stat, in USER_HZ = 100). */
function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Cores' worth of CPU used by everything but the measured processes and Redis. */
function othersCores(
  busy: number,
  processCpu: number | undefined,
  redisCpu: number,
  seconds: number,
): number | undefined {
  if (processCpu === undefined) return undefined;
  return Math.max(0, busy - processCpu - redisCpu) / seconds;
}

/** Waits (up to 3 minutes) for 2 seconds in which the machine uses fewer than `cores` cores. */
async function waitForQuiet(cores: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if ((machineBusySeconds() - before) / 2 < cores) return;
  }
  process.stderr.write(
    `the machine did not get below ${cores} busy cores in 3 minutes: measuring anyway\n`,
  );
}

/** utime + stime of the redis-server process, in seconds (Linux /proc). */
function redisCpuSeconds(server: RedisServer): number {
  const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted after the command name: utime and stime, in ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function report(variant: Variant, samples: Map<Contestant, Sample[]>): void {
  const title = `${variant.inputs.toLocaleString('en-US')} tasks of ${variant.label}`;
  console.log(`\n## ${variant.name}: ${title}\n`);
  console.log(
    '| command | wall time (median, min–max) | tasks/s | CPU per task: polyloop + Redis | of which Redis | enqueue | collect | others (cores) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const contestant of CONTESTANTS) {
    const list = samples.get(contestant)!;
    const seconds = list.map((s) => s.seconds);
    const time = median(seconds);
    const perTask = (value: number) => `${((value * 1e6) / variant.inputs).toFixed(0)} µs`;
    const medianOf = (pick: (s: Sample) => number | undefined) => {
      const picked = list.map(pick).filter((v): v is number => v !== undefined);
      return picked.length === 0 ? undefined : median(picked);
    };
    const cpu = medianOf((s) => (s.cpu === undefined ? undefined : s.cpu + s.redisCpu));
    const enqueue = medianOf((s) => s.enqueueSeconds);
    const collect = medianOf((s) => s.collectSeconds);
    const command =
      contestant === 'run'
        ? `polyloop run --workers ${cores}`
        : contestant === 'one worker'
          ? `one polyloop worker --workers ${cores}`
          : `two polyloop worker --workers ${Math.max(1, Math.floor(cores / 2))}`;
    const cells = [
      command,
      `${time.toFixed(2)} s (${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)})`,
      Math.round(variant.inputs / time).toLocaleString('en-US'),
      cpu === undefined ? '—' : perTask(cpu),
      contestant === 'run' ? '—' : perTask(medianOf((s) => s.redisCpu) ?? 0),
      enqueue === undefined ? '—' : `${enqueue.toFixed(2)} s`,
      collect === undefined ? '—' : `${collect.toFixed(2)} s`,
      medianOf((s) => s.others)?.toFixed(2) ?? '—',
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

/**
 * What the BullMQ queue costs per task: the same inputs through `polyloop run` (all cores), one
 * `polyloop worker` (all cores), and two `polyloop worker` processes with one pool worker each (two
 * "machines" on this one), the queue ones at `--chunk 1` (one job per input) and at the default
 * chunk, each against a fresh queue on a throwaway redis-server.
 *
 *   npm run build && node --import tsx bench/queue/queue.ts [--runs 3] [--variants tiny,tiny10,ms]
 *     [--starts cold,waiting] [--quiet-below 0.3] [--max-others 0.15] [--cli PATH/cli/main.js]
 *   npm run build && node --import tsx bench/queue/queue.ts --scale [--runs 1] [--quiet-below 0.3]
 *
 * A queue sample is timed from spawning `enqueue` to the exit of `collect --follow -o FILE` (the
 * last record written; the output is checked: one record per input), the worker(s) running with
 * `--until-done`; they are started in one of two ways (--starts, default both):
 *   cold     `enqueue`, the worker(s) and `collect` spawned at the same time, as one would from a
 *            shell: the wall time includes the start-up of all of them (on two cores, three
 *            or four processes loading BullMQ at once);
 *   waiting  the worker(s) and `collect` started first, as long-running services would be, and
 *            waited for until Redis shows them ready — `collect` has made its first look at the
 *            queue, each worker is blocked in BZPOPMIN for a job (`Queue.getWorkers()`: its pool
 *            is up, BullMQ connected) — then `enqueue` is spawned and the clock starts. This is
 *            the issue's "from the first enqueue to the last record collected".
 * A worker started on an empty queue waits with `--until-done`: it exits only once enqueue has
 * noted its input count and every job has finished. Also noted: when the enqueue exited and
 * when the last job finished (its `finishedOn` in Redis). `run`'s wall time is its whole run.
 * "× run" is this sample's rate over the rate of `run` on the same inputs in the same round.
 * CPU: each polyloop process over its whole life (start-up included) with GNU time (threads
 * included), Redis from /proc (Linux); "others" is the rest of the machine's busy time from the
 * first spawn to the last exit (other work sharing the machine), in cores. --quiet-below C
 * waits before each sample (up to 3 minutes) for a 2-second spell in which the whole machine uses
 * less than C cores; --max-others C measures a sample again (3 tries in all) when other work used
 * more than C cores during it. --cli runs another build's CLI (a change against its base).
 *
 * --scale: 200,000 and 1,000,000 tiny inputs at the default chunk, one phase after the other:
 * enqueue (wall, peak RSS), one worker running them all, collect (wall, peak RSS): is the
 * memory of enqueue and collect flat in the number of inputs?
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { type RedisServer, startRedis } from '../../test/bullmq-redis.ts';
import { clientIds, newClientLooking } from './redis-clients.ts';

const TASK = fileURLToPath(new URL('./queue-task.js', import.meta.url));
// GNU time measures a command's CPU, its threads included, and its peak RSS; without it the CPU
// columns are empty.
const GNU_TIME = '/usr/bin/time';
const haveGnuTime = existsSync(GNU_TIME);
/** `enqueue`'s default `--chunk`. */
const DEFAULT_CHUNK = 256;
let timeFiles = 0;

interface Variant {
  readonly name: string;
  readonly inputs: number;
  /** Inputs of the `--chunk 1` samples (a job per input costs ~0.35 ms: fewer of them). */
  readonly chunk1Inputs: number;
  /**
   * Integers each task sums. Measured in a pool thread (`polyloop run --workers 1`, CPU over
   * n = 0): 2,300 is 1.2 µs, 18,000 is 9.8 µs, 2,100,000 is 1.0 ms.
   */
  readonly n: number;
  readonly label: string;
}

const VARIANTS: Record<string, Variant> = {
  tiny: { name: 'tiny', inputs: 200_000, chunk1Inputs: 20_000, n: 2_300, label: '~1 µs' },
  tiny10: { name: 'tiny10', inputs: 200_000, chunk1Inputs: 20_000, n: 18_000, label: '~10 µs' },
  ms: { name: 'ms', inputs: 12_000, chunk1Inputs: 12_000, n: 2_100_000, label: '~1 ms' },
};

interface Contestant {
  readonly label: string;
  /** 0 for `polyloop run`, else the number of worker processes. */
  readonly machines: 0 | 1 | 2;
  readonly chunk: number;
  readonly inputs: number;
  /** `worker --prefetch`, when not the default. */
  readonly prefetch?: number;
  /** How the queue processes start (see the header); none for `run`. */
  readonly start?: Start;
}

type Start = 'cold' | 'waiting';
const STARTS: readonly Start[] = ['cold', 'waiting'];
/** The longest wait for the worker(s) and collect of a `waiting` sample to show up ready. */
const READY_WITHIN_MS = 60_000;
/** How often Redis is asked whether they are ready. */
const READY_POLL_MS = 10;

/** What GNU time says of one process. */
interface Usage {
  readonly cpu: number | undefined;
  /** Peak resident set, MB. */
  readonly rssMb: number | undefined;
  /** When it exited (`performance.now()`, ms). */
  readonly exited: number;
}

interface Sample {
  /** Seconds from spawning `run`, or `enqueue`, to the last record written. */
  readonly seconds: number;
  /** CPU seconds of `run`, or of enqueue / the workers / collect; Redis's meanwhile. */
  readonly cpu: {
    run?: number;
    enqueue?: number;
    workers?: number;
    collect?: number;
    redis: number;
  };
  /**
   * Seconds from spawning `enqueue` to its exit, to the start (`processedOn`) of the job that
   * finished first, and to the last job's `finishedOn`.
   */
  readonly enqueued?: number;
  readonly firstJob?: number;
  readonly lastJob?: number;
  /** 1-minute load average at the start. */
  readonly load: number;
  /** Cores' worth of CPU that other processes used during the sample. */
  readonly others: number | undefined;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'tiny,tiny10,ms' },
    starts: { type: 'string', default: STARTS.join(',') },
    'quiet-below': { type: 'string' },
    scale: { type: 'boolean', default: false },
    'max-others': { type: 'string' },
    cli: { type: 'string' },
  },
});
// Another build's CLI (`tsc -p tsconfig.build.json --outDir bench/out/dist-b`), to measure a
// change against the code it changes.
const CLI = values.cli ?? fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const maxOthers = values['max-others'] === undefined ? undefined : Number(values['max-others']);
const quietBelow = values['quiet-below'] === undefined ? undefined : Number(values['quiet-below']);
const runs = Number(values.runs);
const variants = values.variants.split(',').map((name) => {
  const variant = VARIANTS[name];
  if (!variant) throw new Error(`unknown variant ${name} (${Object.keys(VARIANTS).join(', ')})`);
  return variant;
});
const starts = values.starts.split(',').map((name) => {
  if (!STARTS.includes(name as Start)) throw new Error(`unknown start ${name} (${STARTS})`);
  return name as Start;
});
const cores = availableParallelism();
const halfCores = Math.max(1, Math.floor(cores / 2));

const dir = mkdtempSync(join(tmpdir(), 'polyloop-queue-bench-'));
const redis = await startRedis();
let queueNumber = 0;
try {
  console.log(`# polyloop over BullMQ vs polyloop run (${cores} cores, Node ${process.version})`);
  console.log(`${new Date().toISOString()}, load average at start: ${loadText()}\n`);
  if (values.scale) await scale();
  else for (const variant of variants) await compare(variant);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function contestantsOf(variant: Variant): Contestant[] {
  const { inputs, chunk1Inputs } = variant;
  const list: Contestant[] = [
    { label: `polyloop run --workers ${cores}`, machines: 0, chunk: 0, inputs },
  ];
  if (chunk1Inputs !== inputs) {
    list.push({
      label: `polyloop run --workers ${cores}`,
      machines: 0,
      chunk: 0,
      inputs: chunk1Inputs,
    });
  }
  for (const chunk of [1, DEFAULT_CHUNK]) {
    const count = chunk === 1 ? chunk1Inputs : inputs;
    for (const start of starts) {
      list.push({
        label: `one polyloop worker --workers ${cores}`,
        machines: 1,
        chunk,
        inputs: count,
        start,
      });
      list.push({
        label: `two polyloop worker --workers ${halfCores}`,
        machines: 2,
        chunk,
        inputs: count,
        start,
      });
    }
  }
  // The first worker up takes the chunks of a short list before the second is up: --prefetch 2
  // shows what holding fewer would give. Cold only: workers already waiting start together.
  if (starts.includes('cold')) {
    list.push({
      label: `two polyloop worker --workers ${halfCores} --prefetch 2`,
      machines: 2,
      chunk: DEFAULT_CHUNK,
      inputs,
      prefetch: 2,
      start: 'cold',
    });
  }
  return list;
}

async function compare(variant: Variant): Promise<void> {
  const contestants = contestantsOf(variant);
  const files = new Map<number, string>();
  for (const count of new Set(contestants.map((c) => c.inputs))) {
    files.set(count, await writeInputs(variant, count));
  }
  const runOf = (c: Contestant) =>
    contestants.find((r) => r.machines === 0 && r.inputs === c.inputs)!;
  // Warm-up: disk cache, JIT of the CLI's own code, redis-server's first allocations.
  await measureRun(files.get(variant.inputs)!, variant.inputs);
  await measureQueue(files.get(variant.chunk1Inputs)!, {
    label: 'warm-up',
    machines: 1,
    chunk: DEFAULT_CHUNK,
    inputs: variant.chunk1Inputs,
    start: 'cold',
  });
  const samples = new Map<Contestant, Sample[]>(contestants.map((c) => [c, []]));
  const ratios = new Map<Contestant, number[]>(contestants.map((c) => [c, []]));
  for (let run = 0; run < runs; run++) {
    const round = new Map<Contestant, Sample>();
    // Rotate the order so a slow spell of the shared machine does not always hit the same one.
    for (let k = 0; k < contestants.length; k++) {
      const contestant = contestants[(run + k) % contestants.length]!;
      const file = files.get(contestant.inputs)!;
      let sample: Sample;
      for (let attempt = 1; ; attempt++) {
        if (quietBelow !== undefined) await waitForQuiet(quietBelow);
        sample =
          contestant.machines === 0
            ? await measureRun(file, contestant.inputs)
            : await measureQueue(file, contestant);
        // Other work took cores during the sample: measure again (up to 3 times in all).
        if (maxOthers === undefined || (sample.others ?? 0) <= maxOthers || attempt === 3) break;
        process.stderr.write(
          `  (others ${sample.others?.toFixed(2)} cores over ${sample.seconds.toFixed(2)} s: again)\n`,
        );
      }
      samples.get(contestant)!.push(sample);
      round.set(contestant, sample);
      process.stderr.write(
        `${variant.name} run ${run + 1} ${contestant.label} chunk ${contestant.chunk || '-'} ` +
          `${contestant.start ?? ''} ` +
          `${contestant.inputs}: ${sample.seconds.toFixed(2)} s ` +
          `(load ${sample.load.toFixed(2)}, others ${sample.others?.toFixed(2) ?? '?'} cores)\n`,
      );
    }
    for (const contestant of contestants) {
      ratios
        .get(contestant)!
        .push(round.get(runOf(contestant))!.seconds / round.get(contestant)!.seconds);
    }
  }
  report(variant, contestants, samples, ratios);
}

async function writeInputs(variant: Variant, count: number): Promise<string> {
  const path = join(dir, `${variant.name}-${count}.jsonl`);
  const out = createWriteStream(path);
  for (let i = 0; i < count; i += 10_000) {
    let lines = '';
    for (let j = i; j < Math.min(count, i + 10_000); j++) lines += `{"i":${j},"n":${variant.n}}\n`;
    if (!out.write(lines)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
  return path;
}

async function measureRun(input: string, inputs: number): Promise<Sample> {
  const output = join(dir, 'run-out.jsonl');
  const load = loadavg()[0]!;
  const redisBefore = redisCpuSeconds(redis);
  const busy = machineBusySeconds();
  const started = performance.now();
  const usage = await exec([
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
  const seconds = (usage.exited - started) / 1000;
  const redisCpu = redisCpuSeconds(redis) - redisBefore;
  const others = othersCores(machineBusySeconds() - busy, [usage.cpu], redisCpu, seconds);
  checkOutput(output, inputs);
  return { seconds, cpu: { run: usage.cpu, redis: redisCpu }, load, others };
}

async function measureQueue(input: string, contestant: Contestant): Promise<Sample> {
  const { inputs, machines, chunk } = contestant;
  if (machines === 0) throw new Error('not a queue contestant');
  const prefetch =
    contestant.prefetch === undefined ? [] : ['--prefetch', String(contestant.prefetch)];
  const name = `bench-${++queueNumber}`;
  const target = ['--redis', redis.url, '--queue', name];
  const output = join(dir, 'collect-out.jsonl');
  // One machine gets every core; two share them, one pool worker each.
  const workers = machines === 1 ? cores : halfCores;
  const load = loadavg()[0]!;
  const redisBefore = redisCpuSeconds(redis);
  const busy = machineBusySeconds();
  const firstSpawn = performance.now();
  const startWorkers = () =>
    Array.from({ length: machines }, () =>
      exec([
        'worker',
        TASK,
        ...target,
        '--workers',
        String(workers),
        ...prefetch,
        '--until-done',
        '-q',
      ]),
    );
  const startCollect = () => exec(['collect', ...target, '--follow', '-o', output, '-q']);
  let collect: Promise<Usage>;
  let workerRuns: Promise<Usage>[];
  if (contestant.start === 'waiting') {
    // Services already up when the work comes: collect, then the worker(s), each seen ready in
    // Redis (one at a time, so that a new connection is known to be collect's).
    const probe = new Queue(name, { connection: { url: redis.url } });
    try {
      // The probe's own connection is among them.
      const before = await clientIds(probe);
      collect = startCollect();
      await untilReady(() => newClientLooking(probe, before), [collect]);
      workerRuns = startWorkers();
      await untilReady(() => workersWaiting(probe, machines), [collect, ...workerRuns]);
    } finally {
      await probe.close();
    }
  }
  const started = performance.now();
  const startedAt = Date.now();
  const enqueue = exec(['enqueue', ...target, '-i', input, '--chunk', String(chunk), '-q']);
  workerRuns ??= startWorkers();
  collect ??= startCollect();
  const collected = await collect;
  const seconds = (collected.exited - started) / 1000;
  const [enqueued, ...workerUsages] = await Promise.all([enqueue, ...workerRuns]);
  const all = [enqueued!, ...workerUsages, collected];
  const lastExit = Math.max(...all.map((u) => u.exited));
  const redisCpu = redisCpuSeconds(redis) - redisBefore;
  // Over the processes' whole lives, start-up included, as their CPU is.
  const others = othersCores(
    machineBusySeconds() - busy,
    all.map((u) => u.cpu),
    redisCpu,
    (lastExit - firstSpawn) / 1000,
  );
  const times = await jobTimes(name);
  const lastJob = (times.lastFinished - startedAt) / 1000;
  const firstJob = (times.firstStarted - startedAt) / 1000;
  checkOutput(output, inputs);
  await obliterate(name);
  return {
    seconds,
    cpu: {
      enqueue: enqueued!.cpu,
      workers: sum(workerUsages.map((u) => u.cpu)),
      collect: collected.cpu,
      redis: redisCpu,
    },
    enqueued: (enqueued!.exited - started) / 1000,
    firstJob,
    lastJob,
    load,
    others,
  };
}

/**
 * Whether `count` workers of the queue are blocked waiting for a job (BullMQ's `getWorkers()`
 * lists their named blocking connections; BZPOPMIN is the wait). A worker's pool is up by then:
 * its BullMQ worker is created once the pool is ready.
 */
async function workersWaiting(probe: Queue, count: number): Promise<boolean> {
  const listed = await probe.getWorkers();
  return listed.filter((w) => w.cmd === 'bzpopmin').length >= count;
}

/**
 * Asks Redis every READY_POLL_MS until `isReady`; fails if one of the processes exits first, or
 * after READY_WITHIN_MS.
 */
async function untilReady(
  isReady: () => Promise<boolean>,
  processes: readonly Promise<Usage>[],
): Promise<void> {
  let exited = false;
  for (const child of processes) {
    child.then(
      () => {
        exited = true;
      },
      () => {
        exited = true;
      },
    );
  }
  const deadline = performance.now() + READY_WITHIN_MS;
  while (!(await isReady())) {
    if (exited) throw new Error('a queue process exited before it was ready');
    if (performance.now() > deadline) throw new Error(`not ready in ${READY_WITHIN_MS} ms`);
    await delay(READY_POLL_MS);
  }
}

/** The sum, or undefined if one is unknown. */
function sum(list: readonly (number | undefined)[]): number | undefined {
  return list.some((v) => v === undefined) ? undefined : list.reduce((a: number, v) => a + v!, 0);
}

/**
 * The latest `finishedOn` of the queue's completed jobs, and the `processedOn` of the one that
 * finished first (about when the first job started), in ms since the epoch.
 */
async function jobTimes(name: string): Promise<{ firstStarted: number; lastFinished: number }> {
  const queue = new Queue(name, { connection: { url: redis.url } });
  try {
    // Completed jobs are a sorted set by finishedOn.
    const [newest] = await queue.getJobs(['completed'], 0, 0, false);
    const [oldest] = await queue.getJobs(['completed'], 0, 0, true);
    if (!newest?.finishedOn || !oldest?.processedOn) {
      throw new Error(`queue ${name} has no completed job`);
    }
    return { firstStarted: oldest.processedOn, lastFinished: newest.finishedOn };
  } finally {
    await queue.close();
  }
}

/** Empties a queue (outside the timed part), so Redis does not grow over the samples. */
async function obliterate(name: string): Promise<void> {
  const queue = new Queue(name, { connection: { url: redis.url } });
  try {
    await queue.obliterate({ force: true });
    const client = await queue.client;
    await client.del(queue.toKey('polyloop'));
  } finally {
    await queue.close();
  }
}

/** Redis's used memory, MB. */
async function redisMemoryMb(): Promise<number> {
  const queue = new Queue('bench-info', { connection: { url: redis.url } });
  try {
    // ioredis takes a section; BullMQ's client type does not say so.
    const client = (await queue.client) as unknown as { info(section: string): Promise<string> };
    const info = await client.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1]) / 1e6;
  } finally {
    await queue.close();
  }
}

function checkOutput(path: string, inputs: number): void {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const seen = new Set<number>();
  for (const line of lines) {
    const record = JSON.parse(line) as { index: number; value?: unknown };
    if (!('value' in record)) throw new Error(`error record: ${line}`);
    seen.add(record.index);
  }
  if (lines.length !== inputs || seen.size !== inputs) {
    throw new Error(`${path}: ${lines.length} records, ${seen.size} indexes, ${inputs} inputs`);
  }
}

/** Runs a polyloop command; resolves with its CPU seconds (threads included) and peak RSS. */
function exec(args: string[]): Promise<Usage> {
  return new Promise((resolve, reject) => {
    const timeFile = join(dir, `time-${++timeFiles}.txt`);
    const command = haveGnuTime
      ? [GNU_TIME, '-f', '%U %S %M', '-o', timeFile, process.execPath, CLI, ...args]
      : [process.execPath, CLI, ...args];
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.once('close', (code) => {
      const exited = performance.now();
      // `run` and `collect` exit 1 when some inputs failed; checkOutput says which.
      if (code !== 0 && code !== 1) {
        reject(new Error(`polyloop ${args.join(' ')} exited ${code}:\n${stderr}`));
        return;
      }
      if (!haveGnuTime) {
        resolve({ cpu: undefined, rssMb: undefined, exited });
        return;
      }
      const [user, system, rssKb] = readFileSync(timeFile, 'utf8')
        .trim()
        .split(/\s+/)
        .slice(-3)
        .map(Number);
      resolve({ cpu: user! + system!, rssMb: rssKb! / 1024, exited });
    });
  });
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
  processCpu: readonly (number | undefined)[],
  redisCpu: number,
  seconds: number,
): number | undefined {
  const measured = sum(processCpu);
  if (measured === undefined) return undefined;
  return Math.max(0, busy - measured - redisCpu) / seconds;
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

/** Median and min–max of the known values, or undefined if none is known. */
function spread(
  list: readonly (number | undefined)[],
): { mid: number; lo: number; hi: number } | undefined {
  const known = list.filter((v): v is number => v !== undefined);
  if (known.length === 0) return undefined;
  return { mid: median(known), lo: Math.min(...known), hi: Math.max(...known) };
}

function report(
  variant: Variant,
  contestants: readonly Contestant[],
  samples: Map<Contestant, Sample[]>,
  ratios: Map<Contestant, number[]>,
): void {
  const count = (n: number) => n.toLocaleString('en-US');
  console.log(`\n## ${variant.name}: tasks of ${variant.label} of CPU (n = ${count(variant.n)})\n`);
  console.log(
    '| command | start | chunk | inputs | wall: enqueue spawned → last record | inputs/s | × run | enqueue exited | first job started | last job done | CPU per input: all | of which Redis | load | others (cores) |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const breakdown: string[] = [];
  for (const contestant of contestants) {
    const list = samples.get(contestant)!;
    const isRun = contestant.machines === 0;
    const wall = spread(list.map((s) => s.seconds))!;
    const ratio = spread(ratios.get(contestant)!)!;
    const perInput = (value: number | undefined) =>
      value === undefined ? '—' : `${count(Math.round((value * 1e6) / contestant.inputs))} µs`;
    const total = spread(
      list.map((s) =>
        isRun
          ? sum([s.cpu.run, s.cpu.redis])
          : sum([s.cpu.enqueue, s.cpu.workers, s.cpu.collect, s.cpu.redis]),
      ),
    );
    const seconds = (value: { mid: number } | undefined) =>
      value === undefined ? '—' : `${value.mid.toFixed(2)} s`;
    const cells = [
      isRun ? `\`${contestant.label}\`` : `${contestant.label.replace(/^(one|two) /, '$1 `')}\``,
      contestant.start ?? '—',
      isRun ? '—' : String(contestant.chunk),
      count(contestant.inputs),
      `${wall.mid.toFixed(2)} s (${wall.lo.toFixed(2)}–${wall.hi.toFixed(2)})`,
      count(Math.round(contestant.inputs / wall.mid)),
      isRun ? '1' : `${ratio.mid.toFixed(2)} (${ratio.lo.toFixed(2)}–${ratio.hi.toFixed(2)})`,
      seconds(spread(list.map((s) => s.enqueued))),
      seconds(spread(list.map((s) => s.firstJob))),
      seconds(spread(list.map((s) => s.lastJob))),
      perInput(total?.mid),
      isRun ? '—' : perInput(spread(list.map((s) => s.cpu.redis))?.mid),
      spread(list.map((s) => s.load))!.mid.toFixed(2),
      spread(list.map((s) => s.others))?.mid.toFixed(2) ?? '—',
    ];
    console.log(`| ${cells.join(' | ')} |`);
    if (!isRun) {
      const part = (pick: (s: Sample) => number | undefined) =>
        perInput(spread(list.map(pick))?.mid);
      breakdown.push(
        `| ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[10]} | ${part((s) => s.cpu.enqueue)} | ${part((s) => s.cpu.workers)} | ${part((s) => s.cpu.collect)} | ${part((s) => s.cpu.redis)} |`,
      );
    } else {
      breakdown.push(
        `| ${cells[0]} (${count(contestant.inputs)}) | — | — | ${cells[10]} | — | ${cells[10]} | — | — |`,
      );
    }
  }
  console.log('\nCPU per input by process (medians):\n');
  console.log('| command | start | chunk | all | enqueue | worker(s) / run | collect | Redis |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const line of breakdown) console.log(line);
}

/** --scale: enqueue, run and collect 200,000 then 1,000,000 tiny inputs, one phase at a time. */
async function scale(): Promise<void> {
  const variant = VARIANTS.tiny!;
  const rows: string[] = [];
  for (const inputs of [200_000, 1_000_000]) {
    const file = await writeInputs(variant, inputs);
    for (let run = 0; run < runs; run++) {
      if (quietBelow !== undefined) await waitForQuiet(quietBelow);
      const name = `scale-${++queueNumber}`;
      const target = ['--redis', redis.url, '--queue', name];
      const load = loadavg()[0]!;
      const phase = async (args: string[]) => {
        const redisBefore = redisCpuSeconds(redis);
        const started = performance.now();
        const usage = await exec(args);
        const seconds = (usage.exited - started) / 1000;
        return { ...usage, seconds, redisCpu: redisCpuSeconds(redis) - redisBefore };
      };
      const enqueue = await phase(['enqueue', ...target, '-i', file, '-q']);
      const worker = await phase([
        'worker',
        TASK,
        ...target,
        '--workers',
        String(cores),
        '--until-done',
        '-q',
      ]);
      const redisMb = await redisMemoryMb();
      const output = join(dir, 'scale-out.jsonl');
      const collect = await phase(['collect', ...target, '-o', output, '-q']);
      checkOutput(output, inputs);
      await obliterate(name);
      const us = (cpu: number | undefined) =>
        cpu === undefined ? '?' : `${Math.round((cpu * 1e6) / inputs)} µs`;
      const cell = (u: Usage & { seconds: number; redisCpu: number }) =>
        `${u.seconds.toFixed(1)} s | ${u.rssMb?.toFixed(0) ?? '?'} MB | ${us(u.cpu)} + ${us(u.redisCpu)}`;
      const line = `| ${inputs.toLocaleString('en-US')} | ${cell(enqueue)} | ${cell(worker)} | ${cell(collect)} | ${redisMb.toFixed(0)} MB | ${load.toFixed(2)} |`;
      process.stderr.write(`${line}\n`);
      rows.push(line);
    }
  }
  console.log(
    `\n## scale: tiny inputs (n = ${variant.n}) at --chunk ${DEFAULT_CHUNK}, one phase at a time\n`,
  );
  console.log(
    '| inputs | enqueue wall | enqueue peak RSS | enqueue CPU/input: process + Redis | worker wall | worker peak RSS | worker CPU/input | collect wall | collect peak RSS | collect CPU/input | Redis used memory | load |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

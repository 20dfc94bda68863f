/**
 * Where a chunked queue's CPU goes, process by process and thread by thread: enqueue, then one
 * `polyloop worker` (all cores), then `collect`, one after the other on a fresh redis-server,
 * each under `node --cpu-prof` (every thread writes a profile) while its threads' CPU is sampled
 * from /proc/<pid>/task. Prints each phase's CPU per input by thread and the top self-time
 * functions of each profile.
 *
 *   npm run build && node --import tsx bench/queue/profile.ts [--inputs 200000] [--n 18000] [--chunk 256] [--top 12]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis } from '../../test/bullmq-redis.ts';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TASK = fileURLToPath(new URL('./queue-task.js', import.meta.url));
const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '200000' },
    n: { type: 'string', default: '18000' },
    chunk: { type: 'string', default: '256' },
    top: { type: 'string', default: '12' },
    workers: { type: 'string', default: '2' },
    keep: { type: 'string' },
  },
});
const inputs = Number(values.inputs);
const top = Number(values.top);
const dir = mkdtempSync(join(tmpdir(), 'polyloop-queue-profile-'));
const redis = await startRedis();
try {
  const file = join(dir, 'in.jsonl');
  writeFileSync(
    file,
    Array.from({ length: inputs }, (_, i) => `{"i":${i},"n":${values.n}}\n`).join(''),
  );
  const target = ['--redis', redis.url, '--queue', 'q'];
  const phases: [string, string[]][] = [
    ['enqueue', ['enqueue', ...target, '-i', file, '--chunk', values.chunk, '-q']],
    ['worker', ['worker', TASK, ...target, '--workers', values.workers, '--until-done', '-q']],
    ['collect', ['collect', ...target, '-o', join(dir, 'out.jsonl'), '-q']],
  ];
  for (const [phase, args] of phases) {
    const profiles = join(dir, phase);
    mkdirSync(profiles);
    const redisBefore = redisCpu();
    const started = performance.now();
    const threads = await profiled(args, profiles);
    const seconds = (performance.now() - started) / 1000;
    const us = (s: number) => `${((s * 1e6) / inputs).toFixed(2)} µs`;
    console.log(
      `\n## ${phase}: ${seconds.toFixed(2)} s wall, Redis ${us(redisCpu() - redisBefore)}/input`,
    );
    console.log('CPU per input by thread (from /proc, last sample before exit):');
    for (const [name, cpu] of threads) console.log(`  ${name}: ${us(cpu)}`);
    for (const profile of readdirSync(profiles).sort()) {
      summarize(join(profiles, profile), us);
    }
    if (values.keep) {
      mkdirSync(values.keep, { recursive: true });
      for (const profile of readdirSync(profiles)) {
        writeFileSync(
          join(values.keep, `${phase}-${profile}`),
          readFileSync(join(profiles, profile)),
        );
      }
    }
  }
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}

function redisCpu(): number {
  return taskCpu(`/proc/${redis.pid}/stat`) ?? 0;
}

/** utime + stime in seconds of a /proc stat file, or undefined if it is gone. */
function taskCpu(path: string): number | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Runs the command under --cpu-prof; resolves with each thread's CPU, summed by thread name. */
function profiled(args: string[], profiles: string): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', profiles, CLI, ...args],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const last = new Map<string, { name: string; cpu: number }>();
    const sample = () => {
      try {
        for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
          const cpu = taskCpu(`/proc/${child.pid}/task/${tid}/stat`);
          if (cpu === undefined) continue;
          const comm = readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim();
          const name = tid === String(child.pid) ? 'main thread' : comm;
          last.set(tid, { name, cpu });
        }
      } catch {}
    };
    const timer = setInterval(sample, 50);
    child.once('close', (code) => {
      clearInterval(timer);
      if (code !== 0) {
        reject(new Error(`polyloop ${args[0]} exited ${code}`));
        return;
      }
      const byName = new Map<string, number>();
      for (const { name, cpu } of last.values()) byName.set(name, (byName.get(name) ?? 0) + cpu);
      resolve(new Map([...byName].sort((a, b) => b[1] - a[1]).filter(([, cpu]) => cpu > 0)));
    });
  });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Where a frame's code lives: polyloop, BullMQ, ioredis, Node itself, GC, or native code. */
function packageOf(frame: ProfileNode['callFrame']): string {
  if (frame.functionName === '(garbage collector)') return 'GC';
  const { url } = frame;
  if (url.includes('/node_modules/bullmq/')) return 'bullmq';
  if (/\/node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|@ioredis)\//.test(url)) {
    return 'ioredis';
  }
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.includes('/dist/') || url.includes('/bench/')) return 'polyloop';
  if (url.startsWith('node:')) return 'node internals';
  return 'native / (program)';
}

function keyOf(frame: ProfileNode['callFrame']): string {
  const where = frame.url
    ? `${frame.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${frame.lineNumber + 1}`
    : '';
  return `${frame.functionName || '(anonymous)'} ${where}`;
}

/**
 * Prints a .cpuprofile's total, its self time by package, its top self-time functions and the
 * top inclusive times of polyloop's and BullMQ's own functions, per input.
 */
function summarize(path: string, us: (seconds: number) => string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, k) => {
    const delta = (profile.timeDeltas[k] ?? 0) / 1e6;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += delta;
      return;
    }
    total += delta;
    const key = keyOf(frame);
    self.set(key, (self.get(key) ?? 0) + delta);
    const pkg = packageOf(frame);
    packages.set(pkg, (packages.get(pkg) ?? 0) + delta);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const callFrame = byId.get(at)!.callFrame;
      const owner = packageOf(callFrame);
      if (owner === 'polyloop' || owner === 'bullmq') onStack.add(keyOf(callFrame));
    }
    for (const key of onStack) inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
  });
  const line = (key: string, seconds: number) =>
    `  ${us(seconds).padStart(10)}  ${((100 * seconds) / total).toFixed(1).padStart(5)} %  ${key}`;
  const name = path.split('/').pop();
  console.log(`\n### ${name}: ${us(total)} sampled busy per input (idle ${idle.toFixed(2)} s)`);
  console.log('self time by package:');
  for (const [key, seconds] of [...packages].sort((a, b) => b[1] - a[1]))
    console.log(line(key, seconds));
  console.log('top self time:');
  for (const [key, seconds] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(line(key, seconds));
  }
  console.log("top inclusive time of polyloop's and BullMQ's functions:");
  for (const [key, seconds] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(line(key, seconds));
  }
}

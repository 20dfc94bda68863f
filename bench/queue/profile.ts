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
}

/** Prints a .cpuprofile's total and its top self-time functions, per input. */
function summarize(path: string, us: (seconds: number) => string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, k) => {
    const delta = (profile.timeDeltas[k] ?? 0) / 1e6;
    const frame = frames.get(id)!;
    if (frame.functionName === '(idle)') {
      idle += delta;
      return;
    }
    total += delta;
    const where = frame.url
      ? `${frame.url.replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${frame.lineNumber + 1}`
      : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  const name = path.split('/').pop();
  console.log(`\n### ${name}: ${us(total)} sampled busy per input (idle ${idle.toFixed(2)} s)`);
  for (const [key, seconds] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `  ${us(seconds).padStart(10)}  ${((100 * seconds) / total).toFixed(1).padStart(5)} %  ${key}`,
    );
  }
}

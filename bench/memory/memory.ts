// Streams 1M and 10M lazily generated tiny tasks through polyloop, unordered then ordered, and
// shows that peak RSS does not grow with the input count. One child process per pass.
// Usage: node --import tsx bench/memory/memory.ts [--sizes 1000000,10000000]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { MemoryResult } from './memory-child.ts';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

function pass(size: number, ordered: boolean): Promise<MemoryResult> {
  const mode = ordered ? 'ordered' : 'unordered';
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, String(size), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as MemoryResult);
      else reject(new Error(`memory pass ${size} ${mode} exited with ${code}`));
    });
  });
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sizes: { type: 'string' } } });
  const sizes = (values.sizes ?? '1000000,10000000').split(',').map(Number);
  const rows: string[] = [];
  let allGood = true;
  for (const size of sizes) {
    for (const ordered of [false, true]) {
      process.stderr.write(`streaming ${size} inputs, ${ordered ? 'ordered' : 'unordered'}...\n`);
      const r = await pass(size, ordered);
      const good = r.results === size && r.failed + r.missing + r.duplicates + r.outOfOrder === 0;
      allGood &&= good;
      const check = good
        ? '✓'
        : `✗ results ${r.results}, failed ${r.failed}, missing ${r.missing}, ` +
          `duplicates ${r.duplicates}, out of order ${r.outOfOrder}`;
      rows.push(
        `| ${size.toLocaleString('en-US')} | ${ordered ? 'ordered' : 'unordered'} | ` +
          `${(r.ms / 1000).toFixed(1)} s | ${Math.round((size / r.ms) * 1000).toLocaleString('en-US')} | ` +
          `${mib(r.baseRssKiB)} | ${mib(r.maxRssKiB)} | ${check} |`,
      );
    }
  }
  const table = [
    '| inputs | order | time | tasks/s | RSS after pool start | peak RSS | every index once |',
    '|---:|---|---:|---:|---:|---:|---|',
    ...rows,
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  if (!allGood) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exitCode = 1;
});

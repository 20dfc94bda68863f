/**
 * How a worker is started from this process: the entry module, and which of this process's node
 * options it inherits.
 */

/** When polyloop itself runs from source (tsx), its worker entry is TypeScript too. */
const fromSource = import.meta.url.endsWith('.ts');

/** The module every worker starts from. */
export const entryUrl = new URL(
  fromSource ? '../worker/entry.ts' : '../worker/entry.js',
  import.meta.url,
);
export const entryExecArgv = fromSource ? ['--import', 'tsx'] : [];

/**
 * The parent's node options a thread worker should get: only those that change how modules load
 * (`--import tsx`, `--conditions`...) and the profilers' (`--cpu-prof`: a profile per thread, so
 * `node --cpu-prof` shows where the workers' time goes too). Worker threads refuse per-process flags such as
 * `--max-old-space-size` or `--expose-gc`, and `-e`/`--input-type` describe the parent's own entry.
 */
export function threadExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split('=')[0]!;
    if (!LOADER_FLAGS.has(name)) continue;
    kept.push(arg);
    // The value of `--import x` style flags is the next argument.
    if (!arg.includes('=') && VALUE_FLAGS.has(name) && i + 1 < execArgv.length)
      kept.push(execArgv[++i]!);
  }
  return kept;
}

const VALUE_FLAGS = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
  '--cpu-prof-dir',
  '--cpu-prof-interval',
  '--cpu-prof-name',
  '--heap-prof-dir',
  '--heap-prof-interval',
  '--heap-prof-name',
]);
const LOADER_FLAGS = new Set([
  ...VALUE_FLAGS,
  '--enable-source-maps',
  '--no-warnings',
  '--experimental-vm-modules',
  '--cpu-prof',
  '--heap-prof',
]);

/** The parent's node options for a child process: all of them but its own entry point. */
export function processExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i++; // and the code that follows
      continue;
    }
    if (arg.startsWith('--input-type') || arg.startsWith('--eval=') || arg.startsWith('--print=')) {
      continue;
    }
    kept.push(arg);
  }
  return kept;
}

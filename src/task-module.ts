/**
 * Loading a task module the same way wherever it runs (a worker thread, a child process, or the
 * main thread for `polyloop run --workers 0`): import it, find its task function, run `setup`.
 * Every form people write is accepted: ESM `export default`, CommonJS `module.exports = fn`,
 * and CommonJS compiled from TypeScript (`exports.default = fn` beside `__esModule`), in
 * .js/.mjs/.cjs/.ts/.mts/.cts files, inside an ESM package, a CommonJS one, or no package.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { InitFailure } from './protocol/messages.js';
import type { TaskModule } from './types.js';

const TYPESCRIPT = /\.(?:ts|mts|cts)$/;

export type LoadedTaskModule =
  | { readonly ok: true; readonly task: TaskModule['default'] }
  | { readonly ok: false; readonly reason: InitFailure; readonly error: unknown };

type Namespace = Record<string, unknown>;

export async function loadTaskModule(url: string, workerId: number): Promise<LoadedTaskModule> {
  let namespace: Namespace;
  try {
    if (TYPESCRIPT.test(new URL(url).pathname)) await registerTypeScript();
    namespace = (await import(url)) as Namespace;
  } catch (error) {
    return { ok: false, reason: 'import', error: locateSyntaxError(error, url) };
  }
  const found = taskExports(namespace);
  if (found === undefined) {
    const error = new TypeError(noDefaultExportMessage(namespace));
    return { ok: false, reason: 'no-default-export', error };
  }
  if (found.setup !== undefined) {
    try {
      await found.setup({ workerId });
    } catch (error) {
      return { ok: false, reason: 'setup', error };
    }
  }
  return { ok: true, task: found.task };
}

/** V8's own report of a syntax error: `file:line`, the source line, a caret under the column. */
const LOCATED = /^(\S+):(\d+)\n(.*)\n( *)\^/;

/**
 * A syntax error in an ES module reaches `import()` without its place (Node prints it only for an
 * uncaught error). `node --check` reports it with file, line and caret: asked only on this
 * failure, its report is put at the top of the stack, where V8 puts it for CommonJS.
 */
function locateSyntaxError(error: unknown, url: string): unknown {
  if (!(error instanceof SyntaxError) || LOCATED.test(error.stack ?? '')) return error;
  if (!url.startsWith('file:')) return error;
  const check = spawnSync(process.execPath, ['--check', fileURLToPath(url)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const located = LOCATED.exec(check.stderr ?? '');
  if (located) error.stack = `${located[0]}\n\n${error.stack}`;
  return error;
}

let typeScriptRegistered: Promise<void> | undefined;

/**
 * Node 20 cannot run TypeScript: tsx compiles it, registered in this thread (hooks passed as
 * `--import` in a worker's execArgv do not reach its imports). Both of its hooks: the ESM one
 * for .ts files Node takes as ES modules, the CommonJS one for .cts files and for .ts files in a
 * package without `"type": "module"` (most TypeScript projects), which Node loads through
 * `require`.
 */
function registerTypeScript(): Promise<void> {
  typeScriptRegistered ??= (async () => {
    const { register } = await import('tsx/esm/api');
    createRequire(import.meta.url)('tsx/cjs/api').register();
    register();
  })();
  return typeScriptRegistered;
}

interface TaskExports {
  readonly task: TaskModule['default'];
  readonly setup: TaskModule['setup'];
}

/**
 * The task function and `setup`, wherever the module's form puts them. Imported CommonJS is a
 * namespace whose `default` is `module.exports`: the function itself, or, when compiled from
 * ESM or TypeScript, an object holding `default` (and `setup`, which Node's export detection may
 * or may not have copied onto the namespace).
 */
function taskExports(namespace: Namespace): TaskExports | undefined {
  const exported = namespace.default;
  if (typeof exported === 'function') {
    return { task: exported as TaskModule['default'], setup: functionOrUndefined(namespace.setup) };
  }
  if (typeof exported === 'object' && exported !== null) {
    const inner = exported as Namespace;
    if (typeof inner.default === 'function') {
      const setup = functionOrUndefined(namespace.setup) ?? functionOrUndefined(inner.setup);
      return { task: inner.default as TaskModule['default'], setup };
    }
  }
  return undefined;
}

function functionOrUndefined(value: unknown): TaskModule['setup'] {
  return typeof value === 'function' ? (value as TaskModule['setup']) : undefined;
}

function noDefaultExportMessage(namespace: Namespace): string {
  const names = new Set(Object.keys(namespace).filter((name) => name !== 'default'));
  const exported = namespace.default;
  if (typeof exported === 'object' && exported !== null) {
    for (const name of Object.keys(exported)) names.add(name);
  }
  names.delete('__esModule');
  const found = names.size > 0 ? `it exports ${[...names].join(', ')}` : 'it exports nothing';
  return (
    `${found}. Export the task function in one of these forms: ` +
    '`export default async function (input, ctx) {...}` (ES module), ' +
    '`module.exports = async function (input, ctx) {...}` (CommonJS), ' +
    'or `exports.default = ...` (CommonJS compiled from TypeScript)'
  );
}

/** What a TaskModuleError says for each way a task module can fail to load, with its cause. */
export function initFailureMessage(reason: InitFailure, cause: unknown): string {
  switch (reason) {
    case 'import':
      return `The task module could not be imported: ${describeImportFailure(cause)}`;
    case 'no-default-export':
      return `The task module has no default export function: ${messageOf(cause)}`;
    case 'setup':
      return `The task module's setup() threw: ${firstLine(messageOf(cause))}`;
  }
}

/**
 * One line that says where and why a module failed to compile or import: `file:line:column:
 * message` for a TypeScript compile error (esbuild's, inside tsx) or a JavaScript syntax error
 * (V8 puts the location at the top of the stack, the column as a caret under the source line).
 */
export function describeImportFailure(error: unknown): string {
  const message = messageOf(error);
  const compiled = /^Transform failed with (\d+) errors?:\n(.+?): ERROR: (.+)$/m.exec(message);
  if (compiled) {
    const [, count, where, what] = compiled;
    const more = Number(count) > 1 ? ` (and ${Number(count) - 1} more)` : '';
    return `${where}: ${what}${more}`;
  }
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  const located = LOCATED.exec(stack);
  if (error instanceof SyntaxError && located) {
    const [, file, line, , indent] = located;
    return `${displayModule(file!)}:${line}:${indent!.length + 1}: ${error.name}: ${firstLine(message)}`;
  }
  return oneLine(message);
}

/** A task module as messages name it: a path for a file, the URL otherwise. */
export function displayModule(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}

/** Node's messages put their hint on a second line ("...rename it to use the '.cjs' extension"). */
function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * Every form of task module people write loads, wherever a task module is accepted: the library
 * (threads and processes) and `polyloop run` (workers and --workers 0), inside an ESM package, a
 * CommonJS package and a folder with no package.json above it. Everything runs in fresh `node`
 * processes without tsx preloaded, as a user's would: the test runner's own tsx must not help.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, parseRecords } from './cli-helpers.ts';

const DIST = new URL('../dist/index.js', import.meta.url).href;

/** Each task doubles `input.n`; each file uses one export form. */
const FORMS: Record<string, string> = {
  'esm.js': 'export default async function (input) { return input.n * 2; }\n',
  'esm.mjs': 'export default async (input) => input.n * 2;\n',
  'commonjs.cjs': 'module.exports = async function (input) { return input.n * 2; };\n',
  'compiled.cjs': [
    '"use strict";',
    'Object.defineProperty(exports, "__esModule", { value: true });',
    'exports.setup = setup;',
    'exports.default = task;',
    'let factor = 0;',
    'async function setup() { factor = 2; }',
    'async function task(input) { return input.n * factor; }',
    '',
  ].join('\n'),
  'typed.ts': [
    'type In = { n: number };',
    'let factor = 0;',
    'export async function setup(): Promise<void> { factor = 2; }',
    'export default async function (input: In): Promise<number> { return input.n * factor; }',
    '',
  ].join('\n'),
  'typed.mts': 'export default async (input: { n: number }): Promise<number> => input.n * 2;\n',
  'typed.cts':
    'module.exports = async function (input: { n: number }): Promise<number> { return input.n * 2; };\n',
};
/** `.js` files are CommonJS outside a `"type": "module"` package: the two CommonJS forms too. */
const COMMONJS_JS: Record<string, string> = {
  'commonjs.js': FORMS['commonjs.cjs']!,
  'compiled.js': FORMS['compiled.cjs']!,
};

const PROJECTS = {
  'esm package': { packageJson: { type: 'module' }, files: FORMS },
  'commonjs package': { packageJson: { name: 'consumer' }, files: { ...FORMS, ...COMMONJS_JS } },
  'no package.json': { packageJson: undefined, files: { ...FORMS, ...COMMONJS_JS } },
} as const;

const root = mkdtempSync(join(tmpdir(), 'polyloop-modules-'));
after(() => rmSync(root, { recursive: true, force: true }));

function project(name: keyof typeof PROJECTS): string {
  const { packageJson, files } = PROJECTS[name];
  const dir = join(root, name.replaceAll(' ', '-').replace('.', ''));
  mkdirSync(dir, { recursive: true });
  if (packageJson) writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson));
  for (const [file, source] of Object.entries(files)) writeFileSync(join(dir, file), source);
  return dir;
}

function node(
  args: string[],
  cwd: string,
  input = '',
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, {
    cwd,
    input,
    encoding: 'utf8',
    env: cleanEnv(),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** No NODE_OPTIONS: the runner may carry tsx in it, which would load TypeScript for us. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

for (const name of Object.keys(PROJECTS) as Array<keyof typeof PROJECTS>) {
  describe(`task modules in a project with ${name}`, () => {
    const dir = project(name);
    const files = Object.keys(PROJECTS[name].files);

    it('the library runs every form on threads and on processes', () => {
      const script = `
        import { Pool } from ${JSON.stringify(DIST)};
        const results = {};
        for (const file of ${JSON.stringify(files)}) {
          for (const backend of ['thread', 'process']) {
            const pool = new Pool(file, { workers: 1, backend });
            results[file + ' ' + backend] = await pool.run({ n: 21 }).catch((e) => e.message);
            await pool.close();
          }
        }
        console.log(JSON.stringify(results));
      `;
      const result = node(['--input-type=module', '-e', script], dir);
      assert.equal(result.status, 0, result.stderr);
      const expected = Object.fromEntries(
        files.flatMap((file) => [`${file} thread`, `${file} process`]).map((key) => [key, 42]),
      );
      assert.deepEqual(JSON.parse(result.stdout), expected);
    });

    for (const workers of ['1', '0']) {
      it(`polyloop run --workers ${workers} runs every form`, () => {
        for (const file of files) {
          const result = node([CLI, 'run', file, '-w', workers, '-q'], dir, '{"n":21}\n');
          assert.equal(result.status, 0, `${file}: ${result.stderr}`);
          assert.deepEqual(parseRecords(result.stdout), [{ index: 0, value: 42 }], file);
        }
      });
    }
  });
}

describe('task modules that cannot run say why', () => {
  const dir = join(root, 'broken');
  mkdirSync(dir, { recursive: true });
  const broken: Record<string, string> = {
    'no-task.mjs': 'export const helper = 1;\nexport function setup() {}\n',
    'no-task.cjs': 'exports.helper = 1;\n',
    'compile-error.ts': 'export default async function (x: number) {\n  return x +;\n}\n',
    'syntax-error.mjs': 'export default async function (x) {\n  return x +;\n}\n',
  };
  for (const [file, source] of Object.entries(broken)) writeFileSync(join(dir, file), source);

  const cases: Array<[string, RegExp]> = [
    [
      'no-task.mjs',
      /no default export function: it exports helper, setup\. Export the task function in one of these forms: `export default .*` \(ES module\), `module\.exports = .*` \(CommonJS\), or `exports\.default = \.\.\.`/,
    ],
    ['no-task.cjs', /no default export function: it exports helper\. Export the task function/],
    ['compile-error.ts', /could not be imported: .*compile-error\.ts:2:12: Unexpected ";"/],
    [
      'syntax-error.mjs',
      /could not be imported: .*syntax-error\.mjs:2:\d+: SyntaxError: Unexpected token/,
    ],
  ];
  for (const workers of ['1', '0']) {
    it(`polyloop run --workers ${workers}: one line naming the module, the place and the reason`, () => {
      for (const [file, message] of cases) {
        const result = node([CLI, 'run', file, '-w', workers], dir, '1\n');
        assert.equal(result.status, 2, `${file}: ${result.stderr}`);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, message, file);
        assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      }
    });
  }

  it('the library rejects with a TaskModuleError saying the same', () => {
    const script = `
      import { Pool } from ${JSON.stringify(DIST)};
      const out = {};
      for (const file of ${JSON.stringify(Object.keys(broken))}) {
        const pool = new Pool(file, { workers: 1 });
        out[file] = await pool.run(1).then(() => 'ran', (e) => e.code + ' ' + e.message);
        await pool.close();
      }
      console.log(JSON.stringify(out));
    `;
    const result = node(['--input-type=module', '-e', script], dir);
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout) as Record<string, string>;
    for (const [file, message] of cases) {
      assert.match(out[file]!, /^ERR_POLYLOOP_TASK_MODULE /, file);
      assert.match(out[file]!, message, file);
    }
  });
});

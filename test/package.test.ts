/**
 * polyloop as a user installs it: `npm pack`, installed into fresh projects outside the repository
 * (an ES module one, a bundler one, a CommonJS one). Their code is type-checked against the
 * published `.d.ts` files by the oldest TypeScript we support (5.0) and the current one, with
 * `skipLibCheck` off and checks that the types are not `any`; then it runs: a TypeScript task
 * through the installed `polyloop` command and through `require('polyloop')`, with no second
 * install step.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
/** The oldest TypeScript the published types support: installed into the consumer project. */
const OLDEST_TYPESCRIPT = '5.0.4';
let TYPESCRIPTS: { readonly current: string } & Record<string, string>;

const TASK = `export async function setup(ctx: { workerId: number }): Promise<void> {}
export default async function (input: { url: string }): Promise<{ length: number }> {
  return { length: input.url.length };
}
`;

/** The caller: typed by the task module; a wrong input or output type is an error. */
const ESM_MAIN = `import { Pool, TaskError, type PoolOptions, type StreamResult } from 'polyloop';
const options: PoolOptions = { workers: 1 };
const pool = new Pool<typeof import('./task.js')>(new URL('./task.ts', import.meta.url), options);
const out: { length: number } = await pool.run({ url: 'four' });
export async function typeErrors(): Promise<void> {
  // @ts-expect-error the input type comes from the task module
  await pool.run({ nope: 1 });
  // @ts-expect-error so does the output type
  const wrong: string = await pool.run({ url: 'x' });
  void wrong;
}
for await (const r of pool.stream([{ url: 'a' }])) {
  const typed: StreamResult<{ url: string }, { length: number }> = r;
  if (r.ok) console.log(r.value.length);
  else if (r.error instanceof TaskError) console.log(r.error.code);
  void typed;
}
console.log(JSON.stringify(out));
await pool.close();
`;

const CJS_MAIN = `import { Pool } from 'polyloop';
import path = require('node:path');
const pool = new Pool<typeof import('./task')>(path.join(__dirname, 'task.ts'), { workers: 1 });
export async function typeErrors(): Promise<void> {
  // @ts-expect-error the input type comes from the task module
  await pool.run({ nope: 1 });
}
async function main(): Promise<void> {
  const out: { length: number } = await pool.run({ url: 'four' });
  console.log(JSON.stringify(out));
  await pool.close();
}
void main();
`;

const compilerOptions = {
  strict: true,
  target: 'es2022',
  skipLibCheck: false,
  types: ['node'],
};

const PROJECTS = {
  'ESM, moduleResolution nodenext': {
    packageJson: { type: 'module' },
    tsconfig: { ...compilerOptions, module: 'nodenext', moduleResolution: 'nodenext' },
    main: ESM_MAIN,
  },
  'ESM, moduleResolution bundler': {
    packageJson: { type: 'module' },
    tsconfig: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
    main: ESM_MAIN,
  },
  'CommonJS, module commonjs': {
    packageJson: { type: 'commonjs' },
    tsconfig: { ...compilerOptions, module: 'commonjs' },
    main: CJS_MAIN,
  },
} as const;

let root: string;

function run(command: string, args: string[], cwd: string, input = '') {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the test runner's tsx must not load TypeScript for the user
  const result = spawnSync(command, args, { cwd, input, encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'polyloop-package-'));
  const packed = run('npm', ['pack', '--json', '--pack-destination', root], repo);
  assert.equal(packed.status, 0, packed.stderr);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const typesNode = JSON.parse(
    readFileSync(join(repo, 'node_modules/@types/node/package.json'), 'utf8'),
  ) as { version: string };
  // From npm's cache where it can: the repository's own install put these packages there.
  const installed = run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(root, filename),
      `@types/node@${typesNode.version}`,
      `typescript@${OLDEST_TYPESCRIPT}`,
    ],
    root,
  );
  assert.equal(installed.status, 0, installed.stderr);
  TYPESCRIPTS = {
    [`${OLDEST_TYPESCRIPT} (the oldest supported)`]: join(root, 'node_modules/typescript/bin/tsc'),
    current: join(repo, 'node_modules/typescript/bin/tsc'),
  };
  for (const [name, project] of Object.entries(PROJECTS)) {
    const dir = join(root, slug(name));
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify(project.packageJson));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...project.tsconfig, noEmit: true },
        files: ['main.ts'],
      }),
    );
    writeFileSync(join(dir, 'task.ts'), TASK);
    writeFileSync(join(dir, 'main.ts'), project.main);
  }
});
after(() => rmSync(root, { recursive: true, force: true }));

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

describe('the packed package', () => {
  it('ships .d.ts files that import .js paths', () => {
    const dist = join(root, 'node_modules/polyloop/dist');
    const declarations = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.d.ts'),
    );
    assert.ok(declarations.includes('index.d.ts'));
    for (const file of declarations) {
      const text = readFileSync(join(dist, file), 'utf8');
      assert.doesNotMatch(text, /(from|import\() ?'\.[^']*\.ts'/, file);
    }
  });

  for (const name of Object.keys(PROJECTS)) {
    it(`type-checks a consumer (${name}) with TypeScript ${OLDEST_TYPESCRIPT} and the current one`, () => {
      for (const [version, tsc] of Object.entries(TYPESCRIPTS)) {
        const checked = run(process.execPath, [tsc, '-p', '.'], join(root, slug(name)));
        assert.equal(
          checked.status,
          0,
          `TypeScript ${version}: ${checked.stdout}${checked.stderr}`,
        );
      }
    });
  }

  it('runs a TypeScript task from require() in a CommonJS project, compiled by tsc', () => {
    const dir = join(root, slug('CommonJS, module commonjs'));
    const tsc = TYPESCRIPTS.current;
    const built = run(
      process.execPath,
      [tsc, '-p', '.', '--noEmit', 'false', '--outDir', 'out'],
      dir,
    );
    assert.equal(built.status, 0, built.stdout + built.stderr);
    // The compiled main.js sits in out/ beside no task: point it at the .ts one.
    writeFileSync(join(dir, 'out/task.ts'), TASK);
    const ran = run(process.execPath, ['out/main.js'], dir);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, '{"length":4}\n');
    assert.equal(ran.stderr, '');
  });

  it('runs a TypeScript task with the installed polyloop command, in each project', () => {
    for (const name of Object.keys(PROJECTS)) {
      const dir = join(root, slug(name));
      const ran = run(
        join(root, 'node_modules/.bin/polyloop'),
        ['run', 'task.ts', '-q'],
        dir,
        '{"url":"four"}\n',
      );
      assert.equal(ran.status, 0, `${name}: ${ran.stderr}`);
      assert.equal(ran.stdout, '{"index":0,"value":{"length":4}}\n', name);
    }
  });

  it('the queue commands, installed without BullMQ (an optional peer), say how to get it', () => {
    const dir = join(root, slug('ESM, moduleResolution nodenext'));
    writeFileSync(join(dir, 'inputs.jsonl'), '{"url":"four"}\n');
    // Port 1: nothing listens there, so a command that got past loading BullMQ would fail
    // differently (Redis did not answer), not pass.
    const queue = ['--queue', 'q', '--redis', 'redis://127.0.0.1:1'];
    const commands = [
      ['enqueue', '-i', 'inputs.jsonl', ...queue],
      ['worker', 'task.ts', ...queue],
      ['collect', ...queue],
    ];
    for (const args of commands) {
      const ran = run(join(root, 'node_modules/.bin/polyloop'), args, dir);
      assert.equal(ran.status, 2, `${args[0]}: ${ran.stderr}`);
      assert.match(
        ran.stderr,
        new RegExp(`polyloop ${args[0]} needs the bullmq package.*npm install bullmq`),
      );
    }
    // And `polyloop run` does not need it.
    const ran = run(
      join(root, 'node_modules/.bin/polyloop'),
      ['run', 'task.ts', '-q', '-i', 'inputs.jsonl'],
      dir,
    );
    assert.equal(ran.status, 0, ran.stderr);
  });

  it('runs an ESM main written in TypeScript under tsx, the same way the CLI loads tasks', () => {
    const dir = join(root, slug('ESM, moduleResolution nodenext'));
    const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
    const ran = run(process.execPath, [tsx, 'main.ts'], dir);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, '1\n{"length":4}\n');
  });
});

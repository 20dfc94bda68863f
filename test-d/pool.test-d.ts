/**
 * Type tests, checked by `tsc` (npm run typecheck): types flow from the task module to the
 * caller. A line marked @ts-expect-error fails the check if it stops being an error.
 */
import { Pool, type StreamResult } from '../src/index.ts';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

type Task = typeof import('../test/fixtures/typed-task.ts');
const pool = new Pool<Task>(new URL('../test/fixtures/typed-task.ts', import.meta.url));

export async function typed(): Promise<void> {
  const one = await pool.run({ url: 'https://example.test/' });
  expectType<Equal<typeof one, { title: string; worker: number }>>(true);

  const many = await pool.map([{ url: 'a' }, { url: 'b' }]);
  expectType<Equal<typeof many, Array<{ title: string; worker: number }>>>(true);

  for await (const result of pool.stream([{ url: 'a' }], { ordered: true })) {
    expectType<
      Equal<
        typeof result,
        StreamResult<{ readonly url: string }, { title: string; worker: number }>
      >
    >(true);
    if (result.ok) {
      expectType<Equal<typeof result.value, { title: string; worker: number }>>(true);
    } else {
      expectType<Equal<typeof result.error, Error>>(true);
    }
    expectType<Equal<typeof result.index, number>>(true);
  }

  // @ts-expect-error the input must be a Page
  await pool.run({ href: 'a' });
  // @ts-expect-error the inputs must be Pages
  await pool.map([1, 2]);
  // @ts-expect-error timeout is a number
  await pool.run({ url: 'a' }, { timeout: '10' });
  // @ts-expect-error unknown option
  new Pool<Task>('./task.js', { workerz: 2 });

  // @ts-expect-error backend is 'thread' or 'process'
  new Pool<Task>('./task.js', { backend: 'fiber' });
  new Pool<Task>('./task.js', { backend: 'process', retries: 0, maxMemoryMb: 256, timeout: 1000 });

  // Without the module's type, inputs are anything and outputs unknown.
  const untyped = new Pool('./task.js');
  const out = await untyped.run(123);
  expectType<Equal<typeof out, unknown>>(true);

  await using disposable = new Pool<Task>('./task.js');
  void disposable;
}

/**
 * What the adaptive limit will read: the process's open-file budget (under a real `ulimit -n`) and
 * which failures say "too much at once", wherever they sit on the cause chain.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { descriptorBudget, openFileLimit } from '../dist/core/open-files.js';
import { overloadKind } from '../dist/core/overload.js';
import { TaskError, TimeoutError } from '../dist/index.js';

const OPEN_FILES = new URL('../dist/core/open-files.js', import.meta.url).href;

describe('the open-file budget', () => {
  it('reads the soft limit a real ulimit sets, and keeps a reserve below it', {
    skip: process.platform !== 'linux' && 'reads /proc (Linux)',
  }, () => {
    const script = `import { openFileLimit, processDescriptorBudget } from ${JSON.stringify(OPEN_FILES)};
      console.log(JSON.stringify({ limit: openFileLimit(), budget: processDescriptorBudget() }));`;
    const result = spawnSync(
      'sh',
      ['-c', `ulimit -n 256; exec "${process.execPath}" --input-type=module -e '${script}'`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    const { limit, budget } = JSON.parse(result.stdout) as { limit: number; budget: number };
    assert.equal(limit, 256);
    assert.ok(budget > 0 && budget < 256 - 64, `budget ${budget}`);
  });

  it('is unknown where the limits cannot be read, and never below one task', () => {
    const dir = mkdtempSync(join(tmpdir(), 'polyloop-limits-'));
    try {
      assert.equal(openFileLimit(join(dir, 'missing')), undefined);
      const unlimited = join(dir, 'limits');
      writeFileSync(
        unlimited,
        'Max open files            unlimited            unlimited            files\n',
      );
      assert.equal(openFileLimit(unlimited), undefined);
      assert.equal(descriptorBudget(undefined, 10), undefined);
      assert.equal(descriptorBudget(70, 10), 1);
      assert.equal(descriptorBudget(1064, 0), 750);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('overload signals', () => {
  const coded = (code: string, cause?: unknown): Error =>
    Object.assign(new Error(code, cause === undefined ? undefined : { cause }), { code });

  it('EMFILE and ENFILE are the pool over-admitting, anywhere on the chain', () => {
    assert.equal(overloadKind(coded('EMFILE')), 'over-admission');
    const fetchFailed = new TypeError('fetch failed', { cause: coded('ENFILE') });
    assert.equal(overloadKind(new TaskError(fetchFailed)), 'over-admission');
  });

  it('resets, timeouts and undici timeouts are overload', () => {
    assert.equal(
      overloadKind(new TaskError(new TypeError('fetch failed', { cause: coded('ECONNRESET') }))),
      'overload',
    );
    assert.equal(overloadKind(coded('ETIMEDOUT')), 'overload');
    assert.equal(overloadKind(coded('UND_ERR_HEADERS_TIMEOUT')), 'overload');
    assert.equal(overloadKind(new TimeoutError(100)), 'overload');
  });

  it("an input's own failure is not overload", () => {
    assert.equal(overloadKind(new TaskError(new Error('bad input'))), undefined);
    assert.equal(overloadKind(coded('ECONNREFUSED')), undefined);
    assert.equal(overloadKind(coded('ERR_CRAWL_TOO_LARGE')), undefined);
    assert.equal(overloadKind('a string'), undefined);
    const getter = new Error('x');
    Object.defineProperty(getter, 'code', {
      get() {
        throw new Error('no');
      },
    });
    assert.equal(overloadKind(getter), undefined);
  });
});

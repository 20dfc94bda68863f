/**
 * Dependencies between the parts of src/ point one way: the library at the bottom, polyloop/bullmq
 * on it, the command line on top. Read from the import lines of every source file, so a new file
 * or folder is checked without being listed here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** The part of src/ a file belongs to, from its path relative to src/. */
type Layer = 'cli' | 'bullmq' | 'library';

/** What each part may import; a part always may import itself. */
const MAY_IMPORT: Readonly<Record<Layer, readonly Layer[]>> = {
  cli: ['bullmq', 'library'],
  bullmq: ['library'],
  library: [],
};

function layerOf(fromSrc: string): Layer {
  const top = fromSrc.split(sep)[0];
  return top === 'cli' || top === 'bullmq' ? top : 'library';
}

/**
 * The relative module specifiers a source imports or re-exports: `import ... from`, `export ...
 * from`, `import '...'`, and `import('...')` (a lazy import, or a type written `typeof import`).
 */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) specifiers.push(specifier);
    }
  }
  return specifiers;
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function edges(): Edge[] {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) =>
    file.endsWith('.ts'),
  );
  return files.flatMap((file) =>
    importsOf(readFileSync(join(SRC, file), 'utf8')).map((specifier) => ({
      from: file,
      to: relative(SRC, resolve(SRC, dirname(file), specifier)),
    })),
  );
}

describe('source layering', () => {
  const all = edges();

  it('reads the import lines of every source file', () => {
    // Guards against a scan that finds nothing and so passes whatever the code does.
    assert.ok(all.length > 50, `only ${all.length} imports found`);
    assert.ok(all.some((edge) => edge.from === join('cli', 'main.ts')));
    assert.ok(
      all.every((edge) => !edge.to.startsWith('..')),
      'an import leaves src/',
    );
  });

  it('finds static, re-exported, lazy and type-only imports', () => {
    const source = `import { a } from './a.js';
import type {
  B,
} from "../b.js";
export * from './c.js';
import './d.js';
const e = await import('./e.js');
type F = typeof import('./f.js');
import { readFileSync } from 'node:fs';`;
    assert.deepEqual(importsOf(source).sort(), [
      '../b.js',
      './a.js',
      './c.js',
      './d.js',
      './e.js',
      './f.js',
    ]);
  });

  it('the library and polyloop/bullmq never import the command line; the library never imports polyloop/bullmq', () => {
    const wrong = all
      .filter((edge) => {
        const from = layerOf(edge.from);
        const to = layerOf(edge.to);
        return to !== from && !MAY_IMPORT[from].includes(to);
      })
      .map((edge) => `src/${edge.from} imports src/${edge.to}`);
    assert.deepEqual(wrong, []);
  });
});

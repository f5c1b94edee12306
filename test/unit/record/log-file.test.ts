import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendLogEntry, LOG_HEADER } from '../../../src/record/log-file.js';

let dir: string;
let umask: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maint-log-'));
  umask = process.umask(0o022);
});

afterEach(async () => {
  process.umask(umask);
  await rm(dir, { recursive: true, force: true });
});

/** Transpile `file` (relative to `root`) and every module it imports relatively into `out`, same layout. */
async function transpileTree(root: string, file: string, out: string, seen = new Set<string>()): Promise<void> {
  if (seen.has(file)) return;
  seen.add(file);
  const source = await readFile(join(root, file), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  await mkdir(dirname(join(out, file)), { recursive: true });
  await writeFile(join(out, file.replace(/\.ts$/, '.js')), js);
  for (const m of js.matchAll(/from '(\.\.?\/[^']+)\.js'/g)) await transpileTree(root, join(dirname(file), `${m[1]}.ts`), out, seen);
}

/** A distinct, large entry: every line is filled with the writer's own letter and number. Same as in child.mjs below. */
function bigEntry(writer: number, index: number, bytes: number): string {
  const fill = `${String.fromCharCode(65 + writer)}${index}`.repeat(40).slice(0, 99) + '\n';
  return `\n## writer ${writer} entry ${index}\n\n${fill.repeat(Math.ceil(bytes / fill.length))}\n`;
}

/** The file must be the header once, then exactly the expected entries, each whole, in some order. */
function expectWholeEntries(content: string, expected: string[]) {
  expect(content.startsWith(LOG_HEADER)).toBe(true);
  expect(content.split(LOG_HEADER.trim()).length - 1).toBe(1);
  const pieces = content.slice(LOG_HEADER.length).split(/(?=\n## writer )/);
  expect(pieces.length).toBe(expected.length);
  const wanted = new Set(expected);
  for (const piece of pieces) {
    // Not toContain on the set: a mismatch would print megabytes.
    expect(wanted.has(piece), `a piece starting ${JSON.stringify(piece.slice(0, 40))} is not a whole entry`).toBe(true);
    wanted.delete(piece);
  }
  expect(wanted.size).toBe(0);
}

describe('appendLogEntry', () => {
  it('creates the directory and a 0640 file with the header, then appends without touching old entries', async () => {
    const file = join(dir, 'deep', 'er', 'maintenance.md');
    await appendLogEntry(file, '\n## one\n\n');
    expect(await readFile(file, 'utf8')).toBe('# Maintenance log\n\n## one\n\n');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    await appendLogEntry(file, '\n## two\n\n');
    expect(await readFile(file, 'utf8')).toBe('# Maintenance log\n\n## one\n\n\n## two\n\n');
  });

  it('adds the header to an existing empty file, but never to a file with content', async () => {
    const empty = join(dir, 'empty.md');
    await writeFile(empty, '');
    await appendLogEntry(empty, '\n## a\n\n');
    expect(await readFile(empty, 'utf8')).toBe('# Maintenance log\n\n## a\n\n');

    const old = join(dir, 'old.md');
    await writeFile(old, 'Team notes, hand written.\n');
    await appendLogEntry(old, '\n## b\n\n');
    expect(await readFile(old, 'utf8')).toBe('Team notes, hand written.\n\n## b\n\n');
  });

  it('leaves no temporary files behind', async () => {
    await Promise.all([0, 1, 2].map((i) => appendLogEntry(join(dir, 'log.md'), `\n## ${i}\n\n`)));
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['log.md']);
  });

  it('5 concurrent appends of 1 MB entries into a new file: each entry whole, the header once', async () => {
    const file = join(dir, 'logs', 'maintenance.md');
    const entries = [0, 1, 2, 3, 4].map((w) => bigEntry(w, 0, 1024 * 1024));
    await Promise.all(entries.map((e) => appendLogEntry(file, e)));
    expectWholeEntries(await readFile(file, 'utf8'), entries);
  });

  it('5 processes appending at the same moment: each entry whole, the header once', async () => {
    // Node 20 cannot run TypeScript: run the module's own code (and what it imports), transpiled, in each child.
    await transpileTree(fileURLToPath(new URL('../../../src/', import.meta.url)), 'record/log-file.ts', join(dir, 'src'));
    await writeFile(
      join(dir, 'child.mjs'),
      `import { appendLogEntry } from './src/record/log-file.js';
const [file, writer, count, bytes, startAt] = process.argv.slice(2);
function bigEntry(writer, index, bytes) {
  const fill = \`\${String.fromCharCode(65 + writer)}\${index}\`.repeat(40).slice(0, 99) + '\\n';
  return \`\\n## writer \${writer} entry \${index}\\n\\n\${fill.repeat(Math.ceil(bytes / fill.length))}\\n\`;
}
while (Date.now() < Number(startAt)) { /* start together */ }
for (let i = 0; i < Number(count); i++) await appendLogEntry(file, bigEntry(Number(writer), i, Number(bytes)));
`,
    );
    const file = join(dir, 'logs', 'maintenance.md');
    const writers = 5;
    const count = 3;
    const bytes = 512 * 1024;
    const startAt = Date.now() + 1500;
    const exits = Array.from({ length: writers }, (_, w) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [join(dir, 'child.mjs'), file, String(w), String(count), String(bytes), String(startAt)], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        child.on('error', reject);
        child.on('exit', resolve);
      }),
    );
    expect(await Promise.all(exits)).toEqual(Array(writers).fill(0));
    const expected = Array.from({ length: writers }, (_, w) => Array.from({ length: count }, (_, i) => bigEntry(w, i, bytes))).flat();
    expectWholeEntries(await readFile(file, 'utf8'), expected);
  });
});

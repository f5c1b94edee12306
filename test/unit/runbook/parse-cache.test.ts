import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { beforeEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../src/runbook/diagnostics.js';
import { RunbookLibrary } from '../../../src/runbook/library.js';
import { openParseCache, type ParseCache } from '../../../src/runbook/parse-cache.js';
import { parseRunbook } from '../../../src/runbook/parse.js';
import type { RunbookInput } from '../../../src/runbook/schema.js';

const TEXT = 'title: t\nsteps:\n  - { name: one, run: [echo, one], readonly: true }\n';
const input = (text = TEXT) => parseRunbook('x.yaml', text).runbook!.input;
const uid = process.geteuid!();

/** put and save: what a run does once its checks have passed. */
const keep = (cache: ParseCache, file: string, text: string, value: RunbookInput = input()) => {
  cache.put(file, text, value);
  cache.save();
};
const open = (d = dir, build = 'b', write = true) => openParseCache(d, build, { write })!;
const onlyEntry = () => {
  const names = readdirSync(dir);
  expect(names).toHaveLength(1);
  return join(dir, names[0]!);
};

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'maint-parse-cache-'));
  dir = join(root, 'state', 'cache');
});

describe('openParseCache', () => {
  it('returns what was kept for the same build, file and text, and nothing for any other', () => {
    keep(open(dir, 'build-a'), '/r/x.yaml', TEXT);
    expect(open(dir, 'build-a').get('/r/x.yaml', TEXT)).toEqual(input());
    expect(open(dir, 'build-a').get('/r/x.yaml', TEXT + '# edited\n')).toBeUndefined();
    expect(open(dir, 'build-a').get('/r/y.yaml', TEXT)).toBeUndefined();
    expect(open(dir, 'build-b').get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('writes only on save, and nothing when only reading', () => {
    const cache = open();
    cache.put('/r/x.yaml', TEXT, input());
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
    keep(open(dir, 'b', false), '/r/x.yaml', TEXT);
    expect(() => readdirSync(join(root, 'state'))).toThrow(/ENOENT/);
    cache.save();
    onlyEntry();
  });

  it('makes the state dir as the journal does, and the cache private to the user maint runs as', () => {
    const old = process.umask(0);
    try {
      keep(open(), '/r/x.yaml', TEXT);
    } finally {
      process.umask(old);
    }
    expect(statSync(join(root, 'state')).mode & 0o777).toBe(0o750);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(onlyEntry()).mode & 0o777).toBe(0o600);
  });

  it('keeps one entry per runbook file: an edit replaces it', () => {
    keep(open(), '/r/x.yaml', TEXT);
    keep(open(), '/r/x.yaml', TEXT + '# edited\n');
    onlyEntry();
    expect(open().get('/r/x.yaml', TEXT + '# edited\n')).toEqual(input());
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('trusts no entry another user could have written, and writes nothing there', () => {
    keep(open(), '/r/x.yaml', TEXT);
    const entry = onlyEntry();
    chmodSync(entry, 0o620);
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();
    chmodSync(entry, 0o600);
    expect(open().get('/r/x.yaml', TEXT)).toEqual(input());
    // As another user: the same entry, seen by a maint that runs as someone else.
    expect(openParseCache(dir, 'b', { write: true, uid: uid + 1 })!.get('/r/x.yaml', TEXT)).toBeUndefined();

    for (const folder of [dir, join(root, 'state'), root]) {
      chmodSync(folder, 0o777);
      expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();
      const before = readFileSync(entry);
      keep(open(), '/r/x.yaml', TEXT + '# edited\n');
      expect(readFileSync(entry)).toEqual(before);
      chmodSync(folder, 0o700);
    }
    // A sticky folder above (as /tmp is) is fine: nobody may rename what is not theirs in it.
    chmodSync(root, 0o1777);
    expect(open().get('/r/x.yaml', TEXT)).toEqual(input());
  });

  it('follows a link only where nobody else could have put it', () => {
    const real = join(root, 'real');
    keep(open(real), '/r/x.yaml', TEXT);
    mkdirSync(join(root, 'state'));
    symlinkSync(real, dir);
    expect(open(dir).get('/r/x.yaml', TEXT)).toEqual(input());
    chmodSync(join(root, 'state'), 0o777);
    expect(open(dir).get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('takes a link, a hard link or a FIFO in place of an entry for a miss', () => {
    keep(open(), '/r/x.yaml', TEXT);
    const entry = onlyEntry();
    const elsewhere = join(root, 'elsewhere');
    renameSync(entry, elsewhere);
    symlinkSync(elsewhere, entry);
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();

    execFileSync('rm', [entry]);
    linkSync(elsewhere, entry);
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();

    execFileSync('rm', [entry]);
    execFileSync('mkfifo', ['-m', '600', entry]);
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined(); // and does not wait for a writer
  });

  it('takes a damaged entry, or one whose stored parse was changed, for a miss', () => {
    keep(open(), '/r/x.yaml', TEXT);
    const entry = onlyEntry();
    const good = readFileSync(entry);
    const e = deserialize(good) as { payload: Uint8Array };
    const changed = serialize(input(TEXT.replace('[echo, one]', '[echo, two]')));
    writeFileSync(entry, serialize({ ...e, payload: changed }));
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();
    writeFileSync(entry, good.subarray(0, good.length - 10));
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();
    writeFileSync(entry, good);
    expect(open().get('/r/x.yaml', TEXT)).toEqual(input());
  });

  it('never fails a run: a cache that cannot be written is only a miss', () => {
    writeFileSync(join(root, 'state'), 'a file where the state dir should be');
    expect(() => keep(open(), '/r/x.yaml', TEXT)).not.toThrow();
    expect(open().get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('keeps at most 256 entries, dropping the least recently used', () => {
    const cache = open();
    for (let i = 0; i < 256; i++) cache.put(`/r/${i}.yaml`, TEXT, input());
    cache.save();
    expect(readdirSync(dir)).toHaveLength(256);
    // Entry i last used i seconds after 2020: /r/0 is the oldest, /r/1 next.
    const entryOf = (file: string) => join(dir, `${createHash('sha256').update(file).update('\0').digest('hex').slice(0, 32)}.runbook`);
    for (let i = 0; i < 256; i++) utimesSync(entryOf(`/r/${i}.yaml`), new Date(2020, 0, 1, 0, 0, i), new Date(2020, 0, 1, 0, 0, i));
    expect(open().get('/r/0.yaml', TEXT)).toEqual(input()); // a run reads it: used now
    keep(open(), '/r/new.yaml', TEXT);
    expect(readdirSync(dir)).toHaveLength(256);
    expect(open().get('/r/new.yaml', TEXT)).toEqual(input());
    expect(open().get('/r/0.yaml', TEXT)).toEqual(input());
    expect(open().get('/r/1.yaml', TEXT)).toBeUndefined();
  });
});

describe('RunbookLibrary with a parse cache', () => {
  const runbooks = () => {
    const d = join(root, 'runbooks');
    mkdirSync(d, { recursive: true });
    return d;
  };
  const library = (rbDir: string, cache = open()) => new RunbookLibrary([rbDir], rbDir, cache);

  it('parses once: the next library reads the parse the first one kept', () => {
    const rbDir = runbooks();
    writeFileSync(join(rbDir, 'x.yaml'), TEXT);
    const cache = open();
    const first = library(rbDir, cache);
    const a = first.loadTree(first.find('x')!);
    expect(a.diagnostics).toEqual([]);
    expect(() => readdirSync(dir)).toThrow(/ENOENT/); // kept only when maint saves
    cache.save();
    onlyEntry();

    const second = library(rbDir);
    const b = second.loadTree(second.find('x')!);
    expect(b.diagnostics).toEqual([]);
    expect(b.root!.input).toEqual(a.root!.input);
    expect(b.root!.sites.map((s) => s.id)).toEqual(['one']);
    expect(b.root!.name).toBe('x');
  });

  it('reports a problem found after a cached parse where it is in the file', () => {
    const rbDir = runbooks();
    const text = 'vars:\n  word: { default: x }\nsteps:\n  - { name: one, run: [echo, one], readonly: true }\n  - name: two\n    run: [echo, "{{ vars.word }}"]\n    readonly: true\n';
    writeFileSync(join(rbDir, 'x.yaml'), text);
    expect(new RunbookLibrary([rbDir], rbDir).loadTree({ name: 'x', file: join(rbDir, 'x.yaml'), shipped: false }).diagnostics).toEqual([]);
    // The kept parse declares no vars, unlike the file: only a hit finds a problem, and its
    // position must come from the file's text.
    const kept = input(text);
    delete kept.vars;
    keep(open(), join(rbDir, 'x.yaml'), text, kept);
    const lib = library(rbDir);
    expect(lib.loadTree(lib.find('x')!).diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/x\.yaml:6:17: steps\[1\]\.run\[1\]: `vars\.word` is not declared under vars:$/),
    ]);
  });

  it('keeps no parse that had a problem', () => {
    const rbDir = runbooks();
    writeFileSync(join(rbDir, 'x.yaml'), 'steps:\n  - { name: one, run: [echo, one], tiemout: 5s }\n');
    const cache = open();
    const lib = library(rbDir, cache);
    expect(lib.loadTree(lib.find('x')!).diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/unknown field "tiemout"; did you mean "timeout"\?/),
    ]);
    cache.save();
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });
});

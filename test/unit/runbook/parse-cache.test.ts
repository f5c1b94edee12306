import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../src/runbook/diagnostics.js';
import { RunbookLibrary } from '../../../src/runbook/library.js';
import { openParseCache } from '../../../src/runbook/parse-cache.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

const TEXT = 'title: t\nsteps:\n  - { name: one, run: [echo, one], readonly: true }\n';
const input = () => parseRunbook('x.yaml', TEXT).runbook!.input;
const uid = process.geteuid!();

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'maint-parse-cache-'));
  dir = join(root, 'cache');
});

describe('openParseCache', () => {
  it('returns what was put for the same build, file and text, and nothing for any other', () => {
    const cache = openParseCache(dir, 'build-a', { write: true })!;
    cache.put('/r/x.yaml', TEXT, input());
    expect(cache.get('/r/x.yaml', TEXT)).toEqual(input());
    expect(cache.get('/r/x.yaml', TEXT + '# edited\n')).toBeUndefined();
    expect(cache.get('/r/y.yaml', TEXT)).toBeUndefined();
    expect(openParseCache(dir, 'build-b', { write: true })!.get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('makes its folder and entries private to the user maint runs as', () => {
    openParseCache(dir, 'b', { write: true })!.put('/r/x.yaml', TEXT, input());
    const [entry] = readdirSync(dir);
    expect(readdirSync(dir)).toHaveLength(1);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, entry!)).mode & 0o777).toBe(0o600);
  });

  it('keeps one entry per runbook file: an edit replaces it', () => {
    const cache = openParseCache(dir, 'b', { write: true })!;
    cache.put('/r/x.yaml', TEXT, input());
    cache.put('/r/x.yaml', TEXT + '# edited\n', input());
    expect(readdirSync(dir)).toHaveLength(1);
    expect(cache.get('/r/x.yaml', TEXT + '# edited\n')).toEqual(input());
    expect(cache.get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('writes nothing when only reading', () => {
    openParseCache(dir, 'b', { write: false })!.put('/r/x.yaml', TEXT, input());
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });

  it('trusts no entry another user could have written, and writes nothing there', () => {
    const cache = openParseCache(dir, 'b', { write: true })!;
    cache.put('/r/x.yaml', TEXT, input());
    const entry = join(dir, readdirSync(dir)[0]!);

    chmodSync(entry, 0o620);
    expect(cache.get('/r/x.yaml', TEXT)).toBeUndefined();
    chmodSync(entry, 0o600);
    expect(cache.get('/r/x.yaml', TEXT)).toEqual(input());

    chmodSync(dir, 0o777);
    expect(cache.get('/r/x.yaml', TEXT)).toBeUndefined();
    const before = readFileSync(entry);
    cache.put('/r/x.yaml', TEXT + '# edited\n', input());
    expect(readFileSync(entry)).toEqual(before);
    chmodSync(dir, 0o700);

    // As another user: the same entry, seen by a maint that runs as someone else.
    expect(openParseCache(dir, 'b', { write: true, uid: uid + 1 })!.get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('does not follow a link in place of its folder', () => {
    const real = join(root, 'real');
    openParseCache(real, 'b', { write: true })!.put('/r/x.yaml', TEXT, input());
    symlinkSync(real, dir);
    expect(openParseCache(real, 'b', { write: true })!.get('/r/x.yaml', TEXT)).toEqual(input());
    expect(openParseCache(dir, 'b', { write: true })!.get('/r/x.yaml', TEXT)).toBeUndefined();
  });

  it('takes a damaged entry for a miss', () => {
    const cache = openParseCache(dir, 'b', { write: true })!;
    cache.put('/r/x.yaml', TEXT, input());
    writeFileSync(join(dir, readdirSync(dir)[0]!), 'not an entry');
    expect(cache.get('/r/x.yaml', TEXT)).toBeUndefined();
  });
});

describe('RunbookLibrary with a parse cache', () => {
  const runbooks = () => {
    const d = join(root, 'runbooks');
    mkdirSync(d, { recursive: true });
    return d;
  };

  it('parses once: a second library reads the first one\'s parse', () => {
    const rbDir = runbooks();
    writeFileSync(join(rbDir, 'x.yaml'), TEXT);
    const first = new RunbookLibrary([rbDir], rbDir, openParseCache(dir, 'b', { write: true }));
    const a = first.loadTree(first.find('x')!);
    expect(a.diagnostics).toEqual([]);
    expect(readdirSync(dir)).toHaveLength(1);

    const second = new RunbookLibrary([rbDir], rbDir, openParseCache(dir, 'b', { write: true }));
    const b = second.loadTree(second.find('x')!);
    expect(b.diagnostics).toEqual([]);
    expect(b.root!.input).toEqual(a.root!.input);
    expect(b.root!.sites.map((s) => s.id)).toEqual(['one']);
    expect(b.root!.name).toBe('x');
  });

  it('reports a problem found after the parse at the same place as without the cache', () => {
    const rbDir = runbooks();
    const text = 'steps:\n  - { name: one, run: [echo, one], readonly: true }\n  - name: two\n    run: [echo, "{{ vars.nope }}"]\n    readonly: true\n';
    writeFileSync(join(rbDir, 'x.yaml'), text);
    const load = () => {
      const lib = new RunbookLibrary([rbDir], rbDir, openParseCache(dir, 'b', { write: true }));
      return lib.loadTree(lib.find('x')!).diagnostics.map(formatDiagnostic);
    };
    const uncached = load();
    expect(uncached).toHaveLength(1);
    expect(uncached[0]).toMatch(/x\.yaml:4:\d+: steps\[1\]\.run\[1\]: `vars\.nope` is not declared/);
    // The parse itself had no problem, so it was kept; the check's problem is found again.
    expect(readdirSync(dir)).toHaveLength(1);
    expect(load()).toEqual(uncached);
  });

  it('keeps no parse that had a problem', () => {
    const rbDir = runbooks();
    writeFileSync(join(rbDir, 'x.yaml'), 'steps:\n  - { name: one, run: [echo, one], tiemout: 5s }\n');
    const lib = new RunbookLibrary([rbDir], rbDir, openParseCache(dir, 'b', { write: true }));
    expect(lib.loadTree(lib.find('x')!).diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/unknown field "tiemout"; did you mean "timeout"\?/),
    ]);
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });
});

/**
 * The one error handler's pure parts: how each kind of error is described, where a crash report
 * goes, and how a bundle's stack is mapped back to the sources.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crashReport, crashStateDir, sourceMappedStack, writeCrashReport } from '../../../src/cli/crash.js';
import { describeError, InvalidInput, isInternalError, MaintError, UsageError } from '../../../src/cli/errors.js';

describe('describeError', () => {
  const commanderError = Object.assign(new Error('unknown option'), { code: 'commander.unknownOption' });
  it.each<[string, unknown, Parameters<typeof describeError>[1], { lines: string[]; exitCode: number }]>([
    ['bad input: every problem, then the summary', new InvalidInput([{ file: 'b.yaml', line: 2, col: 1, path: 'x', message: 'second' }, { file: 'a.yaml', line: 9, col: 3, path: '', message: 'first' }]), {}, { lines: ['a.yaml:9:3: first', 'b.yaml:2:1: x: second', 'maint: 2 problems found; nothing was run'], exitCode: 2 }],
    ['a usage error: one line', new UsageError('--var x: expected name=value'), {}, { lines: ['maint: --var x: expected name=value'], exitCode: 2 }],
    ['another maint error keeps its code', new MaintError('locked', 75), {}, { lines: ['maint: locked'], exitCode: 75 }],
    ['commander printed its own message', commanderError, {}, { lines: [], exitCode: 2 }],
    ['a bug: its class, the version and the crash file; not its message', new TypeError('secret-in-message'), { version: '1.2.3', crashFile: '/s/crash/x.txt' }, { lines: ['maint: internal error (TypeError): a bug in maint 1.2.3; the stack is in /s/crash/x.txt; please report it'], exitCode: 70 }],
    ['a bug whose report could not be written', new Error('x'), { version: '1.2.3', crashFile: null }, { lines: ['maint: internal error (Error): a bug in maint 1.2.3; the stack could not be written to a file (set MAINT_DEBUG=1 to print it); please report it'], exitCode: 70 }],
    ['something thrown that is not an Error', 'a string', {}, { lines: ['maint: internal error (string): a bug in maint; please report it'], exitCode: 70 }],
    ['null thrown', null, {}, { lines: ['maint: internal error (object): a bug in maint; please report it'], exitCode: 70 }],
  ])('%s', (_what, err, ctx, expected) => {
    expect(describeError(err, ctx)).toEqual(expected);
    expect(isInternalError(err)).toBe(expected.exitCode === 70);
  });
});

describe('crashStateDir: the state dir without the config', () => {
  it.each<[string[], Record<string, string>, string]>([
    [['node', 'maint', 'run', 'x', '--state', 'st'], {}, '/w/st'],
    [['node', 'maint', 'run', 'x', '--state=/abs'], { MAINT_STATE: 'other' }, '/abs'],
    [['node', 'maint', 'run', 'x'], { MAINT_STATE: 'from-env' }, '/w/from-env'],
    [['node', 'maint', 'run', 'x', '--state'], {}, '/w/.maint'],
    [['node', 'maint', 'plan', 'x'], {}, '/w/.maint'],
  ])('%j %j → %s', (argv, env, dir) => {
    expect(crashStateDir(argv, env, '/w')).toBe(dir);
  });
});

describe('the crash report', () => {
  it('names the command and flags but no values, and holds the stack with its causes', () => {
    const err = new Error('outer', { cause: new RangeError('inner') });
    const text = crashReport(err, { version: '9.9.9', argv: ['node', 'maint', 'run', 'weekly', '--var', 'pw=hunter2', '--yes'], now: new Date('2026-01-02T03:04:05Z') });
    expect(text).toMatch(/^maint 9\.9\.9 crashed at 2026-01-02T03:04:05\.000Z\n/);
    expect(text).toContain('command: maint run … --var … --yes');
    expect(text).not.toContain('hunter2');
    expect(text).toMatch(/Error: outer\n\s+at /);
    expect(text).toMatch(/caused by: RangeError: inner/);
  });

  it('goes to <state>/crash, or to the temp folder when the state dir cannot hold it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maint-crash-test-'));
    const now = new Date('2026-01-02T03:04:05Z');
    expect(writeCrashReport('text', join(dir, 'state'), now)).toBe(join(dir, 'state', 'crash', `2026-01-02T03-04-05-000Z-${process.pid}.txt`));
    writeFileSync(join(dir, 'file'), 'not a folder');
    expect(writeCrashReport('text', join(dir, 'file'), now)).toBe(join(tmpdir(), 'maint-crash', `2026-01-02T03-04-05-000Z-${process.pid}.txt`));
  });
});

describe('sourceMappedStack', () => {
  // A bundle of two lines whose map points line 1 at src/a.ts:1 and line 2 at src/a.ts:2.
  const dir = mkdtempSync(join(tmpdir(), 'maint-map-test-'));
  mkdirSync(join(dir, 'dist'));
  const bundle = join(dir, 'dist', 'b.cjs');
  writeFileSync(bundle, 'x;\ny;\n');
  writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, sources: ['../src/a.ts'], names: [], mappings: 'AAAA;AACA' }));

  it.each<[string, string]>([
    [`    at f (${bundle}:2:1)`, `    at f (${join(dir, 'src', 'a.ts')}:2:1)`],
    // bin/load.js puts a function wrapper on the bundle's first line.
    [`    at g (${bundle}:1:63)`, `    at g (${join(dir, 'src', 'a.ts')}:1:1)`],
    ['    at h (/no/such/bundle.cjs:3:4)', '    at h (/no/such/bundle.cjs:3:4)'],
    ['    at node:internal/main:28:49', '    at node:internal/main:28:49'],
  ])('%s', (line, mapped) => {
    expect(sourceMappedStack(line)).toBe(mapped);
  });
});

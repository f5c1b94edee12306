import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkWritableDir, checkWritableFile, ensureDir, explainErrno, PathError } from '../../../src/fs/ensure-dir.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'maint-fs-'));
const isRoot = process.getuid?.() === 0;

describe('ensureDir', () => {
  it('creates every missing level with the mode asked for', () => {
    const dir = join(tmp(), 'a/b/c');
    ensureDir(dir, 0o750);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o750 & ~process.umask());
    ensureDir(dir); // again: nothing to do
  });

  // Node's own recursive mkdir spins forever here; this must fail at once.
  it.skipIf(!existsSync('/proc/self'))('under /proc: a clear error, not a loop', () => {
    const t0 = Date.now();
    expect(() => ensureDir('/proc/maint-nope/a/b')).toThrow(/cannot create \/proc\/maint-nope\/a\/b: \/proc cannot hold new entries/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a file in the way: ENOTDIR naming it', () => {
    const file = join(tmp(), 'plain');
    writeFileSync(file, '');
    let caught: unknown;
    try {
      ensureDir(join(file, 'x/y'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PathError);
    expect((caught as PathError).code).toBe('ENOTDIR');
    expect((caught as PathError).message).toBe(`cannot create ${join(file, 'x/y')}: ${file} is not a folder`);
  });

  it.skipIf(!existsSync('/dev/full'))('a device in the way', () => {
    expect(() => ensureDir('/dev/full/state')).toThrow(/\/dev\/full is not a folder/);
  });

  it('an empty path', () => {
    expect(() => ensureDir('')).toThrow(/empty path/);
  });

  it.skipIf(isRoot)('a folder without write permission: EACCES named', () => {
    const ro = tmp();
    chmodSync(ro, 0o500);
    expect(() => ensureDir(join(ro, 'state'))).toThrow(`no permission to write to ${ro}`);
  });
});

describe('explainErrno', () => {
  it.each([
    ['ENOENT', /cannot hold new entries/],
    ['EACCES', /^no permission to write to \/x$/],
    ['EPERM', /^writing to \/x is not permitted \(an immutable file, or a filesystem that refuses it\)$/],
    ['EROFS', /^\/x is on a read-only filesystem$/],
    ['ENOSPC', /^no space left on the device of \/x$/],
    ['ENOTDIR', /^\/x is not a folder$/],
    ['EISDIR', /^\/x is a folder$/],
    ['EWHAT', /^\/x: EWHAT$/],
  ])('%s', (code, expected) => expect(explainErrno(code, '/x')).toMatch(expected));
});

describe('checkWritableDir / checkWritableFile', () => {
  it('a writable place: no problem, and no file left behind', () => {
    const dir = tmp();
    expect(checkWritableDir(join(dir, 'state'))).toBeUndefined();
    expect(checkWritableFile(join(dir, 'logs/ops.md'))).toBeUndefined();
    expect(existsSync(join(dir, 'logs/ops.md'))).toBe(false);
  });

  it('a folder given as the log, an empty path, a path under /proc', () => {
    const dir = tmp();
    expect(checkWritableFile(dir)).toBe(`cannot write ${dir}: ${dir} is a folder`);
    expect(checkWritableFile('')).toMatch(/empty path/);
    expect(checkWritableDir('')).toMatch(/empty path/);
    if (existsSync('/proc/self')) expect(checkWritableFile('/proc/maint-nope/log.md')).toMatch(/cannot hold new entries/);
  });

  it('an immutable log file (chattr +i), where the filesystem supports it', (ctx) => {
    const file = join(tmp(), 'log.md');
    writeFileSync(file, '# Maintenance log\n');
    if (spawnSync('chattr', ['+i', file]).status !== 0) return ctx.skip();
    try {
      expect(checkWritableFile(file)).toBe(`cannot write ${file}: writing to ${file} is not permitted (an immutable file, or a filesystem that refuses it)`);
    } finally {
      spawnSync('chattr', ['-i', file]);
    }
  });

  it.skipIf(!existsSync('/sys/kernel'))('a folder nobody may write in (/sys)', () => {
    expect(checkWritableDir('/sys/maint-state')).toMatch(/cannot create \/sys\/maint-state/);
  });
});

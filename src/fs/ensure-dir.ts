/**
 * Creating the folders maint writes into (state dir, log folder, init target) without
 * `mkdirSync(…, { recursive: true })`: under /proc that call retries ENOENT forever at 100% CPU
 * and ignores SIGTERM. Here the path is walked up to the first ancestor that exists, then each
 * missing level is created on its own, so every failure is one system call and one clear message.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';

/** No real path is this deep; the bound keeps a surprise (a symlink loop, a strange fs) finite. */
const MAX_LEVELS = 256;

/** A path maint cannot write to, with a message that names the path and says why. */
export class PathError extends Error {
  constructor(
    message: string,
    /** The path the caller asked for. */
    readonly path: string,
    /** The errno code behind it (ENOENT, EACCES, EROFS, ENOSPC, ENOTDIR, …), when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Why a system call on `at` failed, in words an operator can act on. */
export function explainErrno(code: string | undefined, at: string): string {
  switch (code) {
    case 'ENOENT':
      return `${at} cannot hold new entries (no such file or directory; a virtual filesystem such as /proc?)`;
    case 'EACCES':
      return `no permission to write to ${at}`;
    case 'EPERM':
      return `writing to ${at} is not permitted (an immutable file, or a filesystem that refuses it)`;
    case 'EROFS':
      return `${at} is on a read-only filesystem`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left on the device of ${at}`;
    case 'ENOTDIR':
      return `${at} is not a folder`;
    case 'EISDIR':
      return `${at} is a folder`;
    case 'ENAMETOOLONG':
      return `${at}: the name is too long`;
    case 'ELOOP':
      return `${at}: too many symbolic links`;
    default:
      return `${at}: ${code ?? 'unknown error'}`;
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** 'dir', 'other' (exists, not a folder) or undefined (nothing there); other errors are thrown. */
function kind(path: string): 'dir' | 'other' | undefined {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    const code = errnoOf(err);
    // ENOTDIR: a file sits above; the walk goes on up and names it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Make sure `dir` is a folder, creating the missing levels (with `mode`). Throws a PathError
 * naming the level that failed and why; never loops.
 */
export function ensureDir(dir: string, mode = 0o750): void {
  if (dir === '') throw new PathError('an empty path is not a folder', dir);
  const target = resolve(dir);
  const missing: string[] = [];
  let at = target;
  for (let level = 0; ; level++) {
    if (level > MAX_LEVELS) throw new PathError(`cannot create ${target}: more than ${MAX_LEVELS} missing levels`, dir);
    let found: 'dir' | 'other' | undefined;
    try {
      found = kind(at);
    } catch (err) {
      throw new PathError(`cannot create ${target}: ${explainErrno(errnoOf(err), at)}`, dir, errnoOf(err));
    }
    if (found === 'dir') break;
    if (found === 'other') throw new PathError(`cannot create ${target}: ${explainErrno('ENOTDIR', at)}`, dir, 'ENOTDIR');
    const parent = dirname(at);
    if (parent === at) throw new PathError(`cannot create ${target}: no existing folder above it`, dir, 'ENOENT');
    missing.push(at);
    at = parent;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode });
    } catch (err) {
      const code = errnoOf(err);
      // Another process made it between our stat and mkdir: fine if it is a folder.
      if (code === 'EEXIST' && kind(level) === 'dir') continue;
      throw new PathError(`cannot create ${target}: ${explainErrno(code, dirname(level))}`, dir, code);
    }
  }
}

/**
 * Whether maint can create files in `dir` (creating the folder first): the problem in one
 * line, or undefined. Tried for real (a private file created and removed), since permission
 * bits say nothing about a read-only mount, a full disk or root.
 */
export function checkWritableDir(dir: string): string | undefined {
  try {
    ensureDir(dir);
  } catch (err) {
    return (err as Error).message;
  }
  const probe = join(resolve(dir), `.maint-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (err) {
    return `cannot write in ${resolve(dir)}: ${explainErrno(errnoOf(err), resolve(dir))}`;
  }
  try {
    unlinkSync(probe);
  } catch {
    // created but not removable: still writable, which is what was asked
  }
  return undefined;
}

/**
 * Whether maint can append to `file` (a log): the problem in one line, or undefined. An existing
 * file is opened for appending (its content untouched); a missing one needs a writable folder.
 */
export function checkWritableFile(file: string): string | undefined {
  if (file === '') return 'an empty path is not a file';
  const path = resolve(file);
  let found: 'dir' | 'other' | undefined;
  try {
    found = kind(path);
  } catch (err) {
    return `cannot write ${path}: ${explainErrno(errnoOf(err), path)}`;
  }
  if (found === 'dir') return `cannot write ${path}: ${explainErrno('EISDIR', path)}`;
  if (found === undefined) return checkWritableDir(dirname(path));
  try {
    closeSync(openSync(path, 'a'));
  } catch (err) {
    return `cannot write ${path}: ${explainErrno(errnoOf(err), path)}`;
  }
  return undefined;
}

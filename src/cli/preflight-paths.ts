/**
 * The files a run writes, checked before its first step: a maintenance log that turns out to be
 * a folder, an immutable file or a path under /proc must be found while nothing has happened
 * yet, not after a run that printed "passed" (and a recursive mkdir under /proc never returns).
 *
 * The checks only look: nothing is created here. A missing folder is judged by its first
 * existing ancestor, which must be a writable folder on a filesystem that holds files.
 */
import { accessSync, closeSync, constants, lstatSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pseudoFs } from '../config/kernel-fs.js';
import { MaintError } from './errors.js';

/** Several unusable paths at once, one line each; nothing was run (exit 2). */
export class PathProblems extends MaintError {
  constructor(readonly problems: string[]) {
    // main() prints `maint: <message>`: one prefixed line per problem.
    super(`${problems.join('\nmaint: ')}\nmaint: nothing was run`, 2);
  }
}

/** What a run is about to write. */
export interface RunPaths {
  log: string;
  state: string;
  junit?: string;
}

/** Every unusable path, each as one line naming it; empty when all are fine. */
export function checkRunPaths(paths: RunPaths): string[] {
  const problems: string[] = [];
  const log = logFileProblem(paths.log);
  if (log) problems.push(`maintenance log ${paths.log}: ${log}`);
  const state = stateDirProblem(paths.state);
  if (state) problems.push(`state folder ${paths.state}: ${state}`);
  if (paths.junit !== undefined) {
    const junit = replacedFileProblem(paths.junit);
    if (junit) problems.push(`--junit ${paths.junit}: ${junit}`);
  }
  return problems;
}

/** Why the maintenance log cannot be appended to, or undefined. */
export function logFileProblem(path: string): string | undefined {
  return fileProblem(path);
}

/** Why the state folder cannot be used (or created), or undefined. */
export function stateDirProblem(path: string): string | undefined {
  if (path === '') return 'an empty path';
  const st = stat(path);
  if (st.error && !missing(st.error)) return describe(st.error);
  if (st.stats) return st.stats.isDirectory() ? folderProblem(path) : 'is a file, not a folder';
  return creatable(resolve(path));
}

/** A report that is replaced by rename: only a plain file (not a link, a device or a FIFO) may be there. */
function replacedFileProblem(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    if (!st.isFile() && !st.isDirectory()) return 'is not a plain file (a link, a device, a FIFO); a report replaces only a plain file';
  } catch {
    // missing, or unreadable: fileProblem says which
  }
  return fileProblem(path);
}

/** A file that is appended to or replaced: it may exist (then it must take writes) or not yet. */
function fileProblem(path: string): string | undefined {
  if (path === '') return 'an empty path';
  const st = stat(path);
  if (st.error && !missing(st.error)) return describe(st.error);
  if (st.stats) {
    if (st.stats.isDirectory()) return 'is a folder, not a file';
    const fs = pseudoFs(dirname(resolve(path)));
    if (fs) return `is on ${fs}, a kernel filesystem, not a place for files`;
    try {
      // Opening for append changes nothing, and asks the kernel the real question: an immutable
      // file, a read-only filesystem or missing permission all fail here.
      closeSync(openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK));
      return undefined;
    } catch (err) {
      return `cannot be written: ${describe(err as NodeJS.ErrnoException)}`;
    }
  }
  return creatable(dirname(resolve(path)));
}

/** A folder that may not exist yet: its first existing ancestor decides. */
function creatable(dir: string): string | undefined {
  let at = dir;
  for (;;) {
    const what = at === dir ? 'cannot be created' : `cannot create ${dir}`;
    const st = stat(at);
    if (st.stats) {
      if (!st.stats.isDirectory()) return `${what}: ${at} is not a folder`;
      const problem = folderProblem(at);
      return problem ? `${what}: ${problem}` : undefined;
    }
    if (st.error && !missing(st.error)) return `${what}: ${describe(st.error)}`;
    const up = dirname(at);
    if (up === at) return `${what}: no existing folder above it`;
    at = up;
  }
}

/** An existing folder that must take new files. */
function folderProblem(dir: string): string | undefined {
  const fs = pseudoFs(dir);
  if (fs) return `${dir} is on ${fs}, a kernel filesystem, not a place for files`;
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    return `${dir} is not writable: ${describe(err as NodeJS.ErrnoException)}`;
  }
}

/** Not there: ENOENT, or ENOTDIR when a file stands where a folder would be (said by creatable). */
function missing(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ENOENT' || err.code === 'ENOTDIR';
}

function stat(path: string): { stats?: Stats; error?: NodeJS.ErrnoException } {
  try {
    return { stats: statSync(path) };
  } catch (err) {
    return { error: err as NodeJS.ErrnoException };
  }
}

/** `permission denied (EACCES)` rather than Node's `EACCES: permission denied, open '…'`. */
function describe(err: NodeJS.ErrnoException): string {
  const text = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
  return err.code ? `${text} (${err.code})` : text;
}

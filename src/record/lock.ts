/**
 * One run of a runbook at a time per state dir. The lock is a file created exclusively; a lock
 * whose maint is gone (SIGKILL, reboot) is stale and taken over, and said so.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MaintError } from '../cli/errors.js';
import { quoteShellWord } from '../expr/shell-quote.js';
import { ensureDir } from '../fs/ensure-dir.js';
import { isRunAlive } from './recover.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: number;
  runId: string;
}

export const EXIT_LOCKED = 75;

export function lockPath(stateDir: string, runbook: string): string {
  return join(stateDir, 'locks', `${runbook}.lock`);
}

/** Linux's largest possible pid (PID_MAX_LIMIT): a pid above it, or below 1, is never a live process. */
const PID_MAX_LIMIT = 2 ** 22;

/** The farthest from the epoch a Date can hold, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

/**
 * What a lock file holds: the holder; `gone` when the file is not there; or why it is not a
 * lock maint wrote (not JSON, or not the fields maint writes), which is never taken over.
 */
export type LockRead = { holder: LockInfo } | { gone: true } | { foreign: string };

/** Why `value` is not a lock maint wrote, or undefined when it is one. */
export function lockShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid)) return 'its pid is not a whole number';
  if (typeof v.host !== 'string') return 'its host is not a string';
  if (typeof v.startedAt !== 'number' || !Number.isFinite(v.startedAt) || Math.abs(v.startedAt) > MAX_DATE_MS) return 'its startedAt is not a time';
  if (typeof v.runId !== 'string') return 'its runId is not a string';
  return undefined;
}

export function readLock(file: string): LockRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { gone: true };
    return { foreign: `it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { foreign: text.trim() === '' ? 'it is empty' : 'it is not JSON' };
  }
  const problem = lockShapeProblem(value);
  return problem ? { foreign: problem } : { holder: value as LockInfo };
}

/** Whether the holder of a lock may still be running: a pid no process can have is stale. */
export function holderAlive(holder: LockInfo): boolean {
  if (holder.pid < 1 || holder.pid > PID_MAX_LIMIT) return false;
  return isRunAlive({ pid: holder.pid, host: holder.host });
}

/** The one-line refusal of a lock maint did not write: the file, why, and how to remove it. */
function foreignLock(file: string, runbook: string, why: string): MaintError {
  return new MaintError(
    `${file} is not a lock maint wrote (${why}); if no run of ${runbook} is going on, remove it (rm ${quoteShellWord(file)}) and try again`,
    EXIT_LOCKED,
  );
}

/**
 * Take the lock or throw exit 75 naming the holder. Returns a release function and, when a
 * stale lock was taken over, whose it was.
 */
export function acquireLock(stateDir: string, runbook: string, runId: string): { release: () => void; tookOver?: LockInfo } {
  const file = lockPath(stateDir, runbook);
  try {
    ensureDir(join(stateDir, 'locks'));
  } catch (err) {
    throw new MaintError(`${(err as Error).message}; nothing was run`, 2);
  }
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: Date.now(), runId };
  // Written aside, then linked into place: link fails when the lock exists, and a reader
  // never sees a half-written lock. The aside name is unguessable and created exclusively,
  // so nobody can plant a file (or a symlink) there for maint to write through.
  const tmp = `${file}.${randomBytes(12).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeFileSync(fd, JSON.stringify(mine) + '\n');
    // On disk before it is linked in: after a power loss the lock is whole or absent, never
    // empty (an empty lock is not one maint wrote, and would be refused).
    fsyncSync(fd);
  } catch (err) {
    rmSync(tmp, { force: true }); // a full disk leaves no half-written aside file behind
    throw err;
  } finally {
    closeSync(fd);
  }
  let tookOver: LockInfo | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      }
      const read = readLock(file);
      if ('gone' in read) continue; // released meanwhile: link again
      if ('foreign' in read) throw foreignLock(file, runbook, read.foreign);
      const holder = read.holder;
      if (holderAlive(holder)) {
        throw new MaintError(
          `${runbook} is already running: pid ${holder.pid} on ${holder.host}, started ${new Date(holder.startedAt).toISOString()} (run ${holder.runId}); try again later`,
          EXIT_LOCKED,
        );
      }
      // Stale: take it over, unless someone else just did.
      const again = readLock(file);
      if (!('holder' in again) || again.holder.pid !== holder.pid) continue;
      tookOver = holder;
      try {
        unlinkSync(file);
      } catch {
        // gone already
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  return {
    tookOver,
    release: () => {
      const read = readLock(file);
      if ('holder' in read && read.holder.pid === process.pid) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    },
  };
}

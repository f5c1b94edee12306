/**
 * One run of a runbook at a time per state dir. The lock is a file created exclusively; a lock
 * whose maint is gone (SIGKILL, reboot) is stale and taken over, and said so.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MaintError } from '../cli/errors.js';
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

function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

/**
 * Take the lock or throw exit 75 naming the holder. Returns a release function and, when a
 * stale lock was taken over, whose it was.
 */
export function acquireLock(stateDir: string, runbook: string, runId: string): { release: () => void; tookOver?: LockInfo } {
  const file = lockPath(stateDir, runbook);
  mkdirSync(join(stateDir, 'locks'), { recursive: true, mode: 0o750 });
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: Date.now(), runId };
  // Written aside, then linked into place: link fails when the lock exists, and a reader
  // never sees a half-written lock.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(mine) + '\n', { mode: 0o640 });
  let tookOver: LockInfo | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      }
      const holder = readLock(file);
      if (holder && isRunAlive({ pid: holder.pid, host: holder.host })) {
        throw new MaintError(
          `${runbook} is already running: pid ${holder.pid} on ${holder.host}, started ${new Date(holder.startedAt).toISOString()} (run ${holder.runId}); try again later`,
          EXIT_LOCKED,
        );
      }
      // Stale (or unreadable): take it over, unless someone else just did.
      const again = readLock(file);
      if (again && holder && again.pid !== holder.pid) continue;
      tookOver = holder ?? undefined;
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
      if (readLock(file)?.pid === process.pid) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    },
  };
}

/**
 * One run of a runbook at a time per state dir. The lock is a file created exclusively; a lock
 * whose maint is gone (SIGKILL, reboot) is stale and taken over, and said so.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MaintError } from '../cli/errors.js';
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
  writeFileSync(tmp, JSON.stringify(mine) + '\n', { mode: 0o600, flag: 'wx' });
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

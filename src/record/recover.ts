/**
 * Crash recovery: a run whose maint process is gone (SIGKILL, OOM, power) still says `running`.
 * The next maint command that opens the state dir closes it as interrupted, from its journal,
 * and writes its log entry with what had completed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { listRunningIds, outputFileName, readEvents, readMetaFile, runsDir, unmarkRunning, writeMetaFile, type RunMetaFile } from './journal.js';
import { formatLogEntry } from './log-entry.js';
import { appendLogEntry } from './log-file.js';
import { applyEvent, emptyRecord } from './summary.js';
import type { RunRecord } from './types.js';

/** Alive and still a maint process (pids are reused). Zombies count as gone. */
export function isRunAlive(meta: Pick<RunMetaFile, 'pid' | 'host'>): boolean {
  if (meta.host !== hostname()) return true; // another host's run: not ours to judge
  try {
    process.kill(meta.pid, 0);
  } catch {
    return false;
  }
  try {
    if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${meta.pid}/stat`, 'utf8'))) return false;
    return readFileSync(`/proc/${meta.pid}/cmdline`, 'utf8').includes('maint');
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** The record of a run, replayed from its journal. */
export function replayRun(dir: string, meta: RunMetaFile): RunRecord {
  const rec = emptyRecord(
    { by: meta.by, via: meta.via, ciUrl: meta.ciUrl, resumedFrom: meta.resumedFrom },
    { runId: meta.runId, runbook: meta.runbook, title: meta.title, time: meta.startedAt },
  );
  const outputFile = (qid: string) => {
    const f = join(dir, 'steps', outputFileName(qid));
    return existsSync(f) ? f : undefined;
  };
  for (const e of readEvents(dir)) applyEvent(rec, e, outputFile);
  if (meta.status !== 'running') {
    rec.status = meta.status;
    rec.exitCode = meta.exitCode ?? rec.exitCode;
    rec.durationMs = meta.durationMs ?? rec.durationMs;
    rec.pausedAt = meta.pausedAt;
  }
  return rec;
}

/**
 * Close every orphaned run in the state dir; returns the ids closed. Only runs still marked as
 * running are read: this happens before every run, and the state dir keeps every run ever made.
 */
export async function recoverOrphans(stateDir: string): Promise<string[]> {
  const closed: string[] = [];
  for (const runId of listRunningIds(stateDir)) {
    const dir = join(runsDir(stateDir), runId);
    const meta = readMetaFile(dir);
    if (meta?.status === 'running' && isRunAlive(meta)) continue;
    if (meta?.status !== 'running') {
      unmarkRunning(stateDir, runId); // ended after all (or no run behind the marker)
      continue;
    }
    const rec = replayRun(dir, meta);
    rec.status = 'interrupted';
    rec.exitCode = 137;
    const entry = formatLogEntry(rec) + `_maint (pid ${meta.pid}) stopped during this run; recorded by a later maint command._\n\n`;
    writeMetaFile(dir, { ...meta, status: 'interrupted', exitCode: 137, durationMs: rec.durationMs, recovered: true });
    await appendLogEntry(meta.flags.log, entry);
    unmarkRunning(stateDir, runId);
    closed.push(meta.runId);
  }
  return closed;
}

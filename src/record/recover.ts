/**
 * Crash recovery: a run whose maint process is gone (SIGKILL, OOM, power) still says `running`.
 * The next maint command that opens the state dir closes it as interrupted, from its journal,
 * and writes its log entry with what had completed and what was running when maint stopped.
 *
 * Many maint commands may start at once (cron jobs, a person, CI), and each looks for orphans.
 * A run is recovered by exactly one of them: it claims the run by renaming the run's marker
 * (rename is atomic: one process wins, the others find the marker gone), and a claim whose
 * recoverer died too is taken over the same way.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RunEvent } from '../exec/events.js';
import {
  claimName, claimRun, listRunMarkers, outputFileName, readEvents, readMetaFile, releaseClaim, runsDir, unmarkRunning, writeMetaFile,
  type RunMarker, type RunMetaFile,
} from './journal.js';
import { explainErrno } from '../fs/ensure-dir.js';
import { formatLogEntry } from './log-entry.js';
import { tryAppendLogEntry } from './log-file.js';
import { applyEvent, emptyRecord } from './summary.js';
import type { RunRecord } from './types.js';

/** Alive and still a maint process (pids are reused). Zombies count as gone. */
export function isRunAlive(meta: Pick<RunMetaFile, 'pid' | 'host'>): boolean {
  if (meta.host !== hostname()) return true; // another host's run: not ours to judge
  if (meta.pid === process.pid) return true;
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

/** The exit code a run recovered after maint died is recorded with (128 + SIGKILL). */
export const RECOVERED_EXIT = 137;

/** What the journal of a run that never ended says beyond its ended steps. */
export interface JournalTail {
  /** Time of the last event in the journal. */
  lastEventAt: number;
  /** Last write to the output file of a step still running, by qid (file modification times). */
  outputAt: Map<string, number>;
}

/**
 * Complete the record of a run whose journal stops short (pure): steps and rollbacks that started
 * and never ended are added as interrupted, timed to the last sign of life, and so is the run.
 */
export function closeCutShort(rec: RunRecord, events: RunEvent[], tail: JournalTail, pid: number, outputFile?: (qid: string) => string | undefined): RunRecord {
  const open = new Map<string, Extract<RunEvent, { type: 'step:start' }>>();
  const openRollbacks = new Map<string, Extract<RunEvent, { type: 'rollback:start' }>>();
  const attempts = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'step:start') open.set(e.qid, e);
    else if (e.type === 'step:end') open.delete(e.qid);
    else if (e.type === 'step:retry') attempts.set(e.qid, e.attempt);
    else if (e.type === 'rollback:start') openRollbacks.set(e.qid, e);
    else if (e.type === 'rollback:end') openRollbacks.delete(e.qid);
  }
  let lastSeenAt = tail.lastEventAt;
  let lastSeen = 'a journal event';
  for (const [qid, at] of tail.outputAt) {
    if (at > lastSeenAt) {
      lastSeenAt = at;
      lastSeen = `output of ${open.get(qid)?.name ?? openRollbacks.get(qid.replace(/:rollback$/, ''))?.name ?? qid}`;
    }
  }
  for (const s of open.values()) {
    rec.steps.push({
      qid: s.qid, name: s.name, phase: s.phase, status: 'interrupted', durationMs: Math.max(0, lastSeenAt - s.time),
      // A command step was on its first attempt unless a retry was journalled; a group ran none itself.
      attempts: s.command === undefined ? 0 : (attempts.get(s.qid) ?? 1),
      reason: 'running when maint stopped', outputFile: outputFile?.(s.qid),
    });
  }
  for (const r of openRollbacks.values()) {
    rec.rollbacks.push({ qid: r.qid, name: r.name, ok: false, durationMs: Math.max(0, lastSeenAt - r.time), reason: 'running when maint stopped; it may not have finished' });
  }
  rec.status = 'interrupted';
  rec.exitCode = RECOVERED_EXIT;
  rec.durationMs = Math.max(0, lastSeenAt - rec.startedAt);
  rec.recovered = { pid, lastSeenAt, lastSeen };
  return rec;
}

/** The journal's tail: the last event time, and when the still-running steps last wrote output. */
function journalTail(dir: string, events: RunEvent[], startedAt: number): JournalTail {
  const lastEventAt = events.reduce((t, e) => Math.max(t, e.time), startedAt);
  const ended = new Set<string>();
  for (const e of events) if (e.type === 'step:end') ended.add(e.qid);
  else if (e.type === 'rollback:end') ended.add(`${e.qid}:rollback`);
  const outputAt = new Map<string, number>();
  for (const e of events) {
    const qid = e.type === 'step:start' ? e.qid : e.type === 'rollback:start' ? `${e.qid}:rollback` : undefined;
    if (qid === undefined || ended.has(qid)) continue;
    try {
      outputAt.set(qid, statSync(join(dir, 'steps', outputFileName(qid))).mtimeMs);
    } catch {
      // printed nothing
    }
  }
  return { lastEventAt, outputAt };
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
  const events = readEvents(dir);
  for (const e of events) applyEvent(rec, e, outputFile);
  // A journal without run:end belongs to a run still going, or to one whose maint died.
  const cutShort = meta.recovered === true || (meta.status === 'running' && !isRunAlive(meta));
  if (cutShort && !events.some((e) => e.type === 'run:end')) {
    closeCutShort(rec, events, journalTail(dir, events, meta.startedAt), meta.pid, outputFile);
  }
  if (meta.status !== 'running') {
    // History shows a refused or crashed run as such; the record's consumers read it as text.
    rec.status = meta.status as RunRecord['status'];
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
export async function recoverOrphans(
  stateDir: string,
  /** Told what could not be done (the dead run's log not writable, say); never thrown. */
  onProblem: (problem: string) => void = (p) => void process.stderr.write(`maint: ${p}\n`),
): Promise<string[]> {
  const closed: string[] = [];
  for (const marker of listRunMarkers(stateDir)) {
    // One run that cannot be closed (a read-only state dir) must not stop the command that found it.
    try {
      if (await recoverOne(stateDir, marker, onProblem)) closed.push(marker.runId);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      onProblem(`run ${marker.runId} was left unfinished but could not be closed: ${e.code ? explainErrno(e.code, e.path ?? stateDir) : e.message}`);
    }
  }
  return closed;
}

/** Claim the marker's run if it is orphaned, and close it; true when this call closed it. */
async function recoverOne(stateDir: string, marker: RunMarker, onProblem: (problem: string) => void): Promise<boolean> {
  const me = { pid: process.pid, host: hostname() };
  let claim: string | undefined;
  let retaken = false;
  if (marker.claimedBy) {
    // Another command is recovering this run, or died doing so: then take its claim over.
    if (isRunAlive(marker.claimedBy)) return false;
    claim = claimRun(stateDir, marker.name, claimName(marker.runId, me));
    retaken = true;
  } else {
    const meta = readMetaFile(join(runsDir(stateDir), marker.runId));
    if (meta?.status === 'running' && isRunAlive(meta)) return false;
    if (meta?.status !== 'running') {
      unmarkRunning(stateDir, marker.runId); // ended after all (or no run behind the marker)
      return false;
    }
    claim = claimRun(stateDir, marker.name, claimName(marker.runId, me));
  }
  if (claim === undefined) return false; // another command claimed it first
  try {
    return await recoverClaimed(stateDir, marker.runId, retaken, onProblem);
  } finally {
    releaseClaim(stateDir, claim);
  }
}

/** Write the entry, then close run.json: a recoverer that dies in between leaves a claim to retake. */
async function recoverClaimed(stateDir: string, runId: string, retaken: boolean, onProblem: (problem: string) => void): Promise<boolean> {
  const dir = join(runsDir(stateDir), runId);
  const meta = readMetaFile(dir);
  if (meta?.status !== 'running') return false; // closed already (by the recoverer whose claim this was)
  const rec = replayRun(dir, { ...meta, recovered: true });
  // A retaken claim: the previous recoverer may have appended the entry before it died.
  if (!(retaken && logHoldsRun(meta.flags.log, runId))) {
    const problem = await tryAppendLogEntry(meta.flags.log, formatLogEntry(rec));
    if (problem) onProblem(`run ${runId}: ${problem}`);
  }
  writeMetaFile(dir, { ...meta, status: 'interrupted', exitCode: rec.exitCode, durationMs: rec.durationMs, recovered: true });
  return true;
}

function logHoldsRun(log: string, runId: string): boolean {
  try {
    return readFileSync(log, 'utf8').includes(`**Run**: ${runId} (`);
  } catch {
    return false;
  }
}

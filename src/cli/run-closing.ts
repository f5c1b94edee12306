/**
 * How a run is closed, whichever way it ended (finished, refused before it started, or stopped by
 * a bug in maint): the maintenance log entry, the webhooks, the healthcheck end ping and the
 * metrics file. Nothing here throws: what could not be written is said on stderr and in the log
 * entry, and the run keeps its own exit code.
 */
import type { Config } from '../config/config.js';
import { Masker } from '../exec/mask.js';
import { pingEnd, type PingResult } from '../notify/healthcheck.js';
import { writeMetrics } from '../notify/metrics.js';
import { notifyAll } from '../notify/webhook.js';
import { formatLogEntry } from '../record/log-entry.js';
import { appendLogEntry } from '../record/log-file.js';
import type { RunRecord } from '../record/types.js';
import { logFileProblem } from './preflight-paths.js';

/** How a run that never got to `run:end` on its own is recorded. */
export type ClosedStatus = 'refused' | 'crashed';

/**
 * The log entry of a run: the usual template; a refused or crashed run says so on its result
 * line (the record handed to the log template says `failed`, the nearest status it knows).
 */
export function entryFor(record: RunRecord, closed?: { status: ClosedStatus; exitCode: number }): string {
  const entry = formatLogEntry(record);
  if (!closed) return entry;
  const result = closed.status === 'refused' ? `refused, nothing was run (exit ${closed.exitCode})` : `crashed: an internal error in maint (exit ${closed.exitCode})`;
  const withResult = entry.replace(/^\*\*Result\*\*: .*?( *)$/m, (_line, end: string) => `**Result**: ${result}${end}`);
  // A refused run is maintenance still to be done: someone must pick it up, not just read it.
  if (closed.status !== 'refused' || record.steps.length > 0) return withResult;
  return withResult.replace(/^\*\*Follow-up actions\*\*: None$/m, '**Follow-up actions**:\n- [ ] nothing was run: the maintenance is still to be done (see the issues above)');
}

/**
 * Webhooks, the healthcheck end ping and the metrics file. A monitor that is down comes back as a
 * notice for the log entry; it never changes the run's result or hangs it.
 */
export async function tellTheWorld(
  config: Config,
  record: RunRecord,
  entry: string,
  secrets: string[],
  started: PingResult | null = null,
): Promise<string[]> {
  const masker = new Masker(secrets);
  const settle = <T>(p: Promise<T>, fallback: T) => p.catch(() => fallback);
  const [hooks, ping, metrics] = await Promise.all([
    config.notify.length > 0 ? settle(notifyAll(config.notify, record, { masker }), []) : Promise.resolve([]),
    config.healthcheck ? settle(pingEnd(config.healthcheck, record.exitCode, entry, { masker, runId: record.runId }), null) : Promise.resolve(null),
    config.metrics ? settle(writeMetrics(config.metrics, record), null) : Promise.resolve(null),
  ]);
  const notices: string[] = [];
  for (const h of hooks) if (!h.ok) notices.push(`notification to ${h.url} failed: ${h.error ?? 'no answer'}`);
  for (const p of [started, ping]) if (p && !p.ok) notices.push(`healthcheck ping ${p.url} failed: ${p.error ?? 'no answer'}`);
  if (metrics && !metrics.ok) notices.push(`metrics file ${metrics.file} not written: ${metrics.error ?? 'unknown error'}`);
  return notices;
}

/**
 * Append the entry to the maintenance log. A log that cannot be written (a full disk, a path
 * made unusable during the run) is reported on stderr with where the record still is; returns
 * whether it was written.
 */
export async function appendLogSafely(file: string, entry: string, where: string, say: (text: string) => void): Promise<boolean> {
  // Checked first: a recursive mkdir under /proc never returns.
  const problem = logFileProblem(file);
  let error = problem;
  if (!problem) {
    try {
      await appendLogEntry(file, entry);
      return true;
    } catch (err) {
      error = (err as Error).message;
    }
  }
  say(`maint: the maintenance log entry was not written to ${file}: ${error}; ${where}\n`);
  return false;
}

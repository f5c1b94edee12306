/**
 * Folds the executor's events into a RunRecord. Pure: the same events always give the same
 * record, so a run replayed from its journal (crash recovery, history) reads like the live one.
 */
import type { RunEvent } from '../exec/events.js';
import type { RunRecord, RunVia } from './types.js';

export interface RunMeta {
  by: string;
  via: RunVia;
  ciUrl?: string;
  resumedFrom?: string;
}

export function emptyRecord(meta: RunMeta, start: { runId: string; runbook: string; title: string; time: number }): RunRecord {
  return {
    runId: start.runId,
    runbook: start.runbook,
    title: start.title,
    ...meta,
    startedAt: start.time,
    durationMs: 0,
    status: 'interrupted',
    exitCode: 130,
    steps: [],
    rollbacks: [],
  };
}

/** Apply one event. Output chunks do not change the record. */
export function applyEvent(rec: RunRecord, e: RunEvent, outputFile?: (qid: string) => string | undefined): RunRecord {
  switch (e.type) {
    case 'run:start':
    case 'step:start':
    case 'step:output':
    case 'step:retry':
    case 'rollback:start':
      return rec;
    case 'step:end':
      rec.steps.push({
        qid: e.qid, name: e.name, phase: e.phase, status: e.status, durationMs: e.durationMs, attempts: e.attempts,
        reason: e.reason, warnings: e.warnings, outputFile: outputFile?.(e.qid),
      });
      rec.durationMs = e.time - rec.startedAt;
      return rec;
    case 'dr':
      rec.dr = e.dr;
      return rec;
    case 'rollback:end':
      rec.rollbacks.push({ qid: e.qid, name: e.name, ok: e.ok, durationMs: e.durationMs, reason: e.reason, ...(wasSkipped(e) ? { skipped: true } : {}) });
      rec.durationMs = e.time - rec.startedAt;
      return rec;
    case 'rollback:manual':
      rec.rollbacks.push({ qid: e.qid, name: e.name, ok: true, durationMs: 0, manual: e.text });
      rec.durationMs = e.time - rec.startedAt;
      return rec;
    case 'run:end':
      rec.status = e.status;
      rec.exitCode = e.exitCode;
      rec.durationMs = e.durationMs;
      rec.pausedAt = e.pausedAt;
      return rec;
    default: {
      const never: never = e;
      return never;
    }
  }
}

/**
 * A rollback a second signal skipped: the executor marks its rollback:end `skipped: true`. Read
 * through a guard so the record does not depend on which version of the event type it is built with.
 */
export function wasSkipped(e: Extract<RunEvent, { type: 'rollback:end' }>): boolean {
  return 'skipped' in e && (e as { skipped?: unknown }).skipped === true;
}

/** Who and how: `user@host`, and whether a terminal, cron or a CI job started the run. */
export function runMeta(env: NodeJS.ProcessEnv, tty: boolean, user: string, host: string): RunMeta {
  const ciUrl =
    env.GITHUB_RUN_ID && env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : (env.CI_JOB_URL ?? env.BUILD_URL ?? env.CIRCLE_BUILD_URL ?? undefined);
  const via: RunVia = env.CI ? 'CI' : tty ? 'terminal' : 'cron';
  return { by: `${user}@${host}`, via, ciUrl: via === 'CI' ? ciUrl : undefined };
}

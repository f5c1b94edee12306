/**
 * A run refused before its first step (an invalid runbook, a missing var, outside the window,
 * the lock held, a tool or a path missing) is recorded like any run that failed: a journal entry
 * `maint history` shows as `refused` with the reason, a log entry, the healthcheck end ping with
 * the exit code and the `failure` webhooks. A scheduled run that an edit broke is noticed the
 * next morning, not months later. Only a config that cannot be read has nobody to tell.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { Masker } from '../exec/mask.js';
import { secretsFromEnv } from '../exec/secret-env.js';
import { runsDir, writeMetaFile, type RunMetaFile } from '../record/journal.js';
import { emptyRecord, runMeta } from '../record/summary.js';
import type { RunRecord } from '../record/types.js';
import { formatDiagnostic, sortDiagnostics } from '../runbook/diagnostics.js';
import { InvalidInput, MaintError } from './errors.js';
import { isInteractive } from './interaction.js';
import { stateDirProblem } from './preflight-paths.js';
import { appendLogSafely, entryFor, tellTheWorld, type ClosedStatus } from './run-closing.js';
import { newRunId, whoAmI } from './run-id.js';

/** run.json of a run that was refused or crashed (RunMetaFile lists both statuses and the reason). */
export type ClosedMetaFile = RunMetaFile & { status: RunMetaFile['status'] | ClosedStatus };

/** Errors whose run is already recorded, so that no caller records it twice. */
const recorded = new WeakSet<object>();

/** The run this error ended is recorded (journal, log, notifications). */
export function markRecorded(err: unknown): void {
  if (typeof err === 'object' && err !== null) recorded.add(err);
}

export function isRecorded(err: unknown): boolean {
  return typeof err === 'object' && err !== null && recorded.has(err);
}

/** The runbook a refused run was for. */
export interface RefusedRunbook {
  runbook: string;
  title: string;
  file: string;
}

/** Why, one line per problem: every diagnostic of invalid input, else the error's message. */
export function refusalReasons(err: unknown): string[] {
  if (err instanceof InvalidInput) return sortDiagnostics(err.diagnostics).map(formatDiagnostic);
  if (err instanceof Error) return err.message.split('\n').map((l) => l.replace(/^maint: /, '')).filter(Boolean);
  return [String(err)];
}

/** The exit code the refusal ends with: the error's own, 70 for anything that is a bug. */
export function refusalExitCode(err: unknown): number {
  return err instanceof MaintError ? err.exitCode : 70;
}

export interface RefusalOptions {
  /** Values to mask in everything sent or written (the plan's secrets, when it was made). */
  secrets?: string[];
  env?: NodeJS.ProcessEnv;
  stderr?: (text: string) => void;
  now?: number;
}

/**
 * Record a refusal everywhere a finished run is recorded. Best effort per channel: a state
 * folder or log that cannot be used (maybe the very reason for the refusal) is skipped and
 * said on stderr; the caller still throws the original error.
 */
export async function recordRefusal(config: Config, subject: RefusedRunbook, err: unknown, opts: RefusalOptions = {}): Promise<void> {
  if (isRecorded(err)) return;
  markRecorded(err);
  const env = opts.env ?? process.env;
  const say = opts.stderr ?? ((t: string) => void process.stderr.write(t));
  const status: ClosedStatus = err instanceof MaintError ? 'refused' : 'crashed';
  const exitCode = refusalExitCode(err);
  const secrets = [...(opts.secrets ?? []), ...secretsFromEnv(env, config.secretEnv)];
  // Masked before anything is written: a reason may quote a value (a bad --var, say).
  const masker = new Masker(secrets);
  const reasons = refusalReasons(err).map((r) => masker.mask(r));
  const now = opts.now ?? Date.now();
  const runId = newRunId(new Date(now));
  const meta = runMeta(env, isInteractive(env), whoAmI(), hostname());

  const where = writeRefusedJournal(config, {
    runId, runbook: subject.runbook, title: subject.title, file: subject.file, cwd: process.cwd(), pid: process.pid, host: hostname(),
    by: meta.by, via: meta.via, ciUrl: meta.ciUrl, startedAt: now, status, exitCode, durationMs: 0,
    flags: { var: [], log: config.log }, reason: reasons.join('\n'),
  }, say);

  // For the log and the notifications: a failed run that ran no step, the reasons as its issues.
  const record: RunRecord = { ...emptyRecord(meta, { runId, runbook: subject.runbook, title: subject.title, time: now }), status: 'failed', exitCode, notices: reasons };
  const entry = entryFor(record, { status, exitCode });
  // Webhook messages name a failed step and its reason: the refusal stands in for it.
  const told = { ...record, steps: [{ qid: status, name: status === 'refused' ? 'refused before any step ran' : 'maint crashed before any step ran', phase: 'steps' as const, status: 'failed' as const, durationMs: 0, attempts: 0, reason: reasons.join('; ') }] };
  const notices = await tellTheWorld(config, told, entry, secrets);
  record.notices = [...(record.notices ?? []), ...notices];
  await appendLogSafely(config.log, entryFor(record, { status, exitCode }), where, say);
}

/** run.json of the refused run, when the state folder can take it; says where the record is. */
function writeRefusedJournal(config: Config, meta: ClosedMetaFile, say: (text: string) => void): string {
  const problem = stateDirProblem(config.state);
  if (!problem) {
    try {
      const dir = join(runsDir(config.state), meta.runId);
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      // The journal's writer takes its own status type; this file's readers take the wider one.
      writeMetaFile(dir, meta as unknown as RunMetaFile);
      return `the refusal is recorded as run ${meta.runId} (maint history)`;
    } catch (err) {
      say(`maint: the refusal could not be recorded in ${config.state}: ${(err as Error).message}\n`);
      return 'it is recorded nowhere else';
    }
  }
  say(`maint: the refusal could not be recorded in ${config.state}: ${problem}\n`);
  return 'it is recorded nowhere else';
}

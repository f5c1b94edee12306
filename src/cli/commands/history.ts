import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { formatDuration } from '../../runbook/duration.js';
import { compactDuration, formatDr, type DrResult } from '../../record/dr.js';
import { listRunDirs, type RunMetaFile } from '../../record/journal.js';
import { replayRun } from '../../record/recover.js';
import { UsageError } from '../errors.js';
import type { ClosedMetaFile } from '../refusal.js';
import { closeOrphans } from './run.js';

export interface HistoryFlags extends ConfigFlags {
  json?: boolean;
  limit?: string;
  /** The DR trend: measured runs only, with RTO and RPO against the objectives. */
  dr?: boolean;
}

export async function historyCommand(arg: string | undefined, flags: HistoryFlags): Promise<number> {
  const config = await loadConfig(flags);
  await closeOrphans(config.state);
  const runs = listRunDirs(config.state);
  const one = arg && !flags.dr ? runs.find((r) => r.meta.runId === arg || (arg === 'last' && r === runs[0])) : undefined;
  if (one) {
    const rec = replayRun(one.dir, one.meta);
    if (flags.json) {
      process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
      return 0;
    }
    const out = [`${rec.runId}  ${rec.runbook}: ${rec.title}`, `by ${rec.by} (${rec.via}), ${new Date(rec.startedAt).toISOString()}, ${formatDuration(rec.durationMs)}, ${rec.status.replace('_', ' ')} (exit ${rec.exitCode})`, ''];
    // A refused or crashed run: why, before any steps (a refused run has none).
    const reason = reasonOf(one.meta);
    if (reason) out.push(...reason.split('\n').map((l) => `  ${l}`), ...(rec.steps.length > 0 ? [''] : []));
    for (const s of rec.steps) {
      out.push(`  ${s.status.padEnd(11)} ${s.name} (${formatDuration(s.durationMs)})${s.reason && s.status !== 'passed' ? `: ${s.reason}` : ''}`);
    }
    for (const r of rec.rollbacks) out.push(`  ${(r.ok ? 'rolled back' : 'ROLLBACK FAILED').padEnd(11)} ${r.name}${r.reason ? `: ${r.reason}` : ''}`);
    if (rec.dr) out.push('', `DR ${formatDr(rec.dr)}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  }
  if (arg && !flags.dr && /^\d{8}T\d{6}Z-[0-9a-f]+$/.test(arg)) throw new UsageError(`no run ${arg} in ${config.state}`);
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${flags.limit}: expected a whole number ≥ 1`);
  const rows = runs.filter((r) => (!arg || r.meta.runbook === arg) && (!flags.dr || r.meta.dr)).slice(0, limit).map((r) => r.meta);
  if (flags.dr) return drTrend(rows, flags.json ?? false, arg, config.state);
  if (flags.json) {
    process.stdout.write(JSON.stringify(rows.map((m) => ({
      run: m.runId, runbook: m.runbook, start: new Date(m.startedAt).toISOString(), duration_ms: m.durationMs ?? null,
      result: m.status, exit_code: m.exitCode ?? null, by: m.by, via: m.via, resumed_from: m.resumedFrom,
      dr: m.dr ? drJson(m.dr) : null, reason: reasonOf(m) ?? null,
    })), null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no runs recorded${arg ? ` for ${arg}` : ''} in ${config.state}\n`);
    return 0;
  }
  const w = Math.max(7, ...rows.map((m) => m.runbook.length));
  // The DR column only when a listed run was measured: most runbooks have no objectives.
  const drCol = rows.some((m) => m.dr);
  const dr = (m: RunMetaFile) => (drCol ? `${(m.dr ? (m.dr.met ? 'met' : 'MISSED') : '-').padEnd(6)}  ` : '');
  process.stdout.write(`${'RUN'.padEnd(24)}  ${'RUNBOOK'.padEnd(w)}  ${'START (UTC)'.padEnd(19)}  DURATION  ${'RESULT'.padEnd(15)}  ${drCol ? 'DR      ' : ''}BY\n`);
  for (const m of rows) {
    const dur = m.durationMs === undefined ? '-' : formatDuration(m.durationMs);
    process.stdout.write(`${m.runId.padEnd(24)}  ${m.runbook.padEnd(w)}  ${utc(m.startedAt)}  ${dur.padStart(8)}  ${m.status.replace('_', ' ').padEnd(15)}  ${dr(m)}${m.by} (${m.via})\n`);
    const reason = reasonOf(m);
    if (reason) process.stdout.write(`${' '.repeat(26)}↳ ${firstReason(reason, m.runId)}\n`);
  }
  return 0;
}

/** `maint history --dr`: one line (or object) per measured run, newest first. */
function drTrend(rows: RunMetaFile[], json: boolean, runbook: string | undefined, state: string): number {
  const measured = rows.filter((m): m is RunMetaFile & { dr: DrResult } => m.dr !== undefined);
  if (json) {
    const out = measured.map((m) => ({
      run: m.runId, runbook: m.runbook, start: new Date(m.startedAt).toISOString(), ...drJson(m.dr),
      result: m.status, exit_code: m.exitCode ?? null,
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  if (measured.length === 0) {
    process.stdout.write(`no DR tests recorded${runbook ? ` for ${runbook}` : ''} in ${state}\n`);
    return 0;
  }
  const table = [
    ['START (UTC)', 'RUN', 'RUNBOOK', 'RTO (OBJECTIVE)', 'RPO (OBJECTIVE)', 'DR'],
    ...measured.map((m) => [
      utc(m.startedAt), m.runId, m.runbook, cell(m.dr.rtoMs, m.dr.objectives.rtoMs), cell(m.dr.rpoMs, m.dr.objectives.rpoMs),
      `${m.dr.met ? 'met' : 'MISSED'}${m.dr.missing ? `: ${m.dr.missing}` : ''}`,
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
  return 0;
}

/** A DR result for JSON output: milliseconds, absent values as null. */
function drJson(dr: DrResult) {
  return {
    rto_ms: dr.rtoMs ?? null, rto_objective_ms: dr.objectives.rtoMs ?? null,
    rpo_ms: dr.rpoMs ?? null, rpo_objective_ms: dr.objectives.rpoMs ?? null,
    met: dr.met, missing: dr.missing ?? null,
  };
}

/** A measurement against its objective: `12s (4h)`, `- (4h)` when not measured, `12s` without one. */
function cell(value: number | undefined, target: number | undefined): string {
  const v = value === undefined ? '-' : compactDuration(value);
  return target === undefined ? v : `${v} (${compactDuration(target)})`;
}

/** Why a run was refused or crashed (run.json of such a run carries it; see cli/refusal.ts). */
function reasonOf(meta: RunMetaFile): string | undefined {
  return (meta as ClosedMetaFile).reason || undefined;
}

/** The first reason, and how many more: a table row stays one line. */
function firstReason(reason: string, runId: string): string {
  const all = reason.split('\n').filter(Boolean);
  return `${all[0]}${all.length > 1 ? ` (and ${all.length - 1} more line${all.length > 2 ? 's' : ''}: maint history ${runId})` : ''}`;
}

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

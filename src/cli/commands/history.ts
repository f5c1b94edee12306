import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { formatDuration } from '../../runbook/duration.js';
import { listRunDirs } from '../../record/journal.js';
import { replayRun } from '../../record/recover.js';
import { UsageError } from '../errors.js';
import { closeOrphans } from './run.js';

export async function historyCommand(arg: string | undefined, flags: ConfigFlags & { json?: boolean; limit?: string }): Promise<number> {
  const config = await loadConfig(flags);
  await closeOrphans(config.state);
  const runs = listRunDirs(config.state);
  const one = arg ? runs.find((r) => r.meta.runId === arg || (arg === 'last' && r === runs[0])) : undefined;
  if (one) {
    const rec = replayRun(one.dir, one.meta);
    if (flags.json) {
      process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
      return 0;
    }
    const out = [`${rec.runId}  ${rec.runbook}: ${rec.title}`, `by ${rec.by} (${rec.via}), ${new Date(rec.startedAt).toISOString()}, ${formatDuration(rec.durationMs)}, ${rec.status.replace('_', ' ')} (exit ${rec.exitCode})`, ''];
    for (const s of rec.steps) {
      out.push(`  ${s.status.padEnd(11)} ${s.name} (${formatDuration(s.durationMs)})${s.reason && s.status !== 'passed' ? `: ${s.reason}` : ''}`);
    }
    for (const r of rec.rollbacks) out.push(`  ${(r.ok ? 'rolled back' : 'ROLLBACK FAILED').padEnd(11)} ${r.name}${r.reason ? `: ${r.reason}` : ''}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  }
  if (arg && /^\d{8}T\d{6}Z-[0-9a-f]+$/.test(arg)) throw new UsageError(`no run ${arg} in ${config.state}`);
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${flags.limit}: expected a whole number ≥ 1`);
  const rows = runs.filter((r) => !arg || r.meta.runbook === arg).slice(0, limit).map((r) => r.meta);
  if (flags.json) {
    process.stdout.write(JSON.stringify(rows.map((m) => ({
      run: m.runId, runbook: m.runbook, start: new Date(m.startedAt).toISOString(), duration_ms: m.durationMs ?? null,
      result: m.status, exit_code: m.exitCode ?? null, by: m.by, via: m.via, resumed_from: m.resumedFrom,
    })), null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no runs recorded${arg ? ` for ${arg}` : ''} in ${config.state}\n`);
    return 0;
  }
  const w = Math.max(7, ...rows.map((m) => m.runbook.length));
  process.stdout.write(`${'RUN'.padEnd(24)}  ${'RUNBOOK'.padEnd(w)}  ${'START (UTC)'.padEnd(19)}  DURATION  ${'RESULT'.padEnd(15)}  BY\n`);
  for (const m of rows) {
    const start = new Date(m.startedAt).toISOString().slice(0, 19).replace('T', ' ');
    const dur = m.durationMs === undefined ? '-' : formatDuration(m.durationMs);
    process.stdout.write(`${m.runId.padEnd(24)}  ${m.runbook.padEnd(w)}  ${start}  ${dur.padStart(8)}  ${m.status.replace('_', ' ').padEnd(15)}  ${m.by} (${m.via})\n`);
  }
  return 0;
}

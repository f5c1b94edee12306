import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { diagnose, type CheckStatus, type DoctorReport, type PathFact } from '../../doctor/checks.js';
import { useColor } from '../../report/select.js';
import type { Launch } from '../main.js';

const MARK: Record<CheckStatus, string> = { ok: 'ok', warning: 'WARN', missing: 'MISSING', fail: 'FAIL' };
const COLOUR: Record<CheckStatus, number> = { ok: 32, warning: 33, missing: 31, fail: 31 };

/** Exit 1 when a tool a runbook needs is missing or maint cannot write its log or state; else 0. */
export async function doctorCommand(flags: ConfigFlags & { json?: boolean }, launch: Launch = {}): Promise<number> {
  const report = await diagnose(await loadConfig(flags), launch.codeCache);
  if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(formatReport(report, useColor(process.stdout)).join('\n') + '\n');
  return report.exit_code;
}

function formatReport(r: DoctorReport, color: boolean): string[] {
  const lines: string[] = [];
  const counts: Record<CheckStatus, number> = { ok: 0, warning: 0, missing: 0, fail: 0 };
  const line = (status: CheckStatus, label: string, detail: string) => {
    counts[status]++;
    const mark = MARK[status].padEnd(7);
    lines.push(`${color ? `\u001b[${COLOUR[status]}m${mark}\u001b[39m` : mark} ${label.padEnd(16)} ${detail}`);
  };

  for (const t of r.tools) {
    if (t.path === null) {
      const who = t.needed_by.length > 0 ? `needed by ${t.needed_by.join(', ')}` : 'no runbook needs it';
      line(t.status, t.tool, `not on PATH (${who})${t.hint ? `; ${t.hint}` : ''}`);
    } else line(t.status, t.tool, t.error ?? (t.version ? `${t.version}  ${t.path}` : t.path));
  }

  const k = r.kubernetes;
  const at = k.server ? ` (${k.server})` : '';
  if (k.status === 'reachable') line('ok', 'cluster', `context ${k.context}: API server reachable${at}`);
  else if (k.status === 'unreachable') line('warning', 'cluster', `context ${k.context}: API server unreachable${at}: ${k.error}`);
  else if (k.status === 'no-context') line('warning', 'cluster', 'no context configured (kubectl config current-context)');
  else line('warning', 'cluster', 'not checked: kubectl is not on PATH');

  for (const e of r.env) {
    line(e.status, `${e.group === 'postgresql' ? 'PostgreSQL' : 'restic'} env`, Object.entries(e.vars).map(([n, v]) => `${n} ${v}`).join(', '));
  }

  const c = r.config;
  line('ok', 'config file', c.file ?? 'none, using defaults');
  for (const d of c.runbook_dirs) line(d.exists ? 'ok' : 'warning', 'runbook folder', d.exists ? `${d.path}: ${plural(d.runbooks, 'runbook')}` : `${d.path}: does not exist`);
  line(c.shipped.exists ? 'ok' : 'warning', 'shipped runbooks', `${c.shipped.path}: ${plural(c.shipped.runbooks, 'runbook')}`);
  if (c.invalid_runbooks.length > 0) line('warning', 'invalid runbooks', `${c.invalid_runbooks.join(', ')} (maint validate NAME says why; their requires are not checked)`);
  line(c.log.status, 'log file', writable(c.log));
  line(c.state.status, 'state dir', writable(c.state));
  const pc = c.parse_cache;
  if (pc.problem) line('warning', 'parse cache', `${pc.path}: not used, so every run parses its runbooks afresh: ${pc.problem} (only maint's user or root may change it and the folders above)`);
  else line('ok', 'parse cache', pc.in_use ? pc.path : `${pc.path}: not used on this system`);

  const n = r.node;
  if (n.code_cache === 'used') line('ok', 'node', `${n.version}, compiled code cached (${n.cache_file})`);
  else if (n.code_cache) {
    const why = n.code_cache === 'rejected' ? 'refused by this Node (made by another version, or V8 flags differ)' : 'missing';
    line('warning', 'node', `${n.version}; the code cache is ${why}, so every start compiles maint: node ${n.cache_writer} makes one`);
  } else line('ok', 'node', n.version);

  const bad = counts.missing + counts.fail;
  lines.push('', bad + counts.warning === 0 ? 'all checks passed' : `${plural(bad, 'problem')}, ${plural(counts.warning, 'warning')}`);
  return lines;
}

function writable(f: PathFact): string {
  if (f.error) return `${f.path}: ${f.error}`;
  return `${f.path} (${f.writable ? 'writable' : 'not writable'}${f.exists ? '' : ', not created yet'})`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

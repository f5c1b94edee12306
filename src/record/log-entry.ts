/**
 * The markdown maintenance log entry for one run: what people read the morning after a 3 AM run.
 * It must read well as plain text and as rendered markdown, so user text (step names, reasons,
 * tool output) is flattened to one line, cut, and escaped only where it would change the
 * structure or rendering; the header lines end in two spaces (a markdown hard line break).
 */
import { constants } from 'node:os';
import type { StepStatus } from '../exec/events.js';
import { formatDuration } from '../runbook/duration.js';
import { compactDuration as compact, failedOnDr, type DrResult } from './dr.js';
import type { RollbackRecord, RunRecord, StepRecord } from './types.js';

/** Longest reason, warning or task text kept, in characters (code points). */
export const REASON_MAX = 300;
/** Longest step name kept. */
export const NAME_MAX = 200;

const HARD_BREAK = '  ';

/** `opts.dr` defaults to the DR measurement recorded with the run. */
export function formatLogEntry(run: RunRecord, opts: { dr?: DrResult } = {}): string {
  const dr = opts.dr ?? run.dr;
  const out: string[] = [];
  const title = inline(run.title || run.runbook, NAME_MAX).replace(/#+$/, (h) => h.replace(/#/g, '\\#'));
  out.push(`## ${utcDate(run.startedAt)}: ${title}`, '');

  const via = run.via === 'CI' && run.ciUrl ? `CI) ${inline(run.ciUrl, REASON_MAX)}` : `${run.via})`;
  const header = [
    `**Performed by**: ${inline(run.by, NAME_MAX)} (${via}`,
    `**Run**: ${inline(run.runId, NAME_MAX)} (${code(`maint run ${run.runbook}`)})`,
    ...(run.resumedFrom ? [`**Resumes**: ${inline(run.resumedFrom, NAME_MAX)}`] : []),
    `**Start**: ${utcDate(run.startedAt)} ${utcTime(run.startedAt)} UTC`,
    `**Duration**: ${formatDuration(run.durationMs)}${run.recovered ? `, to the last sign of life in the journal (${inline(run.recovered.lastSeen, NAME_MAX)}, ${utcTime(run.recovered.lastSeenAt)} UTC)` : ''}`,
    `**Result**: ${result(run)}${run.forced ? ', forced outside the window' : ''}`,
    ...(run.forced ? [`**Forced**: by ${inline(run.forced.by, NAME_MAX)}: ${inline(run.forced.reason, REASON_MAX)}`] : []),
    ...(dr ? [`**DR objectives**: ${drLine(dr)}`] : []),
  ];
  out.push(...header.map((line, i) => (i < header.length - 1 ? line + HARD_BREAK : line)), '');

  const tree = nest(run.steps);
  const main = tree.filter((n) => n.step.phase === 'steps');
  const fin = tree.filter((n) => n.step.phase === 'finally');
  out.push('**Tasks completed**:');
  if (main.length === 0) out.push('- (no steps)');
  out.push(...main.flatMap((n) => listNode(n, 0)));
  if (fin.length > 0) out.push('', '**Finally**:', ...fin.flatMap((n) => listNode(n, 0)));
  out.push('');

  if (run.rollbacks.length > 0) out.push('**Rollbacks**:', ...run.rollbacks.map(rollbackLine), '');

  const issues = [...issuesOf(run.steps), ...(run.notices ?? []).map((n) => inline(n, REASON_MAX))];
  if (issues.length === 0) out.push('**Issues encountered**: None', '');
  else out.push('**Issues encountered**:', ...issues.map((i) => `- ${i}`), '');

  const follow = followUps(run, dr);
  if (follow.length === 0) out.push('**Follow-up actions**: None');
  else out.push('**Follow-up actions**:', ...follow.map((f) => `- [ ] ${f}`));

  // Starts and ends with a blank line, so appended entries stay apart.
  return `\n${out.join('\n')}\n\n`;
}

// ---------------------------------------------------------------------------------------------
// Sections

function result(run: RunRecord): string {
  const skipped = run.rollbacks.filter((r) => r.skipped).length;
  return resultWord(run) + (skipped ? `, ${skipped === 1 ? 'a rollback' : `${skipped} rollbacks`} skipped` : '');
}

/** The signal behind an exit code of 128 + n, when n is one (130 → SIGINT). */
export function signalOfExit(exitCode: number): string | undefined {
  if (exitCode <= 128) return undefined;
  return Object.entries(constants.signals).find(([, n]) => n === exitCode - 128)?.[0];
}

function resultWord(run: RunRecord): string {
  switch (run.status) {
    case 'passed':
      return run.steps.some((s) => s.status === 'warned' || s.status === 'issue' || (s.warnings?.length ?? 0) > 0)
        ? 'passed with warnings'
        : 'passed';
    case 'failed':
      if (failedOnDr(run)) return 'failed: DR objectives missed';
      return run.rollbacks.length > 0 && run.rollbacks.every((r) => r.ok) ? 'failed, rolled back' : 'failed';
    case 'rollback_failed':
      return 'failed, ROLLBACK FAILED';
    case 'paused':
      return `paused at ${pausedName(run)}`;
    case 'interrupted': {
      if (run.recovered) {
        return `interrupted: maint (pid ${run.recovered.pid}) stopped without recording the end (killed, out of memory, or the machine went down); recorded by a later maint command`;
      }
      const signal = signalOfExit(run.exitCode);
      return signal ? `interrupted by ${signal}` : 'interrupted';
    }
    default: {
      const never: never = run.status;
      return String(never);
    }
  }
}

function pausedName(run: RunRecord): string {
  const step =
    run.steps.find((s) => s.qid === run.pausedAt && s.status === 'paused') ??
    run.steps.find((s) => s.qid === run.pausedAt) ??
    run.steps.find((s) => s.status === 'paused');
  return step ? inline(step.name, NAME_MAX) : run.pausedAt ? inline(run.pausedAt, NAME_MAX) : 'a confirmation';
}

interface Node {
  step: StepRecord;
  /** Position of the earliest record in this subtree: groups may be recorded after their children. */
  first: number;
  children: Node[];
  parent?: Node;
}

/**
 * Records as a forest: a record whose qid starts with another's qid + '.' (an include's steps)
 * goes under the longest such record. Parallel children have plain qids and stay flat.
 */
function nest(steps: StepRecord[]): Node[] {
  const nodes = steps.map((step, i): Node => ({ step, first: i, children: [] }));
  const byQid = new Map<string, Node>();
  for (const n of nodes) if (!byQid.has(n.step.qid)) byQid.set(n.step.qid, n);
  const roots: Node[] = [];
  for (const n of nodes) {
    let parent: Node | undefined;
    const parts = n.step.qid.split('.');
    for (let k = parts.length - 1; k > 0 && !parent; k--) {
      const p = byQid.get(parts.slice(0, k).join('.'));
      if (p && p !== n) parent = p;
    }
    if (parent) {
      n.parent = parent;
      parent.children.push(n);
    } else roots.push(n);
  }
  const settle = (n: Node): number => {
    for (const c of n.children) n.first = Math.min(n.first, settle(c));
    n.children.sort((a, b) => a.first - b.first);
    return n.first;
  };
  roots.forEach(settle);
  return roots.sort((a, b) => a.first - b.first);
}

function listNode(n: Node, depth: number): string[] {
  const finallyInGroup = n.parent !== undefined && n.step.phase === 'finally' && n.parent.step.phase !== 'finally';
  return [`${'  '.repeat(depth)}- ${stepLine(n.step, finallyInGroup ? 'finally: ' : '')}`, ...n.children.flatMap((c) => listNode(c, depth + 1))];
}

function stepLine(s: StepRecord, prefix: string): string {
  const name = prefix + inline(s.name, NAME_MAX);
  const took = ` (${formatDuration(s.durationMs)})`;
  const why = (text: string | undefined) => (text ? `: ${inline(text, REASON_MAX)}` : '');
  const after = s.attempts > 1 ? ` after ${s.attempts} attempts` : '';
  switch (s.status) {
    case 'passed':
      return `[x] ${name}${took}`;
    case 'warned': {
      const ws = (s.warnings ?? []).map((w) => w.replace(/^warning: /, ''));
      if (ws.length === 0) return `[x] ${name}${took} — passed with warnings${why(s.reason)}`;
      const label = ws.length === 1 ? 'a warning' : `${ws.length} warnings`;
      return `[x] ${name}${took} — passed with ${label}: ${inline(ws.join('; '), REASON_MAX)}`;
    }
    case 'failed':
      return `[ ] ${name}${took} — failed${after}${why(s.reason)}`;
    case 'issue':
      return `[ ] ${name}${took} — failed${after}, the run went on (continue_on_error)${why(s.reason)}`;
    case 'interrupted':
      return `[ ] ${name}${took} — interrupted${s.reason && s.reason !== 'interrupted' ? why(s.reason) : ''}`;
    case 'skipped':
      if (s.reason?.startsWith('not run')) return `[ ] ${name} — ${inline(s.reason, REASON_MAX)}`;
      return `[ ] ~~${name.replace(/~/g, '\\~')}~~ — skipped${why(s.reason)}`;
    case 'paused':
      return `[ ] ${name} — paused${why(s.reason)}`;
    case 'pending':
      return `[ ] ${name} — pending (manual)${s.reason && oneLine(s.reason) !== oneLine(s.name) ? why(s.reason) : ''}`;
    default: {
      const never: never = s.status;
      return `[ ] ${name} — ${String(never)}`;
    }
  }
}

function rollbackLine(r: RollbackRecord): string {
  if (r.manual !== undefined) return `- [ ] ${inline(r.name, NAME_MAX)} — undo by hand (see follow-ups)`;
  // The executor's reason for a skipped rollback starts with "skipped: "; said once is enough.
  const why = r.reason?.replace(/^skipped: /, '');
  if (r.skipped) return `- [ ] ${inline(r.name, NAME_MAX)} — rollback skipped${why ? `: ${inline(why, REASON_MAX)}` : ''}`;
  const took = ` (${formatDuration(r.durationMs)})`;
  // Cut short by the second signal: it did not fail, it did not finish.
  if (!r.ok && r.reason === 'interrupted') return `- [ ] ${inline(r.name, NAME_MAX)}${took} — rollback interrupted`;
  return r.ok
    ? `- [x] ${inline(r.name, NAME_MAX)}${took}`
    : `- [ ] ${inline(r.name, NAME_MAX)}${took} — rollback failed${r.reason ? `: ${inline(r.reason, REASON_MAX)}` : ''}`;
}

function issuesOf(steps: StepRecord[]): string[] {
  const issues: string[] = [];
  for (const s of steps) {
    const name = inline(s.name, NAME_MAX);
    if (s.status === 'issue') {
      issues.push(`${name} failed, the run went on (continue_on_error)${s.reason ? `: ${inline(s.reason, REASON_MAX)}` : ''}`);
    }
    for (const w of s.warnings ?? []) issues.push(`${name}: ${inline(w, REASON_MAX)}`);
    if (s.attempts > 1 && (s.status === 'passed' || s.status === 'warned')) issues.push(`${name} needed ${s.attempts} attempts`);
  }
  return issues;
}

const LOOK_AT: ReadonlySet<StepStatus> = new Set<StepStatus>(['failed', 'issue', 'interrupted']);

function followUps(run: RunRecord, dr: DrResult | undefined): string[] {
  const out: string[] = [];
  if (run.status === 'rollback_failed') {
    const names = run.rollbacks.filter((r) => !r.ok).map((r) => inline(r.name, NAME_MAX));
    out.push(`A rollback failed${names.length ? ` (${names.join(', ')})` : ''}: check the system by hand now`);
  }
  if (run.status === 'interrupted') out.push('The run was interrupted: check the state the system was left in');
  for (const r of run.rollbacks) {
    if (r.manual !== undefined) out.push(`Undo ${inline(r.name, NAME_MAX)} by hand: ${inline(r.manual, REASON_MAX)}`);
    else if (r.skipped) out.push(`Undo ${inline(r.name, NAME_MAX)} by hand: its rollback was skipped`);
    // A failed rollback of a run that ended another way (interrupted, a rollback cut short).
    else if (!r.ok && run.status !== 'rollback_failed') out.push(`Check ${inline(r.name, NAME_MAX)} by hand: its rollback did not finish`);
  }
  if (run.status === 'paused') out.push(`Resume: ${code(`maint resume ${run.runId} --yes`)} (paused at ${pausedName(run)})`);
  for (const s of run.steps) {
    const name = inline(s.name, NAME_MAX);
    if (s.status === 'pending') out.push(`${name} (manual task left pending)`);
    // Command steps that ran have attempts or an output file; groups and `when:` errors have neither.
    else if (LOOK_AT.has(s.status) && s.outputFile) out.push(`Look at ${name}: full output in ${code(s.outputFile)}`);
    else if (LOOK_AT.has(s.status) && s.attempts > 0) out.push(`Look at ${name}: it printed no output`);
  }
  if (dr && !dr.met) out.push('DR objectives missed: review the recovery procedure and the objectives');
  return out;
}

function drLine(dr: DrResult): string {
  const part = (label: string, value: number | undefined, target: number | undefined): string | undefined => {
    if (value === undefined && target === undefined) return undefined;
    if (value === undefined) return `${label} not measured (target ${compact(target!)})`;
    if (target === undefined) return `${label} ${compact(value)}`;
    return `${label} ${compact(value)} (target ${compact(target)}) ${value <= target ? 'met' : 'MISSED'}`;
  };
  const parts = [part('RTO', dr.rtoMs, dr.objectives.rtoMs), part('RPO', dr.rpoMs, dr.objectives.rpoMs)].filter(
    (p): p is string => p !== undefined,
  );
  const line = parts.join('; ') || (dr.met ? 'met' : 'MISSED');
  const verdict = !dr.met && !line.includes('MISSED') ? ' — MISSED' : '';
  return `${line}${verdict}${dr.missing ? `${verdict ? ':' : ' —'} ${inline(dr.missing, REASON_MAX)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Text

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]/g;
/** Line breaks, other control characters and bidi overrides: all become a space. */
const BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/** One line of plain text: no escapes, no control characters, whitespace collapsed. */
function oneLine(text: string): string {
  return text.replace(ANSI, '').replace(BREAKING, ' ').replace(/\s+/g, ' ').trim();
}

/** Cut to `max` code points, ending in "…" when cut. */
function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/**
 * User text for a markdown line: one line, cut, and escaped where it would change rendering —
 * emphasis `*` and `_` (not inside words like `disk_use`), `<` that could open an HTML tag, and
 * backslashes before punctuation (so text cannot undo an escape). Backticks that pair up into
 * code spans within this text are kept (and their content left alone); otherwise they are
 * escaped, so they cannot pair with a backtick elsewhere on the line.
 */
export function inline(text: string, max = REASON_MAX): string {
  const s = clip(oneLine(text), max);
  const spans = codeSpans(s);
  if (!spans) return escapeText(s).replace(/`/g, '\\`');
  let out = '';
  let at = 0;
  for (const [from, to] of spans) {
    out += escapeText(s.slice(at, from)) + s.slice(from, to);
    at = to;
  }
  return out + escapeText(s.slice(at));
}

function escapeText(s: string): string {
  return s
    .replace(/\\(?=[!-/:-@[-`{-~]|$)/g, '\\\\')
    .replace(/\*/g, '\\*')
    .replace(/_+/g, (run, at: number, all: string) =>
      WORD.test(all.charAt(at - 1)) && WORD.test(all.charAt(at + run.length)) ? run : run.replace(/_/g, '\\_'),
    )
    .replace(/<(?=[A-Za-z/!?])/g, '\\<');
}

const WORD = /^[\p{L}\p{N}]$/u;

/**
 * The code spans of `s` as [start, end) offsets, pairing backtick runs as CommonMark does (a run
 * closes at the next run of the same length); null when some run would be left unpaired.
 */
function codeSpans(s: string): Array<[number, number]> | null {
  const runs = [...s.matchAll(/`+/g)].map((m) => ({ at: m.index, len: m[0].length }));
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < runs.length; i++) {
    const open = runs[i]!;
    const j = runs.findIndex((r, k) => k > i && r.len === open.len);
    if (j === -1) return null;
    spans.push([open.at, runs[j]!.at + open.len]);
    i = j;
  }
  return spans;
}

/** A code span holding `text` verbatim (one line): a fence longer than any backtick run inside. */
export function code(text: string): string {
  const s = oneLine(text);
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/**
 * `--junit FILE`: the run as a JUnit XML report, for CI test views (GitLab, Jenkins, Azure,
 * GitHub test-report actions). Written once, on close(), atomically (temp file + rename, parent
 * directories created), so a CI job never picks up half a file.
 *
 *   <testsuites>                 one <testsuite>: name = opts.suiteName, counts, time, timestamp
 *     <testsuite>
 *       <properties>             maint.run_id, maint.title, maint.status, maint.exit_code, …
 *       <testcase>               one per step:end (finally steps included), in the order they ended
 *       <testcase>               one per rollback: "rollback: <step name>"
 *       <system-out>             the run's result line
 *
 * Step status → testcase:
 * - passed, warned: passes; warnings and "needed N attempts" go to its <system-out>.
 * - failed, and a rollback that failed: <failure message=reason> with the last lines of that
 *   step's output (EXCERPT_LINES, each line cut at 1000 characters).
 * - interrupted, and a step that started but never ended: <error message=…>.
 * - skipped, pending (manual), paused: <skipped message=reason/>.
 * - issue (failed under continue_on_error): passes, as the run's exit code says; the failure
 *   and the output excerpt go to its <system-out> (same rule as the maintenance log: issues are
 *   listed, not failures).
 * Group steps (parallel, include) are left out when their children reported, so a failure is
 * counted once; that needs `plan` for parallel groups (their children's qids do not show the
 * nesting). Without `plan` only include groups are recognised, by qid.
 *
 * Every text is masked by the executor; here it is only made valid XML 1.0: escaped, escape
 * sequences removed, characters XML 1.0 cannot hold at all shown as `\xNN`, and `]]>` split in
 * CDATA sections.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { ensureDir } from '../fs/ensure-dir.js';
import { assertReplaceable } from '../fs/replaceable.js';
import { basename, dirname, join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type { RunEvent, RunStatus, StepStatus } from '../exec/events.js';
import { formatDr } from '../record/dr.js';
import type { Plan, PlanStep } from '../plan/types.js';
import { formatDuration } from '../runbook/duration.js';
import type { Reporter } from './reporter.js';
import { LineTail } from './tail.js';

/** Lines of a failing step's output kept for its <failure>. */
export const EXCERPT_LINES = 50;
/** Longest message attribute / testcase name, in characters. */
const MESSAGE_MAX = 2000;
const NAME_MAX = 500;
/** Longest failure body / system-out, in characters (the excerpt itself is bounded too). */
const BODY_MAX = 200_000;

export interface JunitOptions {
  /** The <testsuite> (and <testsuites>) name: the runbook's name. */
  suiteName: string;
  /** The run's plan: lets parallel groups be recognised and left out (see above). */
  plan?: Plan;
}

type Outcome = 'passed' | 'failure' | 'error' | 'skipped';

interface Case {
  qid: string;
  name: string;
  rollback: boolean;
  durationMs: number;
  outcome: Outcome;
  message?: string;
  /** The failure / error body. */
  body: string[];
  systemOut: string[];
}

interface Started {
  name: string;
  time: number;
  rollback: boolean;
}

export function createJunitReporter(file: string, opts: JunitOptions): Reporter {
  const cases: Case[] = [];
  const tails = new Map<string, LineTail>();
  const open = new Map<string, Started>();
  let start: Extract<RunEvent, { type: 'run:start' }> | undefined;
  let end: Extract<RunEvent, { type: 'run:end' }> | undefined;
  let firstTime: number | undefined;
  let lastTime: number | undefined;
  let written: Promise<void> | undefined;

  const excerpt = (key: string): string[] => {
    const t = tails.get(key);
    tails.delete(key);
    if (!t) return [];
    const { lines, dropped } = t.all();
    if (lines.length === 0) return [];
    return [
      dropped > 0 ? `--- last ${lines.length} lines of output (${dropped} earlier lines not shown) ---` : '--- output ---',
      ...lines,
    ];
  };

  const handle = (e: RunEvent) => {
    firstTime ??= e.time;
    lastTime = e.time;
    switch (e.type) {
      case 'run:start':
        start = e;
        return;
      case 'step:start':
        open.set(e.qid, { name: e.name, time: e.time, rollback: false });
        tails.delete(e.qid);
        return;
      case 'step:output': {
        let t = tails.get(e.qid);
        if (!t) tails.set(e.qid, (t = new LineTail(EXCERPT_LINES)));
        t.push(e.text, e.stream);
        return;
      }
      case 'step:retry':
        return;
      case 'step:end': {
        open.delete(e.qid);
        const c: Case = { qid: e.qid, name: e.name, rollback: false, durationMs: e.durationMs, outcome: 'passed', body: [], systemOut: [] };
        const why = e.reason ?? (e.exitCode != null ? `exit code ${e.exitCode}` : e.status);
        const after = e.attempts > 1 ? ` after ${e.attempts} attempts` : '';
        const status: StepStatus = e.status;
        switch (status) {
          case 'passed':
          case 'warned':
            if (e.attempts > 1) c.systemOut.push(`passed${after}`);
            break;
          case 'failed':
            c.outcome = 'failure';
            c.message = why;
            c.body = [`failed${after}: ${why}`, ...excerpt(e.qid)];
            break;
          case 'interrupted':
            c.outcome = 'error';
            c.message = why;
            c.body = [`interrupted: ${why}`, ...excerpt(e.qid)];
            break;
          case 'issue':
            c.systemOut.push(`failed${after}, the run went on (continue_on_error): ${why}`, ...excerpt(e.qid));
            break;
          case 'skipped':
          case 'pending':
          case 'paused':
            c.outcome = 'skipped';
            c.message = status === 'skipped' ? (e.reason ?? 'skipped') : `${status}: ${e.reason ?? e.name}`;
            break;
          default: {
            const never: never = status;
            return never;
          }
        }
        for (const w of e.warnings ?? []) c.systemOut.push(w);
        tails.delete(e.qid);
        cases.push(c);
        return;
      }
      case 'rollback:start':
        open.set(`${e.qid}:rollback`, { name: e.name, time: e.time, rollback: true });
        tails.delete(`${e.qid}:rollback`);
        return;
      case 'rollback:manual':
        cases.push({ qid: e.qid, name: `rollback: ${e.name}`, rollback: true, durationMs: 0, outcome: 'skipped', message: `undo by hand: ${e.text}`, body: [], systemOut: [] });
        return;
      case 'rollback:end': {
        const key = `${e.qid}:rollback`;
        open.delete(key);
        const c: Case = { qid: e.qid, name: `rollback: ${e.name}`, rollback: true, durationMs: e.durationMs, outcome: 'passed', body: [], systemOut: [] };
        if (!e.ok) {
          c.outcome = 'failure';
          c.message = e.reason ?? 'rollback failed';
          c.body = [`rollback failed: ${c.message}`, ...excerpt(key)];
        }
        tails.delete(key);
        cases.push(c);
        return;
      }
      case 'dr': {
        // A testcase of its own, so a CI test view shows why a run whose steps all passed failed.
        const text = formatDr(e.dr);
        const c: Case = { qid: 'maint:dr', name: 'DR objectives', rollback: false, durationMs: 0, outcome: 'passed', body: [], systemOut: [text] };
        if (!e.dr.met) Object.assign(c, { outcome: 'failure', message: `DR objectives missed: ${text}`, body: [text], systemOut: [] });
        cases.push(c);
        return;
      }
      case 'run:end':
        end = e;
        return;
      default: {
        const never: never = e;
        return never;
      }
    }
  };

  const render = (): string => {
    const suite = opts.suiteName;
    const classname = start?.runbook ?? suite;
    const all = [...cases];
    // Steps that started and never ended: maint stopped (or was killed) in the middle of them.
    for (const [key, s] of open) {
      const rollback = s.rollback;
      const qid = rollback ? key.slice(0, -':rollback'.length) : key;
      all.push({
        qid, name: rollback ? `rollback: ${s.name}` : s.name, rollback, durationMs: Math.max(0, (lastTime ?? s.time) - s.time),
        outcome: 'error', message: 'did not finish: maint stopped before the step ended', body: excerpt(key), systemOut: [],
      });
    }
    const groups = groupsWithReportedChildren(all, opts.plan);
    const shown = all.filter((c) => c.rollback || !groups.has(c.qid));

    const count = (o: Outcome) => shown.filter((c) => c.outcome === o).length;
    const totals = {
      tests: shown.length,
      failures: count('failure'),
      errors: count('error'),
      skipped: count('skipped'),
      time: seconds(end?.durationMs ?? (firstTime !== undefined && lastTime !== undefined ? lastTime - firstTime : 0)),
    };
    const counts = `tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" skipped="${totals.skipped}" time="${totals.time}"`;
    const startedAt = start?.time ?? firstTime;
    const timestamp = startedAt !== undefined && Number.isFinite(startedAt) ? new Date(startedAt).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;

    const props: [string, string][] = [];
    if (start) props.push(['maint.run_id', start.runId], ['maint.runbook', start.runbook], ['maint.title', start.title]);
    if (start?.dryRun) props.push(['maint.dry_run', 'true']);
    if (end) {
      props.push(['maint.status', end.status], ['maint.exit_code', String(end.exitCode)]);
      if (end.pausedAt) props.push(['maint.paused_at', end.pausedAt]);
    } else props.push(['maint.status', 'unfinished']);

    const x: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
    x.push(`<testsuites name="${attr(suite)}" ${counts}>`);
    x.push(`  <testsuite name="${attr(suite)}" ${counts}${timestamp ? ` timestamp="${timestamp}"` : ''}>`);
    x.push('    <properties>');
    for (const [k, v] of props) x.push(`      <property name="${attr(k)}" value="${attr(v)}"/>`);
    x.push('    </properties>');
    for (const c of shown) {
      const head = `    <testcase name="${attr(bound(c.name, NAME_MAX))}" classname="${attr(classname)}" time="${seconds(c.durationMs)}"`;
      const inner: string[] = [];
      const msg = c.message !== undefined ? ` message="${attr(bound(c.message, MESSAGE_MAX))}"` : '';
      if (c.outcome === 'failure') inner.push(`      <failure${msg} type="${c.rollback ? 'rollback_failed' : 'failed'}">${cdata(bound(c.body.join('\n'), BODY_MAX))}</failure>`);
      else if (c.outcome === 'error') inner.push(`      <error${msg} type="interrupted">${cdata(bound(c.body.join('\n'), BODY_MAX))}</error>`);
      else if (c.outcome === 'skipped') inner.push(`      <skipped${msg}/>`);
      if (c.systemOut.length > 0) inner.push(`      <system-out>${cdata(bound(c.systemOut.join('\n'), BODY_MAX))}</system-out>`);
      if (inner.length === 0) x.push(`${head}/>`);
      else x.push(`${head}>`, ...inner, '    </testcase>');
    }
    x.push(`    <system-out>${cdata(resultLine(end, cases))}</system-out>`);
    x.push('  </testsuite>');
    x.push('</testsuites>');
    return x.join('\n') + '\n';
  };

  return {
    handle,
    close() {
      written ??= writeAtomically(file, render());
      return written;
    },
  };
}

/** Group steps (parallel, include) with at least one reported descendant. */
function groupsWithReportedChildren(cases: Case[], plan: Plan | undefined): Set<string> {
  const reported = new Set(cases.filter((c) => !c.rollback).map((c) => c.qid));
  const groups = new Set<string>();
  if (plan) {
    const visit = (steps: PlanStep[]): string[] =>
      steps.flatMap((s) => {
        if (s.kind !== 'parallel' && s.kind !== 'include') return [s.qid];
        const inside = visit(s.kind === 'include' ? [...s.children, ...s.finally] : s.children);
        if (inside.some((q) => reported.has(q))) groups.add(s.qid);
        return [s.qid, ...inside];
      });
    visit([...plan.steps, ...plan.finally]);
  }
  // Include groups also show in the qids: `inc.step` sits inside `inc`.
  for (const q of reported) {
    const parts = q.split('.');
    for (let k = parts.length - 1; k > 0; k--) {
      const parent = parts.slice(0, k).join('.');
      if (reported.has(parent)) groups.add(parent);
    }
  }
  return groups;
}

function resultLine(end: Extract<RunEvent, { type: 'run:end' }> | undefined, cases: Case[]): string {
  if (!end) return 'unfinished: maint stopped before the run ended';
  const phrase: Record<RunStatus, string> = {
    passed: 'passed',
    failed: cases.some((c) => c.rollback) && cases.filter((c) => c.rollback).every((c) => c.outcome === 'passed') ? 'failed, rolled back' : 'failed',
    rollback_failed: 'failed, ROLLBACK FAILED',
    paused: `paused${end.pausedAt ? ` at ${end.pausedAt}` : ''}`,
    interrupted: 'interrupted',
  };
  return `${phrase[end.status]} in ${formatDuration(end.durationMs)} (exit ${end.exitCode})`;
}

/** A temporary file beside the report, renamed over it (only a plain file: fs/replaceable.ts). */
async function writeAtomically(file: string, text: string): Promise<void> {
  const target = resolve(file);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await assertReplaceable(target);
    ensureDir(dir);
    await writeFile(tmp, text, { mode: 0o644, flag: 'wx' });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    // The errno code stays on the error: the caller tells a report it could not write (a notice)
    // from a bug in maint by it.
    throw Object.assign(new Error(`could not write the JUnit report ${file}: ${(err as Error).message}`, { cause: err }), {
      code: (err as NodeJS.ErrnoException).code ?? 'EIO',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// XML

/** Characters XML 1.0 cannot hold, not even as a character reference; lone surrogates too. */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text XML 1.0 can hold: escape sequences removed, other forbidden characters shown as `\xNN`. */
export function xmlSafe(s: string): string {
  return stripVTControlCharacters(s).replace(NOT_XML, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x20 ? `\\x${code.toString(16).padStart(2, '0')}` : '\ufffd';
  });
}

/** An attribute value (for double quotes); tabs and newlines kept as character references. */
export function attr(s: string): string {
  return xmlSafe(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** A CDATA section; `]]>` inside is split across two sections. */
export function cdata(s: string): string {
  return `<![CDATA[${xmlSafe(s).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function bound(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

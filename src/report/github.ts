/**
 * GitHub Actions (`GITHUB_ACTIONS=true`): each command step (and each rollback) is a collapsible
 * `::group::` holding its command and output; failures become `::error` annotations, warnings
 * `::warning`; at run:end a markdown table of the steps is appended to `$GITHUB_STEP_SUMMARY`.
 *
 * Actions cannot nest groups, and parallel steps interleave, so one group is open at a time (see
 * SectionedLog): a step that starts while another's group is open is buffered and printed as a
 * whole group later. Group steps (parallel, include) and manual steps get a plain line, no group.
 *
 * Step output is untrusted: a line such as `::error::x`, `::endgroup::` or `::add-mask::` must
 * not become a workflow command. Inside each group, command processing is switched off with
 * `::stop-commands::<random token>` and back on with `::<token>::` after the output; lines
 * outside groups are maint's own, made single-line. `##[` (the legacy command / log-marker form)
 * gets a zero-width space between the `#`s wherever it appears.
 *
 * Output per step is capped at SECTION_LIMITS.head + SECTION_LIMITS.tail lines (4000 + 1000):
 * the first lines as they come, the last ones when the step ends, and how many were left out in
 * between (the run journal has all of it). Everything here is already masked by the executor.
 */
import { appendFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import type { RunEvent, RunStatus, StepStatus } from '../exec/events.js';
import { formatDr } from '../record/dr.js';
import { formatDuration } from '../runbook/duration.js';
import type { Reporter } from './reporter.js';
import { MARK, SectionedLog, isBad, logSectionEvent, oneLine, resultPhrase, type RollbackTally, type SectionStyle } from './sections.js';


/** Workflow command data (the message): `%`, CR and LF escaped. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Workflow command property values: also `:` and `,`. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `##[` (legacy commands, log markers) with a zero-width space, so it is shown, not obeyed. */
function defuse(s: string): string {
  return s.replace(/##\[/g, '#\u200b#[');
}

const ANNOTATION_MAX = 4000;

function annotation(kind: 'error' | 'warning' | 'notice', title: string, message: string): string {
  const msg = message.length > ANNOTATION_MAX ? `${message.slice(0, ANNOTATION_MAX)}…` : message;
  return `::${kind} title=${escapeProperty(oneLine(title).slice(0, 200))}::${escapeData(stripVTControlCharacters(msg))}`;
}

const githubStyle: SectionStyle = {
  open: (s) => [`::group::${escapeData(oneLine(s.title))}`, `::stop-commands::${s.nonce}`],
  close: (s) => [`::${s.nonce}::`, '::endgroup::'],
  line: (text) => defuse(text.replace(/\r/g, '')),
};

const ICON: Record<StepStatus, string> = {
  passed: '✅',
  warned: '⚠️',
  failed: '❌',
  issue: '⚠️',
  skipped: '⏭️',
  pending: '📝',
  interrupted: '🛑',
  paused: '⏸️',
};

const RUN_ICON: Record<RunStatus, string> = { passed: '✅', failed: '❌', rollback_failed: '🚨', paused: '⏸️', interrupted: '🛑' };

/** Rows kept for the job summary; a runbook has far fewer steps. */
const SUMMARY_ROWS_MAX = 1000;

export function createGithubReporter(out: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Reporter {
  const write = (line: string) => out.write(line + '\n');
  const log = new SectionedLog(write, githubStyle);
  const plain = (s: string) => defuse(oneLine(s));
  const rows: string[] = [];
  let rowsDropped = 0;
  const rollbacks: RollbackTally = { ran: 0, failed: 0 };
  let start: Extract<RunEvent, { type: 'run:start' }> | undefined;
  let summaryDone = false;

  const row = (step: string, result: string, ms: number) => {
    if (rows.length >= SUMMARY_ROWS_MAX) rowsDropped++;
    else rows.push(`| ${cell(step)} | ${cell(result)} | ${formatDuration(ms)} |`);
  };

  const writeSummary = (end: Extract<RunEvent, { type: 'run:end' }> | undefined) => {
    summaryDone = true;
    const file = env.GITHUB_STEP_SUMMARY;
    if (!file) return;
    const result = end ? resultPhrase(end.status, rollbacks, end.pausedAt) : 'unfinished';
    const icon = end ? RUN_ICON[end.status] : '🛑';
    const title = start ? `${start.title} (${start.runbook})` : 'maint';
    const md = [
      `### ${icon} ${cell(title)}: ${cell(result)}`,
      '',
      '| Step | Result | Duration |',
      '| --- | --- | --- |',
      ...rows,
      ...(rowsDropped > 0 ? [`| … ${rowsDropped} more | | |`] : []),
      '',
      `**Result**: ${cell(result)}${end ? ` in ${formatDuration(end.durationMs)} (exit ${end.exitCode})` : ''}${start ? ` · run \`${cell(start.runId).replace(/`/g, '')}\`` : ''}`,
      '',
      '',
    ].join('\n');
    try {
      appendFileSync(file, md);
    } catch (err) {
      log.say([annotation('warning', 'maint', `could not write the job summary: ${(err as Error).message}`)]);
    }
  };

  return {
    handle(e: RunEvent) {
      if (logSectionEvent(log, e, plain)) return;
      switch (e.type) {
        case 'run:start':
          start = e;
          log.say([plain(`▶ ${e.title} (${e.runbook}, run ${e.runId})${e.dryRun ? ' (dry run)' : ''}`)]);
          return;
        case 'step:retry': {
          const line = `↻ retry ${e.attempt}/${e.attempts} in ${formatDuration(e.delayMs)}: ${e.reason}`;
          if (!log.note(e.qid, oneLine(line))) log.say([plain(line)]);
          return;
        }
        case 'step:end': {
          const extra = e.reason && e.status !== 'passed' ? `: ${e.reason}` : '';
          const after = [plain(`${MARK[e.status].padEnd(4)} ${e.name} (${formatDuration(e.durationMs)})${extra}`)];
          const why = e.reason ?? (e.exitCode != null ? `exit code ${e.exitCode}` : e.status);
          if (e.status === 'failed') after.push(annotation('error', `${e.name} failed`, why));
          else if (e.status === 'interrupted') after.push(annotation('error', `${e.name} interrupted`, why));
          else if (e.status === 'issue') after.push(annotation('warning', `${e.name} failed (continue_on_error)`, why));
          else if (e.status === 'paused') after.push(annotation('warning', `Paused at ${e.name}`, why));
          else if (e.status === 'pending') after.push(annotation('notice', `Manual task pending: ${e.name}`, why));
          for (const w of e.warnings ?? []) after.push(annotation('warning', e.name, w));
          log.close(e.qid, e.time, after, isBad(e.status) ? 'bad' : 'ok');
          row(`${e.phase === 'finally' ? 'finally: ' : ''}${e.name}`, `${ICON[e.status]} ${e.status}${extra}`, e.durationMs);
          return;
        }
        case 'rollback:manual':
          log.say([plain(`↶ by hand ${e.name}: ${e.text}`), annotation('warning', `Undo by hand: ${e.name}`, e.text)]);
          row(`↶ rollback: ${e.name}`, '✋ undo by hand (see the log)', 0);
          return;
        case 'rollback:end': {
          rollbacks.ran++;
          if (!e.ok) rollbacks.failed++;
          const extra = e.reason ? `: ${e.reason}` : '';
          const after = [plain(`${e.ok ? '↶ ok  ' : '↶ FAIL'} ${e.name} (${formatDuration(e.durationMs)})${extra}`)];
          if (!e.ok) after.push(annotation('error', `Rollback failed: ${e.name}`, e.reason ?? 'rollback failed'));
          log.close(`${e.qid}:rollback`, e.time, after, e.ok ? 'ok' : 'bad');
          row(`↶ rollback: ${e.name}`, e.ok ? '✅ rolled back' : `❌ rollback failed${extra}`, e.durationMs);
          return;
        }
        case 'dr': {
          const text = formatDr(e.dr);
          log.say([plain(`DR   ${text}`), ...(e.dr.met ? [] : [annotation('error', 'DR objectives missed', text)])]);
          row('DR objectives', `${e.dr.met ? '✅' : '❌'} ${text}`, 0);
          return;
        }
        case 'run:end': {
          log.finish(e.time, '(the run ended before this step did)');
          log.say([plain(`■ ${resultPhrase(e.status, rollbacks, e.pausedAt)} in ${formatDuration(e.durationMs)} (exit ${e.exitCode})`)]);
          writeSummary(e);
          return;
        }
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    async close() {
      log.finish(Date.now(), '(maint stopped before this step ended)');
      if (!summaryDone && start) writeSummary(undefined);
    },
  };
}

/** A markdown table cell: one line, no table breaks, no HTML, no links. */
function cell(s: string): string {
  const t = oneLine(s);
  const bounded = t.length > 300 ? `${t.slice(0, 300)}…` : t;
  return bounded
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\[/g, '\\[')
    .replace(/]/g, '\\]');
}

/**
 * GitLab CI (`GITLAB_CI=true`): each command step (and each rollback) is a collapsible section
 * holding its command and output,
 *
 *   \e[0Ksection_start:<unix seconds>:<id>[collapsed=true]\r\e[0K<header>
 *   …
 *   \e[0Ksection_end:<unix seconds>:<id>\r\e[0K
 *
 * followed by the step's result line (red when it failed), and at run:end a summary line naming
 * what failed. Section ids are `maint_<n>_<qid as [a-z0-9_]>`, n counting sections, so they are
 * unique even when a step runs again. A live step's section starts collapsed; a section printed
 * after its step ended (see SectionedLog: one section at a time, so parallel steps do not
 * interleave) is expanded when the step failed.
 *
 * Step output cannot forge a section marker: GitLab needs `\r\e[0K` after one, and no `\r` is
 * left in a line (a carriage return starts the line over, as on a terminal). Output keeps its
 * colours. Output per step is capped like the GitHub reporter's (SECTION_LIMITS). Everything
 * here is already masked by the executor.
 */
import { stripVTControlCharacters } from 'node:util';
import type { RunEvent, StepStatus } from '../exec/events.js';
import { formatDr } from '../record/dr.js';
import { formatDuration } from '../runbook/duration.js';
import { MARK, SectionedLog, isBad, logSectionEvent, oneLine, resultPhrase, type RollbackTally, type Section, type SectionStyle } from './sections.js';
import type { Reporter } from './reporter.js';

const ESC = '\u001b';

export interface GitlabOptions {
  /** ANSI colours on result lines (GitLab renders them). Default true; pass false for NO_COLOR. */
  color?: boolean;
}

/** A section id GitLab accepts: `[a-z0-9_]`, unique per section. */
export function sectionId(s: Pick<Section, 'seq' | 'key'>): string {
  const slug = s.key.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 48);
  return `maint_${s.seq}${slug ? `_${slug}` : ''}`;
}

const unix = (ms: number) => Math.floor(ms / 1000);

function gitlabStyle(bold: (s: string) => string): SectionStyle {
  return {
    open: (s, outcome) => {
      // The command is the section's first line, shown when it is expanded.
      const header = oneLine(s.title);
      const shown = header.length > 300 ? `${header.slice(0, 300)}…` : header;
      return [`${ESC}[0Ksection_start:${unix(s.startTime)}:${sectionId(s)}${outcome === 'bad' ? '' : '[collapsed=true]'}\r${ESC}[0K${bold(shown)}`];
    },
    close: (s, endTime) => [`${ESC}[0Ksection_end:${unix(endTime)}:${sectionId(s)}\r${ESC}[0K`],
    line: (text) => text.replace(/\r/g, ''),
  };
}

export function createGitlabReporter(out: NodeJS.WritableStream, opts: GitlabOptions = {}): Reporter {
  const color = opts.color ?? true;
  const wrap = (open: number, close: number) => (s: string) => (color ? `${ESC}[${open}m${s}${ESC}[${close}m` : s);
  const c = { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
  const colourFor = (s: StepStatus) =>
    s === 'passed' ? c.green : s === 'failed' || s === 'interrupted' ? c.red : s === 'skipped' ? c.dim : c.yellow;

  const write = (line: string) => out.write(line + '\n');
  const log = new SectionedLog(write, gitlabStyle(c.bold));
  const rollbacks: RollbackTally = { ran: 0, failed: 0 };
  const failed: string[] = [];
  const failedRollbacks: string[] = [];
  const issues: string[] = [];

  return {
    handle(e: RunEvent) {
      if (logSectionEvent(log, e, oneLine)) return;
      switch (e.type) {
        case 'run:start':
          log.say([c.bold(oneLine(`▶ ${e.title} (${e.runbook}, run ${e.runId})${e.dryRun ? ' (dry run)' : ''}`))]);
          return;
        case 'step:retry': {
          const line = oneLine(`↻ retry ${e.attempt}/${e.attempts} in ${formatDuration(e.delayMs)}: ${e.reason}`);
          if (!log.note(e.qid, c.yellow(line))) log.say([c.yellow(line)]);
          return;
        }
        case 'step:end': {
          const extra = e.reason && e.status !== 'passed' ? `: ${e.reason}` : '';
          const after = [
            `${colourFor(e.status)(MARK[e.status].padEnd(4))} ${oneLine(e.name)} ${c.dim(`(${formatDuration(e.durationMs)})`)}${oneLine(extra)}`,
            ...(e.warnings ?? []).map((w) => `     ${c.yellow(oneLine(w))}`),
          ];
          if (e.status === 'failed' || e.status === 'interrupted') failed.push(e.name);
          if (e.status === 'issue') issues.push(e.name);
          log.close(e.qid, e.time, after, isBad(e.status) ? 'bad' : 'ok');
          return;
        }
        case 'rollback:manual':
          log.say([c.yellow(oneLine(`↶ by hand ${e.name}: ${e.text}`))]);
          return;
        case 'rollback:end': {
          rollbacks.ran++;
          if (!e.ok) {
            rollbacks.failed++;
            failedRollbacks.push(e.name);
          }
          const mark = e.ok ? c.green('↶ ok  ') : c.red('↶ FAIL');
          const after = [`${mark} ${oneLine(e.name)} ${c.dim(`(${formatDuration(e.durationMs)})`)}${e.reason ? oneLine(`: ${e.reason}`) : ''}`];
          log.close(`${e.qid}:rollback`, e.time, after, e.ok ? 'ok' : 'bad');
          return;
        }
        case 'dr':
          log.say([(e.dr.met ? c.green : c.red)(oneLine(`DR   ${formatDr(e.dr)}`))]);
          return;
        case 'run:end': {
          log.finish(e.time, '(the run ended before this step did)');
          const colour = e.status === 'passed' ? c.green : e.status === 'paused' ? c.yellow : c.red;
          const lines = [colour(c.bold(oneLine(`■ ${resultPhrase(e.status, rollbacks, e.pausedAt)} in ${formatDuration(e.durationMs)} (exit ${e.exitCode})`)))];
          if (failed.length > 0) lines.push(c.red(oneLine(`  failed: ${names(failed)}`)));
          if (failedRollbacks.length > 0) lines.push(c.red(oneLine(`  rollback failed: ${names(failedRollbacks)} (a person must look now)`)));
          if (issues.length > 0) lines.push(c.yellow(oneLine(`  issues (continue_on_error): ${names(issues)}`)));
          log.say(lines);
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
    },
  };
}

function names(list: string[]): string {
  const shown = list.slice(0, 20).map((n) => stripVTControlCharacters(n)).join(', ');
  return list.length > 20 ? `${shown}, … ${list.length - 20} more` : shown;
}

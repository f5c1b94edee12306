/**
 * Crontab lines for scheduled runbooks (`maint schedule --crontab`), and the translation of a
 * runbook schedule into plain cron that every cron implementation (and Kubernetes) reads:
 * numbers instead of names, day of week 0-6, no `?`, and `#n` / `L` turned into a schedule on
 * the candidate days plus a shell guard that lets only the right day through. Pure functions.
 */
import { posix } from 'node:path';
import { describeSchedule, monthNumber, nthWeekday } from './next.js';

/** A runbook as the schedule exports see it; runbooks without a schedule are left out. */
export interface ScheduledRunbook {
  name: string;
  schedule?: string;
  timezone?: string;
}

export interface CrontabOptions {
  /** Directory the job runs in (where maint's config and ./runbooks are found). */
  cwd: string;
  /** maint's entry script, run with nodeBin (e.g. /opt/maint/bin/maint.js); absolute, or relative to cwd. */
  maintBin: string;
  /** Absolute path of node. */
  nodeBin: string;
  /** PATH for the jobs: the directories of the tools the runbooks call (e.g. the current PATH). */
  path: string;
  /** Directory for the per-runbook `<name>.cron.log` files. */
  logDir: string;
}

/**
 * A schedule in portable cron. `guard`, when present, is a bash test (GNU date) that is true only
 * on the days the original schedule means; run the command only when it passes. `guard` is raw
 * shell text: a crontab needs its `%` escaped (see {@link escapeCronPercent}).
 */
export type PortableSchedule =
  | { ok: true; schedule: string; guard?: string; guardNote?: string }
  | { ok: false; reason: string };

/** POSIX shell quoting: plain words stay as they are, anything else is single-quoted. */
export function shellQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", "'\\''")}'`;
}

const DOM_OF_NTH: Record<number, string> = { 1: '1-7', 2: '8-14', 3: '15-21', 4: '22-28', 5: '29-31' };

/** Month field with names replaced by numbers (`JAN-MAR` → `1-3`); null when it has other letters. */
function normalizeMonth(field: string): string | null {
  const out = field.replace(/[A-Za-z]{3}/g, (name) => String(monthNumber(name) ?? name));
  return /[A-Za-z]/.test(out) ? null : out;
}

/**
 * Day-of-week field with names replaced by numbers and 7 (Sunday) written 0, since Kubernetes
 * (robfig/cron) accepts only 0-6: `SUN` → `0`, `MON-SUN` → `1-6,0`, `0-7` → `*`.
 * Null when it has anything cron cannot read (`#`, `L`, other letters).
 */
function normalizeDayOfWeek(field: string): string | null {
  if (field === '?') return '*';
  const names = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const numeric = field.replace(/[A-Za-z]{3}/g, (name) => {
    const i = names.indexOf(name.toUpperCase());
    return i >= 0 ? String(i) : name;
  });
  if (/[^0-9*,/-]/.test(numeric)) return null;
  const items = numeric.split(',').map((item) => {
    if (item === '7') return '0';
    const range = /^(\d)-7$/.exec(item);
    if (range) {
      const from = Number(range[1]);
      if (from === 0 || from === 1) return '*';
      return from === 7 ? '0' : `${from}-6,0`;
    }
    return item;
  });
  return items.includes('*') && items.length > 1 ? '*' : items.join(',');
}

/**
 * Translate a runbook schedule into portable cron for `timezone` (used by the guard's `date`).
 *
 * - plain schedules pass through, names → numbers, `?` → `*`, day of week 7 → 0;
 * - `X#n` (nth weekday, day of month `*`): the nth week's days (`1-7`, `8-14`, …) with day of
 *   week `*`, guarded by `date +%u` = X. (`0 9 1-7 * 1` would be wrong: cron ORs a restricted
 *   day of month with a restricted day of week.)
 * - `XL` / `X#L` (last weekday X): day of week X, guarded by "7 days later is in the next month";
 * - `L` in day of month (last day): days 28-31, guarded by "tomorrow is the 1st".
 *
 * Anything else with `#`, `L` or `W` (`15W`, `LW`, `L-2`, `#` with a restricted day of month,
 * lists of `#` items) is not translated: `{ok: false}`.
 */
export function portableSchedule(expr: string, timezone: string = 'UTC'): PortableSchedule {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return { ok: false, reason: `"${expr}" does not have 5 fields` };
  const [minute, hour, rawDom, rawMonth, rawDow] = fields as [string, string, string, string, string];
  if (/[^0-9*,/-]/.test(minute + hour)) return { ok: false, reason: `"${expr}": minute and hour must be plain cron` };
  const month = normalizeMonth(rawMonth === '?' ? '*' : rawMonth);
  if (month === null) return { ok: false, reason: `"${expr}": month field "${rawMonth}" is not plain cron` };
  const dom = rawDom === '?' ? '*' : rawDom;
  const tz = shellQuote(timezone);
  const date = (args: string) => `TZ=${tz} date ${args}`;

  const nth = nthWeekday(rawDow);
  if (nth) {
    if (dom !== '*') {
      return { ok: false, reason: `"${expr}": \`${rawDow}\` together with a day of month cannot be written for cron` };
    }
    if (nth.nth === 'last') {
      return {
        ok: true,
        schedule: `${minute} ${hour} * ${month} ${nth.day}`,
        // Noon: a date at midnight may not exist on a DST day; `12:00 +7 days` would read +7 as a zone.
        guard: `[ "$(${date(`-d "$(${date('+%F')}) 12:00 7 days" +%d`)})" -le 7 ]`,
        guardNote: 'runs only when 7 days later is in the next month',
      };
    }
    return {
      ok: true,
      schedule: `${minute} ${hour} ${DOM_OF_NTH[nth.nth]} ${month} *`,
      guard: `[ "$(${date('+%u')})" = ${nth.day === 0 ? 7 : nth.day} ]`,
      guardNote: `runs only when the day is a ${['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][nth.day]}`,
    };
  }

  const dow = normalizeDayOfWeek(rawDow);
  if (dow === null) return { ok: false, reason: `"${expr}": day of week "${rawDow}" cannot be written for cron` };

  if (dom.toUpperCase() === 'L') {
    if (dow !== '*') return { ok: false, reason: `"${expr}": \`L\` together with a day of week cannot be written for cron` };
    return {
      ok: true,
      schedule: `${minute} ${hour} 28-31 ${month} *`,
      guard: `[ "$(${date(`-d "$(${date('+%F')}) 12:00 1 day" +%d`)})" = 01 ]`,
      guardNote: 'runs only when tomorrow is the 1st',
    };
  }
  if (/[^0-9*,/-]/.test(dom)) return { ok: false, reason: `"${expr}": day of month "${rawDom}" cannot be written for cron` };
  return { ok: true, schedule: `${minute} ${hour} ${dom} ${month} ${dow}` };
}

/** `%` ends the command in a crontab line (the rest becomes stdin); `\%` is a literal `%`. */
export function escapeCronPercent(command: string): string {
  return command.replaceAll('%', '\\%');
}

/**
 * A crontab job line back into its parts: the 5 schedule fields and the shell command cron runs
 * (`\%` unescaped). Throws on an unescaped `%`, which cron would turn into a newline and stdin.
 */
export function crontabCommand(line: string): { schedule: string; command: string } {
  const m = /^\s*(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(.*)$/.exec(line);
  if (!m || m[1]!.startsWith('#')) throw new Error(`not a crontab job line: ${line}`);
  const raw = m[2]!;
  let command = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && raw[i + 1] === '%') {
      command += '%';
      i++;
    } else if (c === '%') {
      throw new Error(`unescaped % in crontab line (cron would cut the command there): ${line}`);
    } else {
      command += c;
    }
  }
  return { schedule: m[1]!.replace(/\s+/g, ' '), command };
}

const STANDARD_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];

/**
 * A crontab for the runbooks that have a schedule: a header comment, `SHELL=/bin/bash`, a PATH
 * with node's directory, the given PATH and the standard directories, and per runbook a comment
 * and one line
 * `<cron> cd <cwd> && <node> <maint.js> run <name> --yes >> <logDir>/<name>.cron.log 2>&1`,
 * preceded by a `CRON_TZ=` line whenever the zone changes (UTC included, so a server whose
 * system zone is not UTC still runs UTC runbooks at their UTC time). `#n` / `L` schedules get the
 * candidate days and a guard in front of the command (see {@link portableSchedule}); schedules
 * that cron cannot express become a comment saying so.
 */
export function crontabLines(runbooks: readonly ScheduledRunbook[], opts: CrontabOptions): string {
  // cron's own PATH is bare (/usr/bin:/bin): node's directory first, then the tools'.
  const nodeDir = opts.nodeBin.includes('/') ? posix.dirname(opts.nodeBin) : '';
  const out: string[] = [
    '# maint: scheduled runbooks (generated by `maint schedule --crontab`).',
    '# Install: (crontab -l 2>/dev/null; maint schedule --crontab) | crontab -',
    "# Times are in each runbook's timezone through CRON_TZ, which cronie and systemd-cron honour",
    '# for the lines after it. Vixie cron ignores CRON_TZ and uses the system time zone: there,',
    "# set the system zone to the runbooks' zone. Guards (`[ ... ] &&`) need bash and GNU date.",
    'SHELL=/bin/bash',
    `PATH=${[...new Set([nodeDir, ...opts.path.split(':'), ...STANDARD_PATH].filter((d) => d !== ''))].join(':')}`,
  ];
  let zone: string | null = null;
  for (const rb of runbooks) {
    if (rb.schedule === undefined || rb.schedule.trim() === '') continue;
    const timezone = rb.timezone ?? 'UTC';
    const portable = portableSchedule(rb.schedule, timezone);
    out.push('');
    if (!portable.ok) {
      out.push(`# ${rb.name}: not scheduled here, ${portable.reason}`);
      continue;
    }
    if (timezone !== zone) {
      out.push(`CRON_TZ=${timezone}`);
      zone = timezone;
    }
    const note = portable.guard ? `; ${portable.guardNote}` : '';
    out.push(`# ${rb.name}: ${describeSchedule(rb.schedule, timezone)}${note}`);
    const log = posix.join(opts.logDir, `${rb.name}.cron.log`);
    const run =
      `cd ${shellQuote(opts.cwd)} && ${shellQuote(opts.nodeBin)} ${shellQuote(opts.maintBin)} ` +
      `run ${shellQuote(rb.name)} --yes >> ${shellQuote(log)} 2>&1`;
    const command = portable.guard ? `${portable.guard} && ${run}` : run;
    out.push(`${portable.schedule} ${escapeCronPercent(command)}`);
  }
  return out.join('\n') + '\n';
}

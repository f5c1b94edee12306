/**
 * When a runbook's schedule fires next, and a short human description of a cron expression.
 * Pure: the current time is always passed in.
 *
 * Cron semantics are croner's, the same library the runbook schema validates with: 5 fields,
 * `#n` (nth weekday of the month) and `L` (last), day-of-month and day-of-week OR'ed when both
 * are restricted (as in Vixie cron), DST handled like Vixie cron for fixed-time jobs (a time in
 * the spring-forward gap runs when the clock has jumped, a repeated time runs once).
 */
import { Cron } from 'croner';

/** A paused croner job for `expr` in `timezone`; it never starts a timer. Throws on a bad expression. */
export function cronFor(expr: string, timezone: string = 'UTC'): Cron {
  return new Cron(expr, { paused: true, timezone });
}

/** The next `count` fire times strictly after `now` (fewer when the expression stops firing). */
export function nextFireTimes(schedule: string, timezone: string, now: Date, count: number): Date[] {
  if (count <= 0) return [];
  return cronFor(schedule, timezone).nextRuns(count, now);
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const DAY_ABBR = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const MONTH_ABBR = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const NTH = ['', 'first', 'second', 'third', 'fourth', 'fifth'] as const;

/** Day of week 0-6 (Sunday 0) for `SUN`…`SAT` or `0`…`7`, any case; null otherwise. */
export function dayOfWeekNumber(text: string): number | null {
  const t = text.toUpperCase();
  const byName = DAY_ABBR.indexOf(t as (typeof DAY_ABBR)[number]);
  if (byName >= 0) return byName;
  if (/^[0-7]$/.test(t)) return Number(t) % 7;
  return null;
}

/** Month 1-12 for `JAN`…`DEC` or `1`…`12`, any case; null otherwise. */
export function monthNumber(text: string): number | null {
  const t = text.toUpperCase();
  const byName = MONTH_ABBR.indexOf(t as (typeof MONTH_ABBR)[number]);
  if (byName >= 0) return byName + 1;
  if (/^\d{1,2}$/.test(t) && Number(t) >= 1 && Number(t) <= 12) return Number(t);
  return null;
}

/** `X#n` (n 1-5) → {day, nth}; `X#L`, `XL` → {day, nth: 'last'}; null for anything else. */
export function nthWeekday(field: string): { day: number; nth: number | 'last' } | null {
  const m = /^([A-Za-z]{3}|[0-7])(?:#([1-5])|#L|L)$/i.exec(field);
  if (!m) return null;
  const day = dayOfWeekNumber(m[1]!);
  if (day === null) return null;
  return { day, nth: m[2] === undefined ? 'last' : Number(m[2]) };
}

const pad2 = (n: number) => String(n).padStart(2, '0');

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'}`;
}

function joinWords(words: string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

const isInt = (s: string, max: number) => /^\d{1,2}$/.test(s) && Number(s) <= max;
const isStar = (s: string) => s === '*' || s === '?';

/** `HH:MM` for single minute and hour values, `HH:MM and HH:MM` for a list of hours; else null. */
function timeOfDay(minute: string, hour: string): string | null {
  if (!isInt(minute, 59)) return null;
  const hours = hour.split(',');
  if (!hours.every((h) => isInt(h, 23))) return null;
  return joinWords(hours.map((h) => `${pad2(Number(h))}:${pad2(Number(minute))}`));
}

/** Days of the week as words: `Sundays`, `weekdays`, `weekends`, `Mondays and Thursdays`; else null. */
function daysOfWeek(field: string): string | null {
  const range = /^([A-Za-z]{3}|[0-7])-([A-Za-z]{3}|[0-7])$/.exec(field);
  if (range) {
    const from = dayOfWeekNumber(range[1]!);
    const to = range[2] === '7' ? 7 : dayOfWeekNumber(range[2]!);
    if (from === 1 && to === 5) return 'weekdays';
    if (from === 6 && (to === 7 || to === 0)) return 'weekends';
    return null;
  }
  const days = field.split(',').map(dayOfWeekNumber);
  if (days.some((d) => d === null)) return null;
  const set = [...new Set(days as number[])].sort((a, b) => a - b);
  if (set.length === 2 && set[0] === 0 && set[1] === 6) return 'weekends';
  if (set.join(',') === '1,2,3,4,5') return 'weekdays';
  // Monday first, Sunday last, the way people list weekdays.
  set.sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
  return joinWords(set.map((d) => `${DAY_NAMES[d]}s`));
}

/**
 * Short human text for the common shapes of a cron expression: `daily 06:00`, `Sundays 02:00`,
 * `weekdays 06:00`, `first Monday of the month 09:00`, `last Friday of the month 09:00`,
 * `1st of the month 03:00`, `last day of the month 03:00`, `hourly at :15`, `every 15 minutes`.
 * Anything else comes back as the expression itself.
 */
export function describeCron(expr: string): string {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return expr;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (!isStar(month)) {
    // A list of months (`3,6,9,12`): the same words, "of the month" naming them.
    const months = monthList(month);
    if (!months) return expr;
    const words = describeCron(`${minute} ${hour} ${dom} * ${dow}`);
    return words.includes(' of the month ') ? words.replace(' of the month ', ` of ${months} `) : expr;
  }

  if (isStar(dom) && isStar(dow)) {
    if (minute === '*' && hour === '*') return 'every minute';
    const every = /^\*\/(\d+)$/.exec(minute);
    if (every && hour === '*') return `every ${Number(every[1])} minutes`;
    if (isInt(minute, 59) && hour === '*') return `hourly at :${pad2(Number(minute))}`;
  }

  const time = timeOfDay(minute, hour);
  if (time === null) return expr;

  if (isStar(dom)) {
    if (isStar(dow)) return `daily ${time}`;
    const nth = nthWeekday(dow);
    if (nth) {
      const which = nth.nth === 'last' ? 'last' : NTH[nth.nth];
      return `${which} ${DAY_NAMES[nth.day]} of the month ${time}`;
    }
    const days = daysOfWeek(dow);
    return days === null ? expr : `${days} ${time}`;
  }
  if (isStar(dow)) {
    if (dom.toUpperCase() === 'L') return `last day of the month ${time}`;
    if (isInt(dom, 31) && Number(dom) >= 1) return `${ordinal(Number(dom))} of the month ${time}`;
  }
  return expr;
}

const MONTH_NAMES = ['', 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `3,6,9,12` → `Mar, Jun, Sep, Dec`; null unless every item is a month number. */
function monthList(field: string): string | null {
  const items = field.split(',');
  if (!items.every((m) => isInt(m, 12) && Number(m) >= 1)) return null;
  return items.map((m) => MONTH_NAMES[Number(m)]).join(', ');
}

/** `Sundays 02:00 UTC (0 2 * * SUN)`, or `0 3 * 1 * UTC` when there are no words for it. */
export function describeSchedule(expr: string, timezone: string = 'UTC'): string {
  const words = describeCron(expr);
  return words === expr ? `${expr} ${timezone}` : `${words} ${timezone} (${expr})`;
}

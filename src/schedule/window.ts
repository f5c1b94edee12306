/**
 * Maintenance windows: a window opens at each fire time of its cron (in the runbook's time
 * zone) and stays open for its duration, measured in elapsed time (a 4h window that spans a DST
 * change is still 4 real hours). Pure: the current time is always passed in.
 */
import { parseDuration } from '../runbook/duration.js';
import { cronFor, describeCron } from './next.js';

export interface MaintenanceWindow {
  cron: string;
  duration: string;
}

export interface WindowState {
  /** fire ≤ now < fire + duration for some fire time of the window's cron */
  open: boolean;
  /** When open: the latest fire time at or before now (the window that is open). */
  openedAt?: Date;
  /** When open: openedAt + duration. */
  closesAt?: Date;
  /** The first fire time strictly after now: the next window to open (after this one, when open). */
  nextOpen: Date;
}

/**
 * Whether `now` is inside the window. Throws when the duration is not a positive duration or the
 * cron never fires again (e.g. `0 0 30 2 *`), which validation should have caught.
 *
 * The window is open when some fire time F has F ≤ now < F + duration, that is when the first
 * fire after now − duration is at or before now. That needs only forward search, so it holds for
 * any length of window and any cron (monthly `MON#1`, `L`, DST days) without stepping back by
 * guesses. The latest such F is the one reported as openedAt.
 */
export function windowState(window: MaintenanceWindow, timezone: string, now: Date): WindowState {
  const length = parseDuration(window.duration);
  if (length === null || length <= 0) throw new Error(`window duration "${window.duration}" is not a positive duration`);
  const cron = cronFor(window.cron, timezone);
  const t = now.getTime();

  // nextRun(x) is the first fire time strictly after x.
  const nextOpen = cron.nextRun(now);
  if (nextOpen === null) throw new Error(`window cron "${window.cron}" never fires again`);

  const first = cron.nextRun(new Date(t - length));
  if (first === null || first.getTime() > t) return { open: false, nextOpen };

  const openedAt = latestFireAtOrBefore(cron, now, first);
  return { open: true, openedAt, closesAt: new Date(openedAt.getTime() + length), nextOpen };
}

type CronJob = ReturnType<typeof cronFor>;

/** The latest fire time ≤ now, given one (`atLeast`) known to be ≤ now. */
function latestFireAtOrBefore(cron: CronJob, now: Date, atLeast: Date): Date {
  const t = now.getTime();
  // croner's previousRuns includes a run earlier in the same second as the reference, so
  // now + 1ms finds a fire exactly at now too. Checked against forward search before use.
  const candidate = cron.previousRuns(1, new Date(t + 1))[0];
  if (candidate && candidate.getTime() >= atLeast.getTime() && candidate.getTime() <= t) {
    const after = cron.nextRun(candidate);
    if (after === null || after.getTime() > t) return candidate;
  }
  let latest = atLeast;
  for (let next = cron.nextRun(latest); next !== null && next.getTime() <= t; next = cron.nextRun(latest)) latest = next;
  return latest;
}

/** Wall-clock time in `timezone`: local `2026-04-05 03:00`, zone `Europe/Helsinki`, offset `UTC+3`. */
export function zonedTime(date: Date, timezone: string): { local: string; zone: string; offset: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'shortOffset',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    local: `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`,
    zone: timezone,
    offset: get('timeZoneName').replace(/^GMT/, 'UTC') || 'UTC',
  };
}

const isUtc = (timezone: string) => timezone === 'UTC' || timezone === 'Etc/UTC';

/** `2026-11-29 02:00 UTC`, `2026-04-05 03:00 Europe/Helsinki (UTC+3)` */
export function formatInZone(date: Date, timezone: string): string {
  const t = zonedTime(date, timezone);
  return isUtc(timezone) ? `${t.local} UTC` : `${t.local} ${t.zone} (${t.offset})`;
}

/** `5d 23h`, `3h 12m`, `12m`, `40s`: how far ahead `ms` is, coarsely. */
export function formatRelative(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))}s`;
  const minutes = Math.round(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return `${m}m`;
}

/** `Sundays 02:00 for 4h, UTC` */
export function describeWindow(window: MaintenanceWindow, timezone: string): string {
  return `${describeCron(window.cron)} for ${window.duration.trim()}, ${timezone}`;
}

/**
 * The message for exit 4, e.g.
 * `outside the maintenance window of weekly (Sundays 02:00 for 4h, UTC); next window opens
 * 2026-11-29 02:00 UTC (in 5d 23h); use --force --reason "…" for emergency maintenance`;
 * in other zones `… next window opens 2026-11-01 03:00 Europe/Helsinki (UTC+2, in 5d 22h); …`.
 */
export function formatWindowRefusal(runbook: string, window: MaintenanceWindow, timezone: string, now: Date): string {
  const { nextOpen } = windowState(window, timezone, now);
  const t = zonedTime(nextOpen, timezone);
  const when = isUtc(timezone) ? `${t.local} UTC` : `${t.local} ${t.zone}`;
  return (
    `outside the maintenance window of ${runbook} (${describeWindow(window, timezone)}); ` +
    `next window opens ${when} (${isUtc(timezone) ? '' : `${t.offset}, `}in ${formatRelative(nextOpen.getTime() - now.getTime())}); ` +
    `use --force --reason "…" for emergency maintenance`
  );
}

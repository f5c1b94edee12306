import { describe, expect, it } from 'vitest';
import { formatInZone, formatRelative, formatWindowRefusal, windowState } from '../../../src/schedule/window.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

describe('windowState: a 4h Sunday window in UTC', () => {
  const w = { cron: '0 2 * * SUN', duration: '4h' };

  it('is open exactly at the fire time', () => {
    const s = windowState(w, 'UTC', at('2026-11-22T02:00:00.000Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-11-22T02:00:00.000Z');
    expect(iso(s.closesAt)).toBe('2026-11-22T06:00:00.000Z');
    expect(iso(s.nextOpen)).toBe('2026-11-29T02:00:00.000Z');
  });

  it('is closed 1 ms before it opens, and says it opens then', () => {
    const s = windowState(w, 'UTC', at('2026-11-22T01:59:59.999Z'));
    expect(s).toEqual({ open: false, nextOpen: at('2026-11-22T02:00:00.000Z') });
  });

  it('is open 1 ms before it closes', () => {
    const s = windowState(w, 'UTC', at('2026-11-22T05:59:59.999Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-11-22T02:00:00.000Z');
  });

  it('is closed at the close time, the next window a week later', () => {
    const s = windowState(w, 'UTC', at('2026-11-22T06:00:00.000Z'));
    expect(s).toEqual({ open: false, nextOpen: at('2026-11-29T02:00:00.000Z') });
  });

  it('is closed mid-week', () => {
    expect(windowState(w, 'UTC', at('2026-11-25T12:00:00Z')).open).toBe(false);
  });
});

describe('windowState: monthly first-Monday window', () => {
  const w = { cron: '0 9 * * MON#1', duration: '4h' };

  it('is open on the first Monday of the month', () => {
    const s = windowState(w, 'UTC', at('2026-12-07T12:59:59.999Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-12-07T09:00:00.000Z');
    expect(iso(s.closesAt)).toBe('2026-12-07T13:00:00.000Z');
    expect(iso(s.nextOpen)).toBe('2027-01-04T09:00:00.000Z');
  });

  it('is closed at its close, and on the second Monday', () => {
    expect(windowState(w, 'UTC', at('2026-12-07T13:00:00Z')).open).toBe(false);
    const s = windowState(w, 'UTC', at('2026-12-14T10:00:00Z'));
    expect(s).toEqual({ open: false, nextOpen: at('2027-01-04T09:00:00Z') });
  });

  it('a window longer than a month between fires: open from a fire weeks back', () => {
    // 0 9 * * MON#1 fired on 2026-11-02 and 2026-12-07; a 30d window opened on the 2nd is still open on the 30th.
    const s = windowState({ cron: '0 9 * * MON#1', duration: '30d' }, 'UTC', at('2026-11-30T12:00:00Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-11-02T09:00:00.000Z');
    expect(iso(s.closesAt)).toBe('2026-12-02T09:00:00.000Z');
  });

  it('last Friday of the month (FRI#L)', () => {
    const w2 = { cron: '0 9 * * FRI#L', duration: '2h' };
    expect(windowState(w2, 'UTC', at('2026-11-27T10:00:00Z')).open).toBe(true);
    expect(windowState(w2, 'UTC', at('2026-11-20T10:00:00Z')).open).toBe(false);
  });
});

describe('windowState: overlapping windows', () => {
  it('reports the latest fire time as openedAt when windows overlap', () => {
    const s = windowState({ cron: '0 * * * *', duration: '2h' }, 'UTC', at('2026-11-22T10:30:00Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-11-22T10:00:00.000Z');
    expect(iso(s.closesAt)).toBe('2026-11-22T12:00:00.000Z');
    expect(iso(s.nextOpen)).toBe('2026-11-22T11:00:00.000Z');
  });
});

describe('windowState: Europe/Helsinki across DST changes', () => {
  // Sundays 03:00 local for 2h. EET is UTC+2, EEST UTC+3. In 2026 summer time starts on
  // 29 March (03:00 EET → 04:00 EEST, at 01:00Z) and ends on 25 October (04:00 EEST → 03:00 EET).
  const w = { cron: '0 3 * * SUN', duration: '2h' };
  const tz = 'Europe/Helsinki';

  it('in winter time the window opens at 01:00Z', () => {
    const s = windowState(w, tz, at('2026-03-22T01:30:00Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-03-22T01:00:00.000Z');
    expect(iso(s.nextOpen)).toBe('2026-03-29T01:00:00.000Z'); // 03:00 does not exist that day: opens at 04:00 EEST
  });

  it('in summer time it opens at 00:00Z (a fixed UTC+2 offset would say closed)', () => {
    const s = windowState(w, tz, at('2026-04-05T00:30:00Z'));
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-04-05T00:00:00.000Z');
    expect(iso(s.closesAt)).toBe('2026-04-05T02:00:00.000Z');
    expect(windowState(w, tz, at('2026-04-05T02:00:00Z')).open).toBe(false);
  });

  it('on the fall-back day it opens at the first 03:00 and stays open 2 real hours', () => {
    const s = windowState(w, tz, at('2026-10-25T01:30:00Z')); // 03:30 EET, the second pass of 03:xx
    expect(s.open).toBe(true);
    expect(iso(s.openedAt)).toBe('2026-10-25T00:00:00.000Z');
    expect(iso(s.closesAt)).toBe('2026-10-25T02:00:00.000Z');
  });

  it('back in winter time, 00:30Z (02:30 local) is before the window (a fixed UTC+3 offset would say open)', () => {
    const s = windowState(w, tz, at('2026-11-01T00:30:00Z'));
    expect(s).toEqual({ open: false, nextOpen: at('2026-11-01T01:00:00Z') });
  });
});

describe('windowState: bad input', () => {
  it('throws on a duration that is not one, and on a cron that never fires', () => {
    expect(() => windowState({ cron: '0 2 * * SUN', duration: 'soon' }, 'UTC', new Date())).toThrow(/duration/);
    expect(() => windowState({ cron: '0 0 30 2 *', duration: '1h' }, 'UTC', new Date())).toThrow(/never fires/);
  });
});

describe('formatWindowRefusal', () => {
  it('names the window and when the next one opens, in UTC', () => {
    expect(formatWindowRefusal('weekly', { cron: '0 2 * * SUN', duration: '4h' }, 'UTC', at('2026-11-23T03:00:00Z'))).toBe(
      'outside the maintenance window of weekly (Sundays 02:00 for 4h, UTC); next window opens 2026-11-29 02:00 UTC ' +
        '(in 5d 23h); use --force --reason "…" for emergency maintenance',
    );
  });

  it('shows the next opening in the runbook zone, with its offset after the DST change', () => {
    const msg = formatWindowRefusal('weekly', { cron: '0 3 * * SUN', duration: '2h' }, 'Europe/Helsinki', at('2026-10-26T03:00:00Z'));
    expect(msg).toBe(
      'outside the maintenance window of weekly (Sundays 03:00 for 2h, Europe/Helsinki); next window opens ' +
        '2026-11-01 03:00 Europe/Helsinki (UTC+2, in 5d 22h); use --force --reason "…" for emergency maintenance',
    );
  });

  it('for a monthly window, the next first Monday', () => {
    const msg = formatWindowRefusal('monthly', { cron: '0 9 * * MON#1', duration: '4h' }, 'UTC', at('2026-12-14T10:00:00Z'));
    expect(msg).toContain('(first Monday of the month 09:00 for 4h, UTC)');
    expect(msg).toContain('next window opens 2027-01-04 09:00 UTC (in 20d 23h)');
  });
});

describe('formatting helpers', () => {
  it('formatInZone', () => {
    expect(formatInZone(at('2026-07-01T00:00:00Z'), 'Europe/Helsinki')).toBe('2026-07-01 03:00 Europe/Helsinki (UTC+3)');
    expect(formatInZone(at('2026-07-01T00:00:00Z'), 'UTC')).toBe('2026-07-01 00:00 UTC');
    expect(formatInZone(at('2026-07-01T00:00:00Z'), 'Asia/Kolkata')).toBe('2026-07-01 05:30 Asia/Kolkata (UTC+5:30)');
  });

  it('formatRelative', () => {
    expect(formatRelative(40_000)).toBe('40s');
    expect(formatRelative(12 * 60_000)).toBe('12m');
    expect(formatRelative(3 * 3600_000 + 12 * 60_000)).toBe('3h 12m');
    expect(formatRelative(2 * 86400_000)).toBe('2d');
    expect(formatRelative(5 * 86400_000 + 23 * 3600_000 + 59 * 60_000 + 59_000)).toBe('6d');
  });
});

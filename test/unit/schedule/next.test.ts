import { describe, expect, it } from 'vitest';
import { describeCron, describeSchedule, nextFireTimes } from '../../../src/schedule/next.js';

const isos = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('nextFireTimes', () => {
  it('lists the next fire times strictly after now', () => {
    expect(isos(nextFireTimes('0 2 * * SUN', 'UTC', new Date('2026-11-22T02:00:00Z'), 2))).toEqual([
      '2026-11-29T02:00:00.000Z',
      '2026-12-06T02:00:00.000Z',
    ]);
  });

  it('follows the runbook zone through a DST change', () => {
    // 03:00 does not exist in Helsinki on 29 March 2026: the run is at 04:00 EEST, 01:00Z.
    expect(isos(nextFireTimes('0 3 * * SUN', 'Europe/Helsinki', new Date('2026-03-20T00:00:00Z'), 3))).toEqual([
      '2026-03-22T01:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-04-05T00:00:00.000Z',
    ]);
  });

  it('handles #n and L', () => {
    expect(isos(nextFireTimes('0 9 * * MON#1', 'UTC', new Date('2026-11-23T00:00:00Z'), 2))).toEqual([
      '2026-12-07T09:00:00.000Z',
      '2027-01-04T09:00:00.000Z',
    ]);
    expect(isos(nextFireTimes('0 9 * * 5L', 'UTC', new Date('2026-11-23T00:00:00Z'), 2))).toEqual([
      '2026-11-27T09:00:00.000Z',
      '2026-12-25T09:00:00.000Z',
    ]);
  });

  it('returns nothing for count 0 or a cron that never fires', () => {
    expect(nextFireTimes('0 2 * * SUN', 'UTC', new Date(), 0)).toEqual([]);
    expect(nextFireTimes('0 0 30 2 *', 'UTC', new Date(), 3)).toEqual([]);
  });
});

describe('describeCron', () => {
  it.each([
    ['0 6 * * *', 'daily 06:00'],
    ['0 2 * * SUN', 'Sundays 02:00'],
    ['0 2 * * 0', 'Sundays 02:00'],
    ['0 2 * * 7', 'Sundays 02:00'],
    ['30 1 * * sat', 'Saturdays 01:30'],
    ['0 9 * * MON#1', 'first Monday of the month 09:00'],
    ['0 9 * * 1#3', 'third Monday of the month 09:00'],
    ['0 9 * * FRI#L', 'last Friday of the month 09:00'],
    ['0 9 * * 5L', 'last Friday of the month 09:00'],
    ['0 6 * * MON-FRI', 'weekdays 06:00'],
    ['0 6 * * 1-5', 'weekdays 06:00'],
    ['0 10 * * SAT,SUN', 'weekends 10:00'],
    ['0 9 * * 4,1', 'Mondays and Thursdays 09:00'],
    ['0 6,18 * * *', 'daily 06:00 and 18:00'],
    ['0 3 1 * *', '1st of the month 03:00'],
    ['0 3 22 * *', '22nd of the month 03:00'],
    ['0 3 L * *', 'last day of the month 03:00'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['15 * * * *', 'hourly at :15'],
    ['0 9 * 3,6,9,12 5L', 'last Friday of Mar, Jun, Sep, Dec 09:00'],
    ['0 3 1 1,7 *', '1st of Jan, Jul 03:00'],
    ['0 9 * 3 *', '0 9 * 3 *'],
  ])('%s → %s', (expr, text) => {
    expect(describeCron(expr)).toBe(text);
  });

  it.each(['0 9 * 1 *', '0 9 1 * MON', '*/5 9-17 * * *', '0 9 15W * *', 'nonsense'])('falls back to the expression: %s', (expr) => {
    expect(describeCron(expr)).toBe(expr);
  });

  it('describeSchedule adds the zone and the expression', () => {
    expect(describeSchedule('0 2 * * SUN', 'UTC')).toBe('Sundays 02:00 UTC (0 2 * * SUN)');
    expect(describeSchedule('0 9 * 1 *', 'Europe/Helsinki')).toBe('0 9 * 1 * Europe/Helsinki');
  });
});

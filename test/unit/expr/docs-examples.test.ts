import { describe, expect, it } from 'vitest';
import { compile, evaluateBool, toPlain } from '../../../src/expr/cel.js';

// The examples in docs/expressions.md, on output shaped like the real tools'.
const now = new Date('2026-11-23T03:00:00Z');
const ok = (src: string, ctx: Record<string, unknown>) => evaluateBool(compile(src), { now, ...ctx });

describe('docs/expressions.md examples', () => {
  it('kubectl certificates and nodes', () => {
    const certs = { items: [{ status: { notAfter: '2027-02-01T00:00:00Z' } }, { status: { notAfter: '2026-12-01T00:00:00Z' } }] };
    expect(ok('json.items.all(c, timestamp(c.status.notAfter) - now > duration("720h"))', { json: certs })).toBe(false);
    certs.items.pop();
    expect(ok('json.items.all(c, timestamp(c.status.notAfter) - now > duration("720h"))', { json: certs })).toBe(true);
    const nodes = { items: [{ status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }] } }] };
    expect(ok('json.items.all(n, n.status.conditions.exists(c, c.type == "Ready" && c.status == "True"))', { json: nodes })).toBe(true);
  });

  it('psql count, restic snapshots and check, curl timing, df', () => {
    expect(ok('int(stdout.trim()) < 200', { stdout: '17\n' })).toBe(true);
    const snaps = [{ time: '2026-11-23T01:30:00.123456789Z', id: 'abc' }];
    expect(ok('size(json) > 0 && now - timestamp(json[0].time) < duration("24h")', { json: snaps })).toBe(true);
    expect(toPlain(compile('json[0].time').evaluate({ json: snaps }))).toBe('2026-11-23T01:30:00.123456789Z');
    expect(ok('exit_code in [0, 3]', { exit_code: 3 })).toBe(true);
    expect(toPlain(compile('int(stdout.split(" ")[0])').evaluate({ stdout: '200 0.012345' }))).toBe(200);
    expect(toPlain(compile('double(stdout.split(" ")[1])').evaluate({ stdout: '200 0.012345' }))).toBe(0.012345);
    expect(toPlain(compile('int(stdout.split("\\n")[1].trim().replace("%", ""))').evaluate({ stdout: 'Use%\n 42%\n' }))).toBe(42);
  });
});

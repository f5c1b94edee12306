import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import { Masker } from '../../../src/exec/mask.js';
import { createNdjsonReporter, ndjsonLine } from '../../../src/report/ndjson.js';

const T0 = Date.UTC(2026, 10, 29, 2, 0, 1);

/** A scripted run touching every event type, with awkward text in it. */
function scriptedRun(): RunEvent[] {
  let now = T0;
  const t = () => (now += 250);
  return [
    { type: 'run:start', time: T0, runId: '20261129T020001Z-3f9a1c', runbook: 'weekly', title: 'Weekly "maintenance"', dryRun: false },
    { type: 'step:start', time: t(), qid: 'disk', name: 'Disk below 85%', phase: 'steps', command: 'df --output=pcent /' },
    { type: 'step:output', time: t(), qid: 'disk', stream: 'stdout', text: 'Use%\n 42%\n' },
    { type: 'step:end', time: t(), qid: 'disk', name: 'Disk below 85%', phase: 'steps', status: 'passed', durationMs: 500, attempts: 1, exitCode: 0, outputs: { used_pct: 42 } },
    { type: 'step:start', time: t(), qid: 'patch', name: 'Apply patch', phase: 'steps', command: 'kubectl set image x' },
    { type: 'step:output', time: t(), qid: 'patch', stream: 'stderr', text: 'line with\ttab, "quotes", \u0007 bell, emoji 🚀, ***\nand a partial line' },
    { type: 'step:retry', time: t(), qid: 'patch', attempt: 1, attempts: 3, delayMs: 1000, reason: 'exit code 1' },
    { type: 'step:end', time: t(), qid: 'patch', name: 'Apply patch', phase: 'steps', status: 'failed', durationMs: 1500, attempts: 3, exitCode: 1, reason: 'exit code 1', warnings: ['warning: slow'] },
    { type: 'rollback:start', time: t(), qid: 'patch', name: 'Apply patch', command: 'kubectl rollout undo' },
    { type: 'step:output', time: t(), qid: 'patch:rollback', stream: 'stdout', text: 'rolled back\n' },
    { type: 'rollback:end', time: t(), qid: 'patch', name: 'Apply patch', ok: true, durationMs: 300 },
    { type: 'step:start', time: t(), qid: 'scale', name: 'Scale up', phase: 'finally', command: 'kubectl scale' },
    { type: 'step:end', time: t(), qid: 'scale', name: 'Scale up', phase: 'finally', status: 'skipped', durationMs: 0, attempts: 0, reason: 'when false' },
    { type: 'run:end', time: t(), status: 'failed', exitCode: 1, durationMs: 3250 },
  ];
}

class Sink extends Writable {
  chunks: string[] = [];
  constructor(opts: { highWaterMark?: number; delayMs?: number } = {}) {
    super({ decodeStrings: false, highWaterMark: opts.highWaterMark });
    this.delayMs = opts.delayMs ?? 0;
  }
  private readonly delayMs: number;
  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    if (this.delayMs > 0) setTimeout(() => cb(), this.delayMs);
    else cb();
  }
  text(): string {
    return this.chunks.join('');
  }
}

describe('NDJSON reporter', () => {
  it('writes one parseable JSON object per event, in order, and nothing else', async () => {
    const events = scriptedRun();
    const out = new Sink();
    const r = createNdjsonReporter(out);
    for (const e of events) r.handle(e);
    await r.close();

    const text = out.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(events.length);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.type)).toEqual(events.map((e) => e.type));
    parsed.forEach((p, i) => {
      const e = events[i]!;
      expect(p.v).toBe(1);
      expect(p.ts).toBe(new Date(e.time).toISOString());
      // The event's own fields, unchanged (v and ts are the only additions).
      const { v: _v, ts: _ts, ...rest } = p;
      expect(rest).toEqual(JSON.parse(JSON.stringify(e)));
    });
  });

  it('keeps output text exactly, control characters and newlines included', () => {
    const e: RunEvent = { type: 'step:output', time: T0, qid: 'x', stream: 'stdout', text: 'a\nb\r\n\u0000\u001b[31mred\u2028\ud800' };
    const line = ndjsonLine(e);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const back = JSON.parse(line) as { text: string };
    // A lone surrogate becomes its \\u escape (well-formed JSON.stringify), everything else round-trips.
    expect(back.text).toBe(e.text);
  });

  it('does not throw on bigint step outputs (CEL ints)', () => {
    const e = {
      type: 'step:end', time: T0, qid: 'x', name: 'x', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1,
      outputs: { small: 42n, huge: 2n ** 70n },
    } as unknown as RunEvent;
    const p = JSON.parse(ndjsonLine(e)) as { outputs: Record<string, unknown> };
    expect(p.outputs).toEqual({ small: 42, huge: '1180591620717411303424' });
  });

  it('given the masker, masks outputs that are numbers or lists of a numeric secret (a PIN parsed with int())', () => {
    const out = new Sink();
    const r = createNdjsonReporter(out, new Masker(['48151623', 'tok-secret']));
    const e = {
      type: 'step:end', time: T0, qid: 'x', name: 'x', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1,
      outputs: { pin: 48151623, big: 48151623n, pins: [48151623], nested: { s: 'a tok-secret' }, other: 42 },
    } as unknown as RunEvent;
    r.handle(e);
    expect(out.text()).not.toContain('48151623');
    expect((JSON.parse(out.text()) as { outputs: unknown }).outputs).toEqual({ pin: '***', big: '***', pins: ['***'], nested: { s: 'a ***' }, other: 42 });
  });

  it('keeps the run going when stdout goes away (EPIPE) and drops later lines', async () => {
    const out = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const r = createNdjsonReporter(out);
    const events = scriptedRun();
    expect(() => {
      for (const e of events) r.handle(e);
    }).not.toThrow();
    await new Promise((res) => setImmediate(res));
    expect(() => r.handle(events[0]!)).not.toThrow();
    await expect(r.close()).resolves.toBeUndefined();
  }, 5000);

  it('close() waits until a backed-up stream has taken every line', async () => {
    const out = new Sink({ highWaterMark: 16, delayMs: 2 });
    const r = createNdjsonReporter(out);
    const events = scriptedRun();
    for (const e of events) r.handle(e);
    expect(out.chunks.length).toBeLessThan(events.length);
    await r.close();
    expect(out.chunks).toHaveLength(events.length);
  });
});

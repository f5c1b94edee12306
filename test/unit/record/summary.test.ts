import { describe, expect, it } from 'vitest';
import { applyEvent, emptyRecord } from '../../../src/record/summary.js';

describe('applyEvent', () => {
  it('a rollback a second signal skipped is recorded as skipped, not as a failed rollback', () => {
    const rec = emptyRecord({ by: 'ops@h', via: 'cron' }, { runId: 'r', runbook: 'rb', title: 'RB', time: 0 });
    // As the executor sends it (a variable: the field may not be in this version of the event type).
    const skipped = { type: 'rollback:end', time: 5, qid: 'a', name: 'apply', ok: false, durationMs: 0, reason: 'skipped: SIGINT again', skipped: true } as const;
    applyEvent(rec, skipped);
    applyEvent(rec, { type: 'rollback:end', time: 9, qid: 'b', name: 'drain', ok: false, durationMs: 3, reason: 'exit 1' });
    expect(rec.rollbacks).toEqual([
      { qid: 'a', name: 'apply', ok: false, durationMs: 0, reason: 'skipped: SIGINT again', skipped: true },
      { qid: 'b', name: 'drain', ok: false, durationMs: 3, reason: 'exit 1' },
    ]);
    expect(rec.durationMs).toBe(9);
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import type { Plan } from '../../../src/plan/types.js';
import { createPlainReporter } from '../../../src/report/plain.js';

function reporter() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const rep = createPlainReporter({ plan: {} as Plan, out, color: false, verbose: true, quiet: false, tailLines: 5 });
  const output = (qid: string, t: string, stream: 'stdout' | 'stderr' = 'stdout'): RunEvent => ({ type: 'step:output', time: 0, qid, stream, text: t });
  const lines = () => text.split('\n').filter((l) => l.includes('│')).map((l) => l.replace(/^\s+│ /, ''));
  return { rep, output, lines, all: () => text };
}

describe('plain reporter, --verbose', () => {
  it('shows a line that arrived in several chunks as one line (the masker holds back the end of a chunk)', () => {
    const { rep, output, lines } = reporter();
    for (const chunk of ['\npy-quote ', '***', '\nsplit ', '***\n', 'no newline at the end']) rep.handle(output('s', chunk));
    rep.handle({ type: 'step:end', time: 0, qid: 's', name: 's', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1 });
    expect(lines()).toEqual(['', 'py-quote ***', 'split ***', 'no newline at the end']);
  });

  it('keeps streams and steps apart, and prints what is left before the step (or its rollback) ends', () => {
    const { rep, output, lines, all } = reporter();
    rep.handle(output('a', 'out-'));
    rep.handle(output('a', 'err-', 'stderr'));
    rep.handle(output('b', 'other\n'));
    rep.handle(output('a', 'line\n'));
    rep.handle(output('a', 'line\n', 'stderr'));
    rep.handle(output('a:rollback', 'undo'));
    rep.handle({ type: 'rollback:end', time: 0, qid: 'a', name: 'a', ok: true, durationMs: 1 });
    expect(lines()).toEqual(['other', 'out-line', 'err-line', 'undo']);
    expect(all().indexOf('undo')).toBeLessThan(all().indexOf('↶ ok'));
  });

  it('shows a line that never ends in bounded pieces', () => {
    const { rep, output, lines } = reporter();
    for (let i = 0; i < 70; i++) rep.handle(output('s', 'x'.repeat(1024)));
    expect(lines()).toHaveLength(1);
    expect(lines()[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
  });
});

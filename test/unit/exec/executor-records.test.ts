/** What execute tells the world: masked events in order, and resumed runs. */
import { describe, expect, it } from 'vitest';
import type { StepState } from '../../../src/exec/context.js';
import { person, planOf, run } from './scripted-run.js';

const SECRET = 'Canary-7f3a9e';

describe('masking', () => {
  it('no event carries a secret: commands, output, outputs, warnings, reasons, names, manual and confirm text, rollbacks', async () => {
    const plan = planOf(
      `vars:\n  pw: { secret: true, default: ${SECRET} }\nsteps:\n` +
        '  - name: "login {{ vars.pw }}"\n    id: a\n    run: "login {{ vars.pw }}"\n    outputs: { token: stdout, nested: json }\n    warn: stdout.contains("C")\n    rollback: "logout {{ vars.pw }}"\n' +
        '  - { name: m, manual: "type {{ vars.pw }}", confirm: "use {{ vars.pw }}?" }\n' +
        '  - { name: w, run: x, when: "steps.a.outputs.token == vars.pw", continue_on_error: true }\n' +
        '  - { name: b, run: "fail {{ vars.pw }}", rollback: { manual: "call {{ vars.pw }}" } }\n',
    );
    const p = person({ confirm: ['yes'], done: [false] });
    const r = await run(plan, {
      [`login ${SECRET}`]: { stdout: `{"k": "${SECRET}", "list": ["${SECRET}"]}` },
      [`fail ${SECRET}`]: { exitCode: 1, stderr: `bad password ${SECRET}\n` },
      [`logout ${SECRET}`]: { exitCode: 1, stdout: SECRET, stderr: SECRET },
    }, { interaction: p.interaction });
    const text = JSON.stringify(r.events);
    expect(text).not.toContain(SECRET);
    expect(JSON.stringify(p.asked)).not.toContain(SECRET);
    // The values are there, masked, so the test sees what it claims.
    expect(r.end('a').outputs).toEqual({ token: '{"k": "***", "list": ["***"]}', nested: { k: '***', list: ['***'] } });
    expect(r.end('a').name).toBe('login ***');
    expect(r.end('b').reason).toBe('exit code 1: bad password ***');
    expect(r.end('m').reason).toBe('type ***');
  });

  it('a warning that quotes a secret is masked', async () => {
    const plan = planOf(`vars:\n  pw: { secret: true, default: ${SECRET} }\nsteps:\n  - { name: a, run: x, warn: 'stdout.contains("${SECRET}")' }\n`);
    const r = await run(plan, { x: { stdout: SECRET } });
    expect(r.end('a').warnings).toEqual(['warning: stdout.contains("***")']);
  });

  it('a failed expectation and a when reason that quote a secret are masked', async () => {
    const plan = planOf(`vars:\n  pw: { secret: true, default: ${SECRET} }\nsteps:\n  - { name: a, run: x, expect: 'stdout == "${SECRET}"' }\n  - { name: b, run: y, when: 'vars.pw == "${SECRET}x"' }\n`);
    const r = await run(plan);
    expect(JSON.stringify(r.events)).not.toContain(SECRET);
    expect(r.end('a').reason).toBe('expected stdout == "***"');
  });
});

describe('events', () => {
  it('run:start first, run:end last with the result, step:start before step:end, outputs between', async () => {
    const r = await run('title: T\nsteps:\n  - { name: a, run: x }\n', { x: { stdout: 'hi\n', stderr: 'warn\n' } });
    expect(r.events.map((e) => e.type)).toEqual(['run:start', 'step:start', 'step:output', 'step:output', 'step:end', 'run:end']);
    expect(r.events[0]).toMatchObject({ type: 'run:start', runId: 'r1', runbook: 't', title: 'T', dryRun: false });
    expect(r.events[1]).toMatchObject({ qid: 'a', name: 'a', phase: 'steps', command: 'x' });
    expect(r.events.slice(2, 4)).toMatchObject([{ qid: 'a', stream: 'stdout', text: 'hi\n' }, { qid: 'a', stream: 'stderr', text: 'warn\n' }]);
    expect(r.events[4]).toMatchObject({ attempts: 1, exitCode: 0, status: 'passed' });
    expect(r.events[5]).toMatchObject({ type: 'run:end', status: 'passed', exitCode: 0 });
  });

  it('times and durations come from the clock', async () => {
    const r = await run('steps:\n  - { name: a, run: x }\n');
    const start = r.events[0]!.time;
    for (const e of r.events) expect(e.time).toBeGreaterThanOrEqual(start);
    const end = r.events.at(-1)!;
    expect(end.type === 'run:end' && end.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('steps not run after a failure carry no attempts', async () => {
    const r = await run('steps:\n  - { name: a, run: x }\n  - { name: b, run: y }\n', { x: { exitCode: 1 } });
    expect(r.end('b')).toMatchObject({ attempts: 0, status: 'skipped' });
  });
});

describe('resume', () => {
  const book = 'steps:\n  - { name: a, run: do-a, rollback: undo-a, outputs: { v: stdout } }\n  - { name: w, run: do-w, rollback: undo-w }\n  - { name: n, run: do-n, rollback: undo-n }\n  - { name: b, run: "do-b {{ steps.a.outputs.v }}" }\n';
  const restored = new Map<string, StepState>([
    ['a', { status: 'passed', outputs: { v: 'seven' }, stdout: '', stderr: '', exit_code: 0 }],
    ['w', { status: 'warned', outputs: {}, stdout: '', stderr: '', exit_code: 0 }],
    ['n', { status: 'failed', outputs: {}, stdout: '', stderr: '', exit_code: 1 }],
  ]);

  it('restored steps are not run again; their outputs stay readable', async () => {
    const r = await run(planOf(book, { from: 'b' }), {}, { restored });
    expect(r.calls).toEqual(['do-b seven']);
    expect(r.ends).toEqual(['a:skipped', 'w:skipped', 'n:skipped', 'b:passed']);
  });

  it('a failure rolls back the restored passed and warned steps, newest first, not a restored failed one', async () => {
    const r = await run(planOf(book, { from: 'b' }), { 'do-b seven': { exitCode: 1 } }, { restored });
    expect(r.calls).toEqual(['do-b seven', 'undo-w', 'undo-a']);
  });

  it('a restored step inside a group is rolled back too', async () => {
    const plan = planOf('steps:\n  - name: g\n    parallel:\n      - { name: a, run: do-a, rollback: undo-a }\n  - { name: b, run: do-b }\n', { from: 'b' });
    const r = await run(plan, { 'do-b': { exitCode: 1 } }, { restored: new Map([['g', { status: 'passed', outputs: {}, stdout: '', stderr: '', exit_code: null }], ['a', { status: 'passed', outputs: {}, stdout: '', stderr: '', exit_code: 0 }]]) });
    expect(r.calls).toEqual(['do-b', 'undo-a']);
  });

  it('steps left out by --from without a restored state are skipped and not rolled back', async () => {
    const r = await run(planOf(book, { from: 'n' }), { 'do-n': { exitCode: 1 } });
    expect(r.calls).toEqual(['do-n', 'undo-n']);
    expect(r.end('a').status).toBe('skipped');
  });
});

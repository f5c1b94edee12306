import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import { execute } from '../../../src/exec/executor.js';
import type { Runner, SpawnRequest, SpawnResult } from '../../../src/exec/runner.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { parseRunbook } from '../../../src/runbook/parse.js';
import { unattended } from './scripted-run.js';

/** A scripted runner: exit codes by script text, no processes. Records what it was asked to run. */
function scripted(exits: Record<string, number>, stdout: Record<string, string> = {}) {
  const calls: string[] = [];
  const runner: Runner = async (req: SpawnRequest): Promise<SpawnResult> => {
    const script = req.command.kind === 'shell' ? req.command.script : req.command.argv.join(' ');
    calls.push(script);
    const out = stdout[script] ?? '';
    req.onOutput?.('stdout', out);
    return { exitCode: exits[script] ?? 0, signal: null, stdout: out, stderr: '', stdoutTruncated: false, stderrTruncated: false, timedOut: false, aborted: false, durationMs: 1 };
  };
  return { runner, calls };
}

function planOf(text: string, explicit: Record<string, string> = {}) {
  const { runbook } = parseRunbook('t.yaml', text);
  return buildPlan({ root: runbook!, runbooks: new Map(), sources: { explicit, file: {}, env: {}, config: {} } }).plan!;
}

const interaction = unattended;

describe('execute (scripted runner)', () => {
  it('emits typed events in order and rolls back newest first', async () => {
    const plan = planOf('steps:\n  - { name: a, run: do-a, rollback: undo-a }\n  - { name: b, run: do-b, rollback: undo-b }\n  - { name: c, run: do-c }\nfinally:\n  - { name: f, run: fin }\n');
    const { runner, calls } = scripted({ 'do-b': 1 });
    const events: RunEvent[] = [];
    const result = await execute(plan, { runner, emit: (e) => events.push(e), runId: 'r1', env: {}, interaction, sleep: async () => {} });
    expect(result).toEqual({ status: 'failed', exitCode: 1, pausedAt: undefined });
    expect(calls).toEqual(['do-a', 'do-b', 'undo-b', 'undo-a', 'fin']);
    expect(events.map((e) => e.type === 'step:end' ? `${e.type}:${e.qid}:${e.status}` : e.type).filter((t) => t !== 'step:output')).toEqual([
      'run:start', 'step:start', 'step:end:a:passed', 'step:start', 'step:end:b:failed', 'step:end:c:skipped',
      'rollback:start', 'rollback:end', 'rollback:start', 'rollback:end', 'step:start', 'step:end:f:passed', 'run:end',
    ]);
  });

  it("runs a rollback with its step's env and cwd", async () => {
    const plan = planOf('vars:\n  repo: /srv/repo\nsteps:\n  - { name: a, run: do-a, rollback: undo-a, env: { REPO: "{{ vars.repo }}" }, cwd: /tmp }\n  - { name: b, run: do-b }\n');
    const seen: { env: Record<string, string>; cwd?: string }[] = [];
    const { runner: base } = scripted({ 'do-b': 1 });
    const runner: Runner = (req) => {
      seen.push({ env: req.env ?? {}, cwd: req.cwd });
      return base(req);
    };
    await execute(plan, { runner, emit: () => {}, runId: 'r1', env: { PATH: '/bin' }, interaction, sleep: async () => {} });
    expect(seen.map((s) => [s.env.REPO, s.env.PATH, s.cwd])).toEqual([
      ['/srv/repo', '/bin', '/tmp'],
      [undefined, '/bin', undefined],
      ['/srv/repo', '/bin', '/tmp'],
    ]);
  });

  it('masks secrets in commands and output it emits', async () => {
    const plan = planOf('vars:\n  pw: { secret: true, default: hunter2-secret }\nsteps:\n  - { name: a, run: "echo {{ vars.pw }}" }\n');
    const { runner } = scripted({}, { 'echo hunter2-secret': 'hunter2-secret\n' });
    const events: RunEvent[] = [];
    await execute(plan, { runner, emit: (e) => events.push(e), runId: 'r1', env: {}, interaction, sleep: async () => {} });
    const text = JSON.stringify(events);
    expect(text).not.toContain('hunter2');
    expect(text).toContain("echo '***'");
  });

  it('an unattended confirm pauses without asking; --yes goes on', async () => {
    const plan = planOf('steps:\n  - { name: a, run: do-a }\n  - { name: b, confirm: "sure?", run: do-b }\n');
    const first = scripted({});
    const paused = await execute(plan, { runner: first.runner, emit: () => {}, runId: 'r', env: {}, interaction, sleep: async () => {} });
    expect(paused).toEqual({ status: 'paused', exitCode: 5, pausedAt: 'b' });
    expect(first.calls).toEqual(['do-a']);
    const second = scripted({});
    const done = await execute(plan, { runner: second.runner, emit: () => {}, runId: 'r', env: {}, interaction: { ...interaction, yes: true }, sleep: async () => {} });
    expect(done.exitCode).toBe(0);
    expect(second.calls).toEqual(['do-a', 'do-b']);
  });
});

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

// What a state dir or a step hands back may be of any shape: maint answers with an exit code
// and a reason, never exit 70 (maint() rejects an internal error by itself).
describe('records of an unexpected shape', () => {
  it('a recovery_point a Date cannot hold: the drill ran, RPO not measured, objectives missed (exit 1)', async () => {
    const dir = project({
      'drill.yaml': [
        'objectives: {rto: 1h, rpo: 1h}',
        'steps:',
        '  - {name: snapshot time, run: "echo 8640000000001", outputs: {recovery_point: stdout.trim()}}',
        '  - {name: outage, disaster: true, run: "true"}',
        '  - {name: back, run: "true"}',
        '',
      ].join('\n'),
    });
    const r = await maint(['dr-test', 'drill'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('recovery_point of snapshot_time is not a timestamp: "8640000000001"');
  });

  it('a lock maint did not write: refused in one line naming the file and how to remove it (exit 75), nothing run', async () => {
    const dir = project({ 'ok.yaml': 'steps:\n  - { name: a, run: "touch ran" }\n' });
    mkdirSync(join(dir, '.maint/locks'), { recursive: true });
    writeFileSync(join(dir, '.maint/locks/ok.lock'), '[]\n');
    const r = await maint(['run', 'ok'], { cwd: dir });
    expect(r.code).toBe(75);
    expect(r.stderr.trim().split('\n')).toEqual([
      `maint: ${join(dir, '.maint/locks/ok.lock')} is not a lock maint wrote (it is not a JSON object); if no run of ok is going on, remove it (rm ${join(dir, '.maint/locks/ok.lock')}) and try again`,
    ]);
    expect(readdirSync(dir)).not.toContain('ran');
  });

  it('a run.json of another shape: history skips it (exit 0), resume says there is no such run (exit 2)', async () => {
    const dir = project({ 'ok.yaml': 'steps:\n  - { name: a, run: "true" }\n' });
    expect((await maint(['run', 'ok'], { cwd: dir })).code).toBe(0);
    expect((await maint(['run', 'ok'], { cwd: dir })).code).toBe(0);
    const [bad, good] = readdirSync(join(dir, '.maint/runs')).sort();
    writeFileSync(join(dir, '.maint/runs', bad!, 'run.json'), '{"runId":5}\n');
    const history = await maint(['history'], { cwd: dir });
    expect(history.code).toBe(0);
    expect(history.stdout).toContain(good);
    expect(history.stdout).not.toContain(bad);
    const resume = await maint(['resume', bad!, '--yes'], { cwd: dir });
    expect(resume.code).toBe(2);
    expect(resume.stderr).toContain(`no run ${bad!}`);
  });
});

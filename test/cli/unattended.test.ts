import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

describe('one run of a runbook at a time', () => {
  it('a second run exits 75 at once, naming the holder; the lock is released after', async () => {
    // The first run holds its step until the test lets it go: no clock decides what overlaps.
    const dir = project({ 'slow.yaml': 'steps:\n  - { name: hold, run: "touch started; while [ ! -e release ]; do sleep 0.05; done" }\n' });
    let firstDone = false;
    const first = maint(['run', 'slow'], { cwd: dir }).finally(() => (firstDone = true));
    while (!existsSync(join(dir, 'started'))) await new Promise((r) => setTimeout(r, 25));
    const second = await maint(['run', 'slow'], { cwd: dir });
    // "At once": it did not wait for the holder, which is still running.
    expect(firstDone).toBe(false);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/slow is already running: pid \d+ on \S+, started \d{4}-\d\d-\d\dT/);
    writeFileSync(join(dir, 'release'), '');
    expect((await first).code).toBe(0);
    const third = await maint(['run', 'slow'], { cwd: dir });
    expect(third.code).toBe(0);
  });

  it('a stale lock (its maint is gone) is taken over and said so', async () => {
    const dir = project({ 'x.yaml': 'steps:\n  - { name: a, run: "true" }\n' });
    mkdirSync(join(dir, '.maint/locks'), { recursive: true });
    const { hostname } = await import('node:os');
    writeFileSync(join(dir, '.maint/locks/x.lock'), JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), startedAt: Date.now() - 60_000, runId: 'old' }));
    const r = await maint(['run', 'x'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/took over the stale lock of x \(pid 4194311/);
    expect(existsSync(join(dir, '.maint/locks/x.lock'))).toBe(false);
  });
});

describe('files root would trust', () => {
  // The rule applies only when maint runs as root: as anyone else this says skipped, not passed.
  it.skipIf(process.getuid?.() !== 0)('as root, a runbook or config others can write is refused with the chmod that fixes it', async () => {
    const dir = project({ 'w.yaml': 'steps:\n  - { name: a, run: "touch ran" }\n', './maint.config.yaml': 'vars: {}\n' });
    chmodSync(join(dir, 'runbooks/w.yaml'), 0o666);
    chmodSync(join(dir, 'maint.config.yaml'), 0o664);
    const r = await maint(['run', 'w'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runbooks\/w\.yaml:1:1: writable by its group and every user; .*chmod go-w runbooks\/w\.yaml/);
    expect(r.stderr).toMatch(/maint\.config\.yaml:1:1: writable by its group; .*chmod go-w \S*maint\.config\.yaml/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    chmodSync(join(dir, 'runbooks/w.yaml'), 0o644);
    chmodSync(join(dir, 'maint.config.yaml'), 0o644);
    expect((await maint(['run', 'w'], { cwd: dir })).code).toBe(0);
  });
});

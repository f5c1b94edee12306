/**
 * A run refused before its first step is recorded like a failed run: `maint history` shows it as
 * refused with the reason, the log has an entry, the healthcheck hears the exit code and the
 * `failure` webhooks fire. A dry run, `plan`, an unknown runbook and an unreadable config record
 * nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';
import { recordingServer } from '../helpers/recording-server.js';

const server = recordingServer();

/** Everything these tests rely on, passed explicitly. */
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };

/** A project whose config sends every outcome to this test's server, under its own path. */
function monitored(files: Record<string, string>, id: string): string {
  const dir = project(files);
  writeFileSync(join(dir, 'maint.config.yaml'), `notify:\n  - { url: "${server.base()}/hook/${id}", on: [failure], format: json }\nhealthcheck: ${server.base()}/ping/${id}\n`);
  return dir;
}

/** What this test's server heard for `id`, by path (the query string left out). */
function heard(id: string): { url: string; body: string }[] {
  return server.seen.filter((s) => s.path.startsWith(`/hook/${id}`) || s.path.startsWith(`/ping/${id}`)).map((s) => ({ url: s.path, body: s.body }));
}

const MISSING_VAR = 'title: Nightly\nvars:\n  target: { env: REFUSAL_TEST_TARGET, required: true }\nsteps:\n  - { name: a, run: "echo {{ vars.target }} > ran" }\n';

describe('refusals are recorded like failed runs', () => {
  it('a missing var: exit 2, history says refused with the var, a log entry, end ping /2 and the failure webhook', async () => {
    const dir = monitored({ 'nightly.yaml': MISSING_VAR }, 'var');
    const r = await maint(['run', 'nightly'], { cwd: dir, env: ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nightly\.yaml:3:3: .*required var "target" is not set/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);

    const history = await maint(['history'], { cwd: dir, env: ENV });
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/nightly\s+\S+ \S+\s+0ms\s+refused/);
    expect(history.stdout).toMatch(/↳ .*nightly\.yaml:3:3: .*"target"/);
    const json = JSON.parse((await maint(['history', '--json'], { cwd: dir, env: ENV })).stdout) as { result: string; exit_code: number; reason: string }[];
    expect(json[0]).toMatchObject({ result: 'refused', exit_code: 2 });
    expect(json[0]!.reason).toContain('REFUSAL_TEST_TARGET');

    const one = await maint(['history', 'last'], { cwd: dir, env: ENV });
    expect(one.stdout).toMatch(/refused \(exit 2\)\n\n {2}\S*nightly\.yaml:3:3: .*"target" is not set/);

    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: refused, nothing was run \(exit 2\)/);
    expect(log).toMatch(/required var "target" is not set/);

    const urls = heard('var').map((s) => s.url);
    expect(urls.sort()).toEqual(['/hook/var', '/ping/var/2']);
    const hook = JSON.parse(heard('var').find((s) => s.url === '/hook/var')!.body);
    expect(hook.outcomes).toEqual(['failure']);
    expect(hook.run).toMatchObject({ runbook: 'nightly', exitCode: 2 });
    expect(JSON.stringify(hook.run.steps)).toContain('required var');
  });

  it('outside the window: exit 4, recorded as refused with the window', async () => {
    const dir = monitored({ 'weekly.yaml': 'title: Weekly\nwindow: { cron: "0 3 29 2 *", duration: 1m }\nsteps:\n  - { name: a, run: "echo ran > ran" }\n' }, 'window');
    const r = await maint(['run', 'weekly'], { cwd: dir, env: ENV });
    expect(r.code).toBe(4);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    const json = JSON.parse((await maint(['history', '--json'], { cwd: dir, env: ENV })).stdout) as { result: string; exit_code: number; reason: string }[];
    expect(json[0]).toMatchObject({ result: 'refused', exit_code: 4 });
    expect(readFileSync(join(dir, 'maintenance-log.md'), 'utf8')).toMatch(/\*\*Result\*\*: refused, nothing was run \(exit 4\)/);
    expect(heard('window').map((s) => s.url).sort()).toEqual(['/hook/window', '/ping/window/4']);
  });

  it('the lock held by a live run: exit 75, recorded as refused naming the holder', async () => {
    const dir = monitored({ 'busy.yaml': 'title: Busy\nsteps:\n  - { name: a, run: "echo ran > ran" }\n' }, 'lock');
    // A live process that looks like maint holds the lock.
    const holder = spawn('sleep', ['60'], { argv0: 'maint-lock-holder', stdio: 'ignore' });
    try {
      mkdirSync(join(dir, '.maint', 'locks'), { recursive: true });
      writeFileSync(join(dir, '.maint', 'locks', 'busy.lock'), JSON.stringify({ pid: holder.pid, host: hostname(), startedAt: Date.now(), runId: 'other' }));
      const r = await maint(['run', 'busy'], { cwd: dir, env: ENV });
      expect(r.code).toBe(75);
      expect(existsSync(join(dir, 'ran'))).toBe(false);
      const history = await maint(['history'], { cwd: dir, env: ENV });
      expect(history.stdout).toMatch(/busy .* refused/);
      expect(history.stdout).toMatch(new RegExp(`↳ busy is already running: pid ${holder.pid}`));
      expect(heard('lock').map((s) => s.url).sort()).toEqual(['/hook/lock', '/ping/lock/75']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a required tool missing: exit 2, recorded as refused naming the tool', async () => {
    const dir = monitored({ 'tools.yaml': 'title: Tools\nrequires: [maint-no-such-tool]\nsteps:\n  - { name: a, run: "echo ran > ran" }\n' }, 'tool');
    const r = await maint(['run', 'tools'], { cwd: dir, env: ENV });
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    const json = JSON.parse((await maint(['history', '--json'], { cwd: dir, env: ENV })).stdout) as { result: string; reason: string }[];
    expect(json[0]).toMatchObject({ result: 'refused' });
    expect(json[0]!.reason).toContain('maint-no-such-tool');
    expect(heard('tool').map((s) => s.url).sort()).toEqual(['/hook/tool', '/ping/tool/2']);
  });

  it('not runs: a dry run, plan, an unknown runbook and a broken config record and send nothing', async () => {
    const dir = monitored({ 'nightly.yaml': MISSING_VAR }, 'quiet');
    expect((await maint(['run', 'nightly', '--dry-run'], { cwd: dir, env: ENV })).code).toBe(2);
    expect((await maint(['plan', 'nightly'], { cwd: dir, env: ENV })).code).toBe(2);
    expect((await maint(['run', 'no-such-runbook'], { cwd: dir, env: ENV })).code).toBe(2);
    writeFileSync(join(dir, 'broken.yaml'), `healthcheck: ${server.base()}/ping/quiet\nnot_a_setting: 1\n`);
    expect((await maint(['run', 'nightly', '--config', 'broken.yaml'], { cwd: dir, env: ENV })).code).toBe(2);
    expect(existsSync(join(dir, '.maint', 'runs'))).toBe(false);
    expect(existsSync(join(dir, 'maintenance-log.md'))).toBe(false);
    expect(heard('quiet')).toEqual([]);
  });
});

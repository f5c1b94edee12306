import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, maint, project, signalWhenFileAppears } from '../helpers/cli.js';

const log = (dir: string) => readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
const entries = (dir: string) => log(dir).split(/\n(?=## \d{4}-\d\d-\d\d: )/).filter((e) => e.startsWith('## '));

describe('maintenance log entries', () => {
  it('a passed run: heading, who, run id, result, checklist with durations', async () => {
    const dir = project({
      'daily.yaml': `title: Daily checks
steps:
  - { name: Service health, run: "echo healthy" }
  - { name: Replica lag, run: "true", when: "false" }
  - name: Review the error dashboard
    manual: Look at the error dashboard
`,
    });
    // no terminal and no CI: cron
    const r = await maint(['run', 'daily'], { cwd: dir, env: { CI: undefined } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/log: maintenance-log\.md \(run \S+\)/);
    const [entry] = entries(dir);
    const today = new Date().toISOString().slice(0, 10);
    expect(entry).toContain(`## ${today}: Daily checks`);
    expect(entry).toMatch(/\*\*Performed by\*\*: \S+@\S+ \(cron\)/);
    expect(entry).toMatch(/\*\*Result\*\*: passed/);
    expect(entry).toMatch(/- \[x\] Service health \(\d+(\.\d)?m?s\)/);
    expect(entry).toMatch(/~~Replica lag~~.*skipped/);
    expect(entry).toMatch(/- \[ \] Review the error dashboard — pending \(manual\): Look at the error dashboard/);
    expect(entry).toMatch(/Follow-up actions[\s\S]*- \[ \] Review the error dashboard \(manual task left pending\)/);
    // a CI job, with the pipeline's URL
    const env = { CI: 'true', GITHUB_SERVER_URL: 'https://github.example', GITHUB_REPOSITORY: 'ops/infra', GITHUB_RUN_ID: '77' };
    expect((await maint(['run', 'daily'], { cwd: dir, env })).code).toBe(0);
    expect(entries(dir)[1]).toMatch(/\*\*Performed by\*\*: \S+@\S+ \(CI.*https:\/\/github\.example\/ops\/infra\/actions\/runs\/77/);
  });

  it('a failed run: reasons, rollbacks, and where the full output is', async () => {
    const dir = project({
      'patch.yaml': `title: Patch update
steps:
  - { name: Apply image, run: "echo applied", rollback: "echo undone" }
  - { name: Rollout finished, run: "echo 'deployment not ready' >&2; exit 1" }
`,
    });
    const r = await maint(['run', 'patch'], { cwd: dir });
    expect(r.code).toBe(1);
    const [entry] = entries(dir);
    expect(entry).toMatch(/\*\*Result\*\*: failed, rolled back/);
    expect(entry).toMatch(/- \[ \] Rollout finished.*exit code 1: deployment not ready/);
    expect(entry).toMatch(/Rollbacks[\s\S]*Apply image/);
    const m = /full output in `([^`]+rollout_finished\.log)`/.exec(entry!);
    expect(m).not.toBeNull();
    expect(readFileSync(m![1]!, 'utf8')).toContain('deployment not ready');
  });

  it('five concurrent runs append five whole entries to one log', async () => {
    const big = 'x'.repeat(3000);
    // five runbooks (one run of a runbook at a time is the lock's job), one log
    const text = `title: Concurrent\nsteps:\n${Array.from({ length: 30 }, (_, i) => `  - { name: "step ${i} ${big}", run: "true" }`).join('\n')}\n`;
    const dir = project(Object.fromEntries([1, 2, 3, 4, 5].map((n) => [`c${n}.yaml`, text])));
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => maint(['run', `c${n}`, '-q'], { cwd: dir })));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
    const all = entries(dir);
    expect(all).toHaveLength(5);
    for (const e of all) {
      expect(e.match(/- \[x\] step \d+/g)).toHaveLength(30);
      expect(e.match(/\*\*Run\*\*/g)).toHaveLength(1);
    }
    expect(new Set(all.map((e) => /\*\*Run\*\*: (\S+)/.exec(e)![1])).size).toBe(5);
  });
});

describe('journal, history, resume', () => {
  it('history lists runs and shows one run; resume after a failure restores outputs', async () => {
    const dir = project({
      'two.yaml': `title: Two parts
steps:
  - name: first
    id: first
    run: echo 41
    outputs: { n: int(stdout.trim()) + 1 }
  - name: second
    run: test -f fixed && echo got {{ steps.first.outputs.n }} > result
`,
    });
    const failed = await maint(['run', 'two'], { cwd: dir });
    expect(failed.code).toBe(1);
    const hist = await maint(['history', '--json'], { cwd: dir });
    const runs = JSON.parse(hist.stdout);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runbook: 'two', result: 'failed', exit_code: 1 });
    const one = await maint(['history', runs[0].run], { cwd: dir });
    expect(one.stdout).toMatch(/passed\s+first/);
    expect(one.stdout).toMatch(/failed\s+second/);

    writeFileSync(join(dir, 'fixed'), '');
    // unattended, a bare resume names what it would do and does nothing
    const bare = await maint(['resume'], { cwd: dir });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain(`maint: would resume run ${runs[0].run} (two, failed `);
    expect(bare.stderr).toMatch(/failed \d+s ago\) from step second: name the run \(maint resume \S+\) or pass --yes; nothing was resumed/);
    expect(existsSync(join(dir, 'result'))).toBe(false);
    const resumed = await maint(['resume', runs[0].run], { cwd: dir });
    expect(resumed.stdout).toMatch(/resuming run \S+ \(two, failed\) from step second/);
    expect(resumed.code).toBe(0);
    expect(readFileSync(join(dir, 'result'), 'utf8').trim()).toBe('got 42');
    const second = entries(dir)[1]!;
    expect(second).toContain(`**Resumes**: ${runs[0].run}`);
    expect(second).toMatch(/- \[x\] second/);
    // nothing left to resume: the newest run passed
    const again = await maint(['resume', '--yes'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/the newest run, \S+ \(two\), ended passed: nothing to resume; nothing was resumed/);
  });

  it('resume --yes continues a run paused at a confirm step', async () => {
    const dir = project({
      'gate.yaml': 'steps:\n  - { name: before, run: echo before >> trail }\n  - { name: migrate, confirm: "Migrate now?", run: echo migrated >> trail }\nfinally:\n  - { name: fin, run: echo finally >> trail }\n',
    });
    expect((await maint(['run', 'gate'], { cwd: dir })).code).toBe(5);
    expect(entries(dir)[0]).toMatch(/\*\*Result\*\*: paused/);
    expect(entries(dir)[0]).toMatch(/maint resume \S+ --yes/);
    const r = await maint(['resume', 'last', '--yes'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n')).toEqual(['before', 'migrated', 'finally']);
  });

  it('SIGKILL of maint mid-run: the next command records the run as interrupted with its finished steps', async () => {
    const dir = project({
      'k.yaml': 'title: Killed\nsteps:\n  - { name: done before the kill, run: "echo ok" }\n  - { name: long, run: "echo $$ > long.pid; sleep 30" }\n',
    });
    const r = await maint(['run', 'k'], {
      cwd: dir,
      onSpawn: signalWhenFileAppears(join(dir, 'long.pid'), 'SIGKILL'),
    });
    expect(r.signal).toBe('SIGKILL');
    try {
      process.kill(Number(readFileSync(join(dir, 'long.pid'), 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
    expect(existsSync(join(dir, 'maintenance-log.md'))).toBe(false);
    // Recovery reads only the runs still marked as running, not every run in the state dir.
    expect(readdirSync(join(dir, '.maint/running'))).toHaveLength(1);
    const hist = await maint(['history', '--json'], { cwd: dir });
    expect(readdirSync(join(dir, '.maint/running'))).toEqual([]);
    expect(hist.stderr).toMatch(/left unfinished by a maint that stopped/);
    expect(JSON.parse(hist.stdout)[0]).toMatchObject({ runbook: 'k', result: 'interrupted' });
    const [entry] = entries(dir);
    expect(entry).toMatch(/\*\*Result\*\*: interrupted: maint \(pid \d+\) stopped without recording the end/);
    expect(entry).toMatch(/- \[x\] done before the kill/);
    // the step that was running is listed, and the run lasted until the journal last heard from it
    expect(entry).toMatch(/- \[ \] long \(\d+(\.\d)?m?s\) — interrupted: running when maint stopped/);
    expect(entry).toMatch(/\*\*Duration\*\*: \d+(\.\d)?m?s, to the last sign of life in the journal \(a journal event, \d\d:\d\d:\d\d UTC\)/);
    const one = await maint(['history', 'last', '--json'], { cwd: dir });
    expect(JSON.parse(one.stdout).steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['done before the kill', 'passed'],
      ['long', 'interrupted'],
    ]);
  });

  it('SIGKILL mid-step, then the runbook run again: the stale lock is taken over and both runs are in the log, the killed one first', async () => {
    const dir = project({ 'k.yaml': 'title: Again\nsteps:\n  - { name: prepare, run: "true" }\n  - { name: slow, run: "test -f quick || { echo $$ > slow.pid; sleep 30; }" }\n' });
    const r = await maint(['run', 'k'], { cwd: dir, env: { PATH: process.env.PATH! }, onSpawn: signalWhenFileAppears(join(dir, 'slow.pid'), 'SIGKILL') });
    expect(r.signal).toBe('SIGKILL');
    try {
      process.kill(Number(readFileSync(join(dir, 'slow.pid'), 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
    writeFileSync(join(dir, 'quick'), '');
    const again = await maint(['run', 'k'], { cwd: dir, env: { PATH: process.env.PATH! } });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/run \S+ was left unfinished by a maint that stopped; recorded it as interrupted/);
    expect(again.stderr).toMatch(/took over the stale lock of k/);
    const [killed, passed, ...rest] = entries(dir);
    expect(rest).toEqual([]);
    expect(killed).toMatch(/\*\*Result\*\*: interrupted: maint \(pid \d+\) stopped/);
    expect(killed).toMatch(/- \[x\] prepare/);
    expect(killed).toMatch(/- \[ \] slow \(.*\) — interrupted: running when maint stopped/);
    expect(passed).toMatch(/\*\*Result\*\*: passed/);
  });

  it('fifteen commands recovering the same dead run at once write its entry once', async () => {
    const dir = project({ 'k.yaml': 'steps:\n  - { name: long, run: "echo $$ > long.pid; sleep 30" }\n' });
    const r = await maint(['run', 'k'], { cwd: dir, onSpawn: signalWhenFileAppears(join(dir, 'long.pid'), 'SIGKILL') });
    expect(r.signal).toBe('SIGKILL');
    try {
      process.kill(Number(readFileSync(join(dir, 'long.pid'), 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
    const all = await Promise.all(Array.from({ length: 15 }, () => maint(['history', '--json'], { cwd: dir })));
    expect(all.map((a) => a.code)).toEqual(Array(15).fill(0));
    expect(all.filter((a) => /left unfinished by a maint that stopped/.test(a.stderr))).toHaveLength(1);
    expect(entries(dir)).toHaveLength(1);
    expect(readdirSync(join(dir, '.maint/running'))).toEqual([]);
  });
});

describe('which run a bare resume picks', () => {
  it("only the newest run: when another runbook's newer run passed, the resumable runs are listed and nothing runs", async () => {
    const dir = project({
      'dr.yaml': 'steps:\n  - { name: prepare, run: "true" }\n  - { name: destroy, id: destroy, run: "test -f go && echo destroyed >> trail" }\n',
      'weekly.yaml': 'steps:\n  - { name: check, run: "true" }\n',
    });
    expect((await maint(['run', 'dr'], { cwd: dir })).code).toBe(1);
    const drRun = JSON.parse((await maint(['history', '--json'], { cwd: dir })).stdout)[0].run as string;
    expect((await maint(['run', 'weekly'], { cwd: dir })).code).toBe(0);
    writeFileSync(join(dir, 'go'), '');
    for (const args of [['resume', '--yes'], ['resume', 'last', '--yes'], ['resume']]) {
      const r = await maint(args, { cwd: dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/maint: the newest run, \S+ \(weekly\), ended passed: nothing to resume; nothing was resumed/);
      expect(r.stderr).toMatch(new RegExp(`^  ${drRun}\\s+dr\\s+destroy\\s+failed\\s+\\d+s$`, 'm'));
    }
    expect(existsSync(join(dir, 'trail'))).toBe(false);
    // named, it is resumed
    const named = await maint(['resume', drRun], { cwd: dir });
    expect(named.code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8')).toBe('destroyed\n');
  });

  // A real terminal through `script` (util-linux): a person is shown the run and answers.
  it.skipIf(!existsSync('/usr/bin/script'))('on a terminal, a bare resume shows the run, its step and age, and asks', async () => {
    const dir = project({ 'two.yaml': 'steps:\n  - { name: first, run: "true" }\n  - { name: second, id: second, run: "test -f go && echo done >> trail" }\n' });
    expect((await maint(['run', 'two'], { cwd: dir })).code).toBe(1);
    const runId = JSON.parse((await maint(['history', '--json'], { cwd: dir })).stdout)[0].run as string;
    writeFileSync(join(dir, 'go'), '');
    const no = await inTerminal('resume', dir, 'n\r');
    expect(no.out).toContain(`? Resume run ${runId} (two, failed `);
    expect(no.out).toMatch(/failed \d+s ago\) from step second\? \[y\/N\]/);
    expect(no.code).toBe(1);
    expect(existsSync(join(dir, 'trail'))).toBe(false);
    const yes = await inTerminal('resume', dir, 'y\r');
    expect(yes.code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8')).toBe('done\n');
  });
});

/** maint on a real terminal (`script`), answering `answer` at the first [y/N]; only the variables it needs. */
function inTerminal(args: string, cwd: string, answer: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LANG: 'C.UTF-8', TERM: 'xterm', NO_COLOR: '1' };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn('script', ['-qec', `stty cols 120 rows 40; ${process.execPath} ${BIN} ${args}`, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let pending: string | undefined = answer;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (pending && out.includes('[y/N]')) {
        child.stdin.write(pending);
        pending = undefined;
      }
    });
    child.on('close', (code) => resolve({ code, out: out.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '') }));
  });
}

describe('paths maint cannot use', () => {
  // mkdirSync(…, { recursive: true }) under /proc spins at 100% CPU forever, deaf to SIGTERM.
  // (The state dir's own folders are covered in-process: test/unit/record/journal.test.ts.)
  it.skipIf(!existsSync('/proc/self'))('an init folder under /proc: a clear error at once', async () => {
    const dir = project({});
    const r = await maint(['init', '/proc/maint-nope/ops'], { cwd: dir, onSpawn: (child: ChildProcess) => void setTimeout(() => child.kill('SIGKILL'), 20_000).unref() });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('maint: could not write /proc/maint-nope/ops/maint.config.yaml: cannot create /proc/maint-nope/ops: /proc cannot hold new entries (no such file or directory; a virtual filesystem such as /proc?)');
  });
});

describe('files maint writes', () => {
  it('are readable by owner and group only', async () => {
    const dir = project({ 'p.yaml': 'steps:\n  - { name: talk, run: echo hi }\n' });
    expect((await maint(['run', 'p'], { cwd: dir })).code).toBe(0);
    expect(readdirSync(join(dir, '.maint/running'))).toEqual([]); // the run ended: no longer marked
    const runDir = join(dir, '.maint/runs', readdirSync(join(dir, '.maint/runs'))[0]!);
    for (const f of [join(dir, 'maintenance-log.md'), join(runDir, 'run.json'), join(runDir, 'events.ndjson'), join(runDir, 'steps/talk.log')]) {
      expect((statSync(f).mode & 0o007).toString(8), f).toBe('0');
    }
  });
});

describe('log results and configuration', () => {
  it('warned runs say "passed with warnings"; --log chooses the file', async () => {
    const dir = project({
      'w.yaml': 'title: Backups\nsteps:\n  - name: restic check\n    run: exit 3\n    expect: exit_code in [0, 3]\n    warn: exit_code == 3\n',
    });
    const r = await maint(['run', 'w', '--log', 'logs/ops.md'], { cwd: dir });
    expect(r.code).toBe(0);
    const text = readFileSync(join(dir, 'logs/ops.md'), 'utf8');
    expect(text).toMatch(/\*\*Result\*\*: passed with warnings/);
    expect(text).toMatch(/Issues encountered[\s\S]*restic check/);
    expect(existsSync(join(dir, 'maintenance-log.md'))).toBe(false);
  });

  it('SIGTERM during a step: the entry says interrupted', async () => {
    const dir = project({ 't.yaml': 'title: Term\nsteps:\n  - { name: first, run: "true" }\n  - { name: long, run: "echo $$ > long.pid; sleep 30" }\n' });
    const r = await maint(['run', 't'], {
      cwd: dir,
      onSpawn: signalWhenFileAppears(join(dir, 'long.pid'), 'SIGTERM'),
    });
    expect(r.code).toBe(143);
    const [entry] = entries(dir);
    expect(entry).toMatch(/\*\*Result\*\*: interrupted by SIGTERM/);
    expect(entry).toMatch(/- \[x\] first/);
    expect(entry).toMatch(/- \[ \] long/);
  });

  it('config output_cap bounds each step output file and notes the truncation; secret_env adds secret names', async () => {
    const dir = project({
      './maint.config.yaml': 'output_cap: 1KB\nsecret_env: [MY_CUSTOM_CRED]\n',
      'o.yaml': 'steps:\n  - { name: chatty, run: "echo $MY_CUSTOM_CRED; head -c 5000 /dev/zero | tr \\"\\\\\\\\0\\" x" }\n',
    });
    const r = await maint(['run', 'o'], { cwd: dir, env: { MY_CUSTOM_CRED: 'custom-cred-value' } });
    expect(r.code).toBe(0);
    const runDir = join(dir, '.maint/runs', readdirSync(join(dir, '.maint/runs'))[0]!);
    const out = readFileSync(join(runDir, 'steps/chatty.log'), 'utf8');
    expect(out.startsWith('***\n' + 'x'.repeat(990))).toBe(true);
    expect(out).not.toContain('custom-cred-value');
    expect(out).toMatch(/\[maint: output truncated at 1000 bytes\]/);
    expect(out.length).toBeLessThan(1100);
  });
});

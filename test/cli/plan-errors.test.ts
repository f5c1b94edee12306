/**
 * The newcomer path and the crash path through the built CLI: a bad start is exit 2 with every
 * missing var named, never a stack; a bug in maint is one line, exit 70, and a crash file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

/** Only what a fresh shell has: every other variable of this process removed, whatever the helper lets through. */
function bareEnv(home: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined]));
  return { ...env, PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' };
}

const STACK = /^\s+at /m;

describe('a newcomer in an empty folder', () => {
  it('plan daily: exit 2, no stack, every missing var named with the variable that sets it', async () => {
    const dir = project({});
    const r = await maint(['plan', 'daily'], { cwd: dir, env: bareEnv(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).not.toMatch(/internal error/);
    for (const [name, envVar] of [['database_url', 'DATABASE_URL'], ['restic_repository', 'RESTIC_REPOSITORY'], ['restic_password', 'RESTIC_PASSWORD']]) {
      expect(r.stderr).toMatch(new RegExp(`daily\\.yaml:\\d+:\\d+: vars\\.${name}: required var "${name}" is not set \\(set it with --var ${name}=… or the ${envVar} environment variable\\)`));
    }
    // Every line is a positioned problem, then the summary.
    const lines = r.stderr.trim().split('\n');
    expect(lines.slice(0, -1).every((l) => /^\S+:\d+:\d+: /.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('maint: 3 problems found; nothing was run');
  });

  it('run --dry-run, with the README variables set, names the one still missing (monthly)', async () => {
    const dir = project({});
    const env = { ...bareEnv(dir), DATABASE_URL: 'postgresql://app@db.internal/app', RESTIC_REPOSITORY: '/srv/restic', RESTIC_PASSWORD: 'pw-readme-1' };
    const r = await maint(['run', 'monthly', '--dry-run'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toMatch(/vars\.scratch_database_url: required var "scratch_database_url" is not set \(set it with --var scratch_database_url=… or the MAINT_DR_SCRATCH_URL environment variable\)/);
    expect(existsSync(join(dir, '.maint'))).toBe(false);
  });

  it('{{ env.HOME }} in an include and in env: works (Node 20 refused process.env)', async () => {
    const dir = project({
      'home.yaml': 'env:\n  WHERE: "{{ env.HOME }}"\nsteps:\n  - { name: Piece, runbook: piece, vars: { target: "{{ env.HOME }}/data" } }\n',
      '_piece.yaml': 'vars:\n  target: { required: true }\nsteps:\n  - { name: show, run: "echo {{ vars.target }}" }\n',
    });
    const r = await maint(['plan', 'home'], { cwd: dir, env: bareEnv(dir) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`$ echo ${dir}/data`);
  });

  it('the include example of docs/runbooks.md: each unset variable named at its place (was: internal error)', async () => {
    const dir = project({
      'api.yaml': 'title: API checks\nsteps:\n  - name: Backups\n    runbook: backup-age\n    vars: { repository: "{{ env.RESTIC_REPOSITORY }}", password: "{{ env.RESTIC_PASSWORD }}", max_age: 26h }\n',
    });
    const r = await maint(['plan', 'api'], { cwd: dir, env: bareEnv(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'runbooks/api.yaml:5:29: steps[0].vars.repository: {{ env.RESTIC_REPOSITORY }}: the environment variable RESTIC_REPOSITORY is not set (write env.?RESTIC_REPOSITORY.orValue("…") where it may be unset)',
      'runbooks/api.yaml:5:70: steps[0].vars.password: {{ env.RESTIC_PASSWORD }}: the environment variable RESTIC_PASSWORD is not set (write env.?RESTIC_PASSWORD.orValue("…") where it may be unset)',
      'maint: 2 problems found; nothing was run',
    ]);
    const ok = await maint(['plan', 'api'], { cwd: dir, env: { ...bareEnv(dir), RESTIC_REPOSITORY: '/srv/restic', RESTIC_PASSWORD: 'pw-docs-12345' } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain('pw-docs-12345');
  });

  it('a broken runbook env: is exit 2 before anything runs, with its position', async () => {
    const dir = project({ 'e.yaml': 'env:\n  TOKEN: "{{ env.NO_SUCH_TOKEN }}"\nsteps:\n  - { name: a, run: "echo ran >> trail" }\n' });
    const r = await maint(['run', 'e'], { cwd: dir, env: bareEnv(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/e\.yaml:2:14: env\.TOKEN: \{\{ env\.NO_SUCH_TOKEN \}\}: the environment variable NO_SUCH_TOKEN is not set/m);
    // Refused before the first step (a refusal may be recorded; nothing ran).
    expect(existsSync(join(dir, 'trail'))).toBe(false);
  });

  it.each<[string, Record<string, string>, string[], RegExp]>([
    ['unknown key', { './vars.yaml': 'namespce: x\n' }, ['--vars-file', 'vars.yaml'], /^vars\.yaml:1:1: namespce: runbook "s" declares no var "namespce"; did you mean "namespace"\?$/m],
    ['unreadable', {}, ['--vars-file', 'missing.yaml'], /^maint: --vars-file missing\.yaml: ENOENT/m],
    ['not YAML', { './vars.yaml': 'a: [1\n' }, ['--vars-file', 'vars.yaml'], /^vars\.yaml:\d+:\d+: YAML: /m],
    ['not a mapping', { './vars.yaml': '- a\n' }, ['--vars-file', 'vars.yaml'], /^maint: --vars-file vars\.yaml: expected a mapping/m],
    // A command line cannot carry a NUL byte; a YAML file can ("\0").
    ['a NUL byte in a value', { './vars.yaml': 'namespace: "a\\0b"\n' }, ['--vars-file', 'vars.yaml'], /vars\.namespace: --vars-file vars\.yaml: var "namespace" contains a NUL byte/],
  ])('--vars-file / --var: %s is exit 2 with a clear line', async (_what, files, args, message) => {
    const dir = project({ 's.yaml': 'vars:\n  namespace: default\nsteps:\n  - { name: a, run: "true" }\n', ...files });
    const r = await maint(['plan', 's', ...args], { cwd: dir, env: bareEnv(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('resume plans again', () => {
  it('a secret var that is no longer set is exit 2 naming it, and the run is not resumed', async () => {
    const dir = project({ 'sec.yaml': 'vars:\n  token: { required: true, secret: true, env: SEC_TOKEN }\nsteps:\n  - { name: first, run: "true" }\n  - { name: second, run: "test -f fixed && echo resumed > trail" }\n' });
    const failed = await maint(['run', 'sec'], { cwd: dir, env: { ...bareEnv(dir), SEC_TOKEN: 'tok-123456789' } });
    expect(failed.code).toBe(1);
    const runId = JSON.parse((await maint(['history', '--json'], { cwd: dir, env: bareEnv(dir) })).stdout)[0].run as string;
    writeFileSync(join(dir, 'fixed'), '');
    // Secrets are never stored: without SEC_TOKEN the plan cannot be made again.
    const r = await maint(['resume', runId], { cwd: dir, env: bareEnv(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/sec\.yaml:2:3: vars\.token: required var "token" is not set \(set it with --var token=… or the SEC_TOKEN environment variable\)$/m);
    expect(existsSync(join(dir, 'trail'))).toBe(false);
  });
});

describe('a bug in maint', () => {
  // MAINT_CRASH_TEST=1 makes main() throw before any command runs: the crash path end to end.
  it('is one line on stderr, exit 70, and a crash file with the source-mapped stack', async () => {
    const dir = project({});
    const r = await maint(['plan', 'daily', '--var', 'database_url=postgres://u:hunter2@db/x'], { cwd: dir, env: { ...bareEnv(dir), MAINT_CRASH_TEST: '1' }, expectInternalError: true });
    expect(r.code).toBe(70);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^maint: internal error \(Error\): a bug in maint \d+\.\d+\.\d+\S*; the stack is in (\S+\.txt); please report it$/);
    const file = /the stack is in (\S+\.txt);/.exec(lines[0]!)![1]!;
    expect(file.startsWith(join(dir, '.maint', 'crash'))).toBe(true);
    const report = readFileSync(file, 'utf8');
    expect(report).toMatch(/MAINT_CRASH_TEST=1: a deliberate crash/);
    expect(report).toMatch(/src\/cli\/main\.ts:\d+:\d+/);
    expect(report).not.toMatch(/maint\.cjs:\d+/);
    expect(report).toContain('command: maint plan … --var …');
    expect(report + r.stderr).not.toContain('hunter2');
  });

  it('a throw that escapes every try (from a timer) takes the same path, exit 70 rather than 1', async () => {
    const dir = project({});
    const r = await maint(['list'], { cwd: dir, env: { ...bareEnv(dir), MAINT_CRASH_TEST: 'uncaught' }, expectInternalError: true });
    expect(r.code).toBe(70);
    expect(r.stderr).not.toMatch(STACK);
    const file = /^maint: internal error \(Error\): a bug in maint \S+; the stack is in (\S+\.txt); please report it$/m.exec(r.stderr)![1]!;
    expect(readFileSync(file, 'utf8')).toMatch(/MAINT_CRASH_TEST=uncaught[^]*src\/cli\/main\.ts:\d+:\d+/);
  });

  it('with MAINT_DEBUG=1 the stack goes to stderr too; an unusable state dir falls back to the temp folder', async () => {
    const dir = project({ './state': 'a file, not a folder\n' });
    const r = await maint(['plan', 'daily', '--state', 'state'], { cwd: dir, env: { ...bareEnv(dir), MAINT_CRASH_TEST: '1', MAINT_DEBUG: '1', TMPDIR: dir }, expectInternalError: true });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/src\/cli\/main\.ts:\d+:\d+/);
    const file = /the stack is in (\S+\.txt);/.exec(r.stderr)![1]!;
    expect(file.startsWith(join(dir, 'maint-crash'))).toBe(true);
    expect(existsSync(file)).toBe(true);
  });
});

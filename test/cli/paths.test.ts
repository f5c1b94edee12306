/**
 * The files a run writes are checked before its first step: each unusable path is a clear exit 2
 * within seconds with nothing run (today's failures: a log written after a run that printed
 * "passed", and an endless mkdir under /proc). A disk that fills up mid-run still lets the run
 * end with its own exit code.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunPaths } from '../../src/cli/preflight-paths.js';
import { maint, project } from '../helpers/cli.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };
const RUNBOOK = 'title: Marks\nsteps:\n  - { name: a, run: "echo ran > ran" }\n';
/** Generous: a loaded 2-core machine; the failure this guards against never returns at all. */
const PROMPT_MS = 15_000;
const isRoot = process.getuid?.() === 0;
/** The old failure spins forever and ignores SIGTERM: such a child is killed, never left behind. */
const reaped = { onSpawn: (child: ChildProcess) => void setTimeout(() => child.kill('SIGKILL'), PROMPT_MS).unref() };

function chattr(flag: '+i' | '-i', file: string): boolean {
  try {
    execFileSync('chattr', [flag, file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('run paths are checked before the first step', () => {
  it.each([
    ['--log \'\'', ['--log', ''], /--log: an empty path/],
    ['--state \'\'', ['--state', ''], /--state: an empty path/],
    ['a log that is a folder', ['--log', 'runbooks'], /maintenance log .*runbooks: is a folder, not a file/],
    ['a log folder under /proc', ['--log', '/proc/maint-test/log.md'], /maintenance log \/proc\/maint-test\/log\.md: cannot create \/proc\/maint-test: \/proc is on proc/],
    ['a state folder under /proc', ['--state', '/proc/maint-test/state'], /state folder \/proc\/maint-test\/state: \/proc is on proc/],
    ['--junit under /sys', ['--junit', '/sys/maint-test/report.xml'], /--junit \/sys\/maint-test\/report\.xml: cannot create \/sys\/maint-test: \/sys is on sysfs/],
    ['--junit into a file used as a folder', ['--junit', 'runbooks/marks.yaml/report.xml'], /--junit .*: cannot be created: .*marks\.yaml is not a folder/],
  ])('%s: exit 2, said, nothing run', async (_what, flags, message) => {
    const dir = project({ 'marks.yaml': RUNBOOK });
    const r = await maint(['run', 'marks', ...flags], { cwd: dir, env: ENV, ...reaped });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.ms).toBeLessThan(PROMPT_MS);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('every unusable path at once', async () => {
    const dir = project({ 'marks.yaml': RUNBOOK });
    const r = await maint(['run', 'marks', '--log', 'runbooks', '--junit', '/proc/x/r.xml'], { cwd: dir, env: ENV, ...reaped });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/maintenance log .*: is a folder/);
    expect(r.stderr).toMatch(/--junit \/proc\/x\/r\.xml: cannot create/);
  });

  it('an immutable log file', async ({ skip }) => {
    const dir = project({ 'marks.yaml': RUNBOOK, './maintenance-log.md': '# Maintenance log\n' });
    const log = join(dir, 'maintenance-log.md');
    if (!chattr('+i', log)) skip(); // needs CAP_LINUX_IMMUTABLE and a filesystem with attributes
    try {
      const r = await maint(['run', 'marks'], { cwd: dir, env: ENV });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/maintenance log .*maintenance-log\.md: cannot be written: operation not permitted \(EPERM\)/);
      expect(existsSync(join(dir, 'ran'))).toBe(false);
    } finally {
      chattr('-i', log);
    }
  });

  it('a log and a state folder on a read-only filesystem', async ({ skip }) => {
    const dir = project({ 'marks.yaml': RUNBOOK, './ro/.keep': '' });
    const ro = join(dir, 'ro');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { stdio: 'ignore' });
    } catch {
      skip(); // needs mount(2)
    }
    try {
      const r = await maint(['run', 'marks', '--log', 'ro/logs/log.md', '--state', 'ro/state'], { cwd: dir, env: ENV, ...reaped });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/maintenance log .*ro\/logs\/log\.md: cannot create .*ro\/logs: .*ro is not writable: read-only file system \(EROFS\)/);
      expect(r.stderr).toMatch(/state folder .*ro\/state: cannot create .*: read-only file system \(EROFS\)/);
      expect(existsSync(join(dir, 'ran'))).toBe(false);
    } finally {
      execFileSync('umount', [ro], { stdio: 'ignore' });
    }
  });

  it.skipIf(isRoot)('an unwritable log file and an unwritable log folder (permissions; root ignores them)', async () => {
    const dir = project({ 'marks.yaml': RUNBOOK, './ro/maintenance-log.md': '# Maintenance log\n', './locked/.keep': '' });
    chmodSync(join(dir, 'ro/maintenance-log.md'), 0o444);
    chmodSync(join(dir, 'locked'), 0o555);
    const a = await maint(['run', 'marks', '--log', 'ro/maintenance-log.md'], { cwd: dir, env: ENV });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/cannot be written: permission denied/);
    const b = await maint(['run', 'marks', '--log', 'locked/sub/log.md'], { cwd: dir, env: ENV });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/locked is not writable/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });
});

describe('a full disk under the log', () => {
  it('the run still ends with its own code (1, rolled back), and stderr says the entry was not written', async ({ skip }) => {
    if (!existsSync('/dev/full')) skip();
    const dir = project({ 'fails.yaml': 'title: Fails\nsteps:\n  - { name: a, run: "true", rollback: "echo undone > undone" }\n  - { name: b, run: "exit 3" }\n' });
    const r = await maint(['run', 'fails', '--log', '/dev/full'], { cwd: dir, env: ENV });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the maintenance log entry was not written to \/dev\/full: .*(ENOSPC|no space)/i);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(readFileSync(join(dir, 'undone'), 'utf8')).toBe('undone\n');
    const json = JSON.parse((await maint(['history', '--json'], { cwd: dir, env: ENV })).stdout) as { result: string; exit_code: number }[];
    expect(json[0]).toMatchObject({ result: 'failed', exit_code: 1 });
  });
});

describe('a full disk under the journal', () => {
  it('the run goes on, rolls back, keeps its exit code; the log entry is written and stderr says what was lost', async ({ skip }) => {
    const dir = project({ 'fills.yaml': `title: Fills
steps:
  - { name: a, run: "true", rollback: "echo undone > undone" }
  - { name: loud, run: "head -c 600000 /dev/zero | tr '\\\\0' x" }
  - { name: b, run: "exit 3" }
` });
    const state = join(dir, 'small-state');
    mkdirSync(state);
    // A 256 KiB filesystem: the loud step's output fills it mid-run. Needs mount(2) (root, a container that allows it).
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', state], { stdio: 'ignore' });
    } catch {
      skip();
    }
    try {
      const r = await maint(['run', 'fills', '--state', 'small-state'], { cwd: dir, env: ENV, ...reaped });
      expect(r.stderr).toMatch(/^maint: journal: .*small-state\/runs\/.* not written: no space left on the device/m);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.code).toBe(1);
      expect(readFileSync(join(dir, 'undone'), 'utf8')).toBe('undone\n');
      const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
      expect(log).toMatch(/\*\*Result\*\*: failed, rolled back/);
      expect(log).toMatch(/the run journal could not be written/);
    } finally {
      execFileSync('umount', [state], { stdio: 'ignore' });
    }
  });
});

describe('checkRunPaths', () => {
  const dir = project({});
  mkdirSync(join(dir, 'folder'));
  writeFileSync(join(dir, 'file'), '');
  it.each([
    [{ log: join(dir, 'new/deeper/log.md'), state: join(dir, 'state') }, []],
    [{ log: join(dir, 'file'), state: join(dir, 'file') }, [/^state folder .*file: is a file, not a folder$/]],
    [{ log: join(dir, 'folder'), state: join(dir, 'folder'), junit: join(dir, 'file/x.xml') }, [/^maintenance log .*: is a folder, not a file$/, /^--junit .*file\/x\.xml: cannot be created: .*file is not a folder$/]],
    [{ log: '/proc/self/x/log.md', state: '/sys/x' }, [/cannot create \/proc\/self\/x: \/proc\/self is on proc/, /state folder \/sys\/x: cannot create \/sys\/x: \/sys is on sysfs/]],
    // A report is replaced by rename: as root that would swap a device node for it.
    [{ log: join(dir, 'log.md'), state: join(dir, 'state'), junit: '/dev/full' }, [/^--junit \/dev\/full: is not a plain file/]],
  ])('%j', (paths, expected) => {
    const problems = checkRunPaths(paths);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(problems[i]).toMatch(re));
  });
});

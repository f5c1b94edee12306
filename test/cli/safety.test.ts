import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project, signalWhenFileAppears } from '../helpers/cli.js';

const PAYLOADS = [
  '; touch PWNED',
  '&& touch PWNED',
  '| touch PWNED',
  '$(touch PWNED)',
  '`touch PWNED`',
  "'; touch PWNED; echo '",
  '"; touch PWNED; echo "',
  'a\ntouch PWNED',
  '$HOME ${PATH} * ?',
];

describe('no command injection through vars', () => {
  const dir = project({
    'inject.yaml': `vars:
  v: ""
steps:
  - name: shell form
    run: printf '[%s]\\n' {{ vars.v }} > shell.out
  - name: argv form
    run: [bash, -c, 'printf "[%s]\\n" "$1" > argv.out', _, "{{ vars.v }}"]
  - name: mid-word
    run: printf '[%s]\\n' pre-{{ vars.v }}-post > word.out
`,
  });

  for (const payload of PAYLOADS) {
    it(`prints ${JSON.stringify(payload)} literally in shell and argv form`, async () => {
      const r = await maint(['run', 'inject', '--var', `v=${payload}`], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readFileSync(join(dir, 'shell.out'), 'utf8')).toBe(`[${payload}]\n`);
      expect(readFileSync(join(dir, 'argv.out'), 'utf8')).toBe(`[${payload}]\n`);
      expect(readFileSync(join(dir, 'word.out'), 'utf8')).toBe(`[pre-${payload}-post]\n`);
      expect(readdirSync(dir)).not.toContain('PWNED');
    });
  }
});

describe('timeouts end the whole process tree', () => {
  it('kills children, grandchildren and TERM-ignoring processes, then fails the step', async () => {
    const dir = project({
      'slow.yaml': `steps:
  - name: hangs
    timeout: 500ms
    run: |
      sleep 300 & echo $! >> pids
      bash -c 'trap "" TERM; sleep 300 & echo $! >> pids; wait' & echo $! >> pids
      echo $$ >> pids
      wait
defaults:
  kill_grace: 300ms
`,
    });
    const r = await maint(['run', 'slow'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL hangs .*timed out after 500ms/);
    // Far below the 300 s the tree would sleep, and loose enough for a loaded machine.
    expect(r.ms).toBeLessThan(20_000);
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(4);
    for (const pid of pids) expect(alive(pid), `pid ${pid} still alive`).toBe(false);
  });
});

/** Running, not a zombie waiting for an init that does not reap (common in containers). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('confirm', () => {
  const rb = `steps:
  - name: before
    run: echo before >> trail
  - name: Apply
    confirm: Apply the migration to {{ vars.db }}?
    run: echo applied >> trail
vars:
  db: prod
finally:
  - name: fin
    run: echo finally >> trail
`;
  it('unattended: pauses with exit 5 without reading stdin', async () => {
    const dir = project({ 'c.yaml': rb });
    // stdin is an open pipe that is never written: reading it would hang the run
    const r = await maint(['run', 'c'], { cwd: dir, stdin: 'pipe' });
    expect(r.code).toBe(5);
    expect(r.ms).toBeLessThan(20_000); // reading the pipe would wait until the test times out
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim()).toBe('before');
    expect(r.stdout).toMatch(/PAUSED Apply .*Apply the migration to prod\?/);
  });

  it('--yes goes ahead', async () => {
    const dir = project({ 'c.yaml': rb });
    const r = await maint(['run', 'c', '--yes'], { cwd: dir, stdin: 'pipe' });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n')).toEqual(['before', 'applied', 'finally']);
  });
});

describe('vars and secrets before anything runs', () => {
  const rb = `vars:
  database_url:
    env: DATABASE_URL
    secret: true
    required: true
  namespace: default
steps:
  - name: touch
    run: echo ran >> trail
  - name: query
    run: psql {{ vars.database_url }} -n {{ vars.namespace }}
`;
  it('a missing required var is exit 2 at its declaration, and nothing runs', async () => {
    const dir = project({ 's.yaml': rb });
    const r = await maint(['run', 's'], { cwd: dir, env: { DATABASE_URL: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/s\.yaml:2:3: vars\.database_url: required var "database_url" is not set \(set it with --var database_url=… or the DATABASE_URL environment variable\)/m);
    expect(existsSync(join(dir, 'trail'))).toBe(false);
  });

  it('plan shows resolved vars with secrets masked; precedence --var > --vars-file > env > config > default', async () => {
    const dir = project({ 's.yaml': rb, './maint.config.yaml': 'vars:\n  namespace: from-config\n', './vars.yaml': 'namespace: from-file\n' });
    const env = { DATABASE_URL: 'postgres://admin:hunter2pass@db/prod' };
    const p1 = await maint(['plan', 's'], { cwd: dir, env });
    expect(p1.code).toBe(0);
    expect(p1.stdout).toContain("$ psql '***' -n from-config");
    expect(p1.stdout + p1.stderr).not.toContain('hunter2pass');
    const p2 = await maint(['plan', 's', '--vars-file', 'vars.yaml'], { cwd: dir, env });
    expect(p2.stdout).toContain('-n from-file');
    const p3 = await maint(['plan', 's', '--vars-file', 'vars.yaml', '--var', 'namespace=from-flag'], { cwd: dir, env });
    expect(p3.stdout).toContain('-n from-flag');
    const json = await maint(['plan', 's', '--json'], { cwd: dir, env });
    expect(JSON.parse(json.stdout).vars.database_url).toBe('***');
  });

  it('an unknown --var is exit 2 with a suggestion', async () => {
    const dir = project({ 's.yaml': rb });
    const r = await maint(['plan', 's', '--var', 'namespce=x', '--var', 'database_url=x'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--var namespce: .*did you mean "namespace"\?/);
  });

  it('requires: missing commands are exit 2 before step 1', async () => {
    const dir = project({ 'r.yaml': 'requires: [bash, no-such-tool-xyz]\nsteps:\n  - { name: a, run: echo ran >> trail }\n' });
    const r = await maint(['run', 'r'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/requires no-such-tool-xyz, not found on PATH/);
    expect(existsSync(join(dir, 'trail'))).toBe(false);
  });
});

describe('signals', () => {
  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${signal} ends the running step, runs rollbacks and finally, exits ${code}`, async () => {
      const dir = project({
        'sig.yaml': `steps:
  - name: first
    run: echo first >> trail
    rollback: echo undo-first >> trail
  - name: long
    run: echo $$ > long.pid; sleep 300
finally:
  - name: fin
    run: echo finally >> trail
`,
      });
      const r = await maint(['run', 'sig'], {
        cwd: dir,
        onSpawn: signalWhenFileAppears(join(dir, 'long.pid'), signal),
      });
      expect(r.code).toBe(code);
      expect(readFileSync(join(dir, 'trail'), 'utf8').trim().split('\n')).toEqual(['first', 'undo-first', 'finally']);
      const pid = Number(readFileSync(join(dir, 'long.pid'), 'utf8'));
      expect(alive(pid)).toBe(false);
      expect(r.stdout).toMatch(/interrupted/);
    });
  }
});


import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project, ROOT } from '../helpers/cli.js';

// Every problem in one runbook, reported at once with its position; nothing runs.
const BROKEN = `title: Broken on purpose
vars:
  namespace: prod
schedule: "61 * * * *"
stepz: []
steps:
  - name: Disk use
    run: df -h
    timout: 5m
  - name: Two actions
    run: echo a
    manual: also a person
  - name: No action
  - name: Disk use
    run: echo dup
  - name: Bad duration
    run: echo x
    timeout: 5 minutes
  - name: Bad expression
    run: echo x
    expect: stdout.size( > 3
  - name: Undefined var
    run: echo {{ vars.namespaec }}
  - name: Later step
    run: echo {{ steps.last.outputs.x }}
  - name: Stdout before the command
    run: echo hi
    when: stdout == "x"
  - name: Quoted template
    run: echo "{{ vars.namespace }}"
  - name: Unknown include
    runbook: nosuch
  - id: last
    name: Last
    run: echo last
`;

describe('maint validate', () => {
  it('reports every problem at once, schema and semantic in one pass, sorted by position, exit 2', async () => {
    const dir = project({ 'broken.yaml': BROKEN });
    const r = await maint(['validate', 'broken'], { cwd: dir, env: { LANG: 'C.UTF-8' } });
    expect(r.code).toBe(2);
    const expected = [
      'runbooks/broken.yaml:4:11: schedule: not a 5-field cron',
      'runbooks/broken.yaml:5:1: stepz: unknown field "stepz"; did you mean "steps"?',
      'runbooks/broken.yaml:9:5: steps[0].timout: unknown field "timout"; did you mean "timeout"?',
      'runbooks/broken.yaml:10:5: steps[1]: a step has exactly one action, this one has run and manual',
      'runbooks/broken.yaml:13:5: steps[2]: a step needs exactly one action',
      'runbooks/broken.yaml:14:11: steps[3].name: duplicate step id "disk_use" (also at line 7)',
      'runbooks/broken.yaml:18:14: steps[4].timeout: not a duration',
      'runbooks/broken.yaml:21:26: steps[5].expect: expression: ',
      'runbooks/broken.yaml:23:10: steps[6].run: `vars.namespaec` is not declared under vars:; did you mean `vars.namespace`?',
      'runbooks/broken.yaml:25:10: steps[7].run: step "last" has not run at this point',
      'runbooks/broken.yaml:28:11: steps[8].when: `stdout` is only known after the command runs',
      'runbooks/broken.yaml:30:19: steps[9].run: {{ vars.namespace }} is inside double quotes',
      'runbooks/broken.yaml:32:14: steps[10].runbook: unknown runbook "nosuch"',
    ];
    const got = r.stderr.trimEnd().split('\n');
    // One line per problem, in this order: the order of the file.
    expect(got.map((line, i) => line.startsWith(expected[i]!) || `${line}\n  expected to start with\n${expected[i]}`)).toEqual(expected.map(() => true));
    expect(r.stdout).toMatch(/13 problems in 1 file/);
  });

  it('points at the exact line and column of a YAML syntax error', async () => {
    const dir = project({ 'bad.yaml': 'steps:\n  - name: a\n    run: [unclosed\n' });
    const r = await maint(['validate', 'bad'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/bad\.yaml:\d+:\d+: YAML: /m);
  });

  it('finds include cycles and checks include vars against the included runbook', async () => {
    const dir = project({
      'a.yaml': 'steps:\n  - name: into b\n    runbook: b\n    vars: { nmespace: x }\n',
      'b.yaml': 'vars:\n  namespace: default\nsteps:\n  - name: back into a\n    runbook: a\n',
    });
    const r = await maint(['validate', 'a'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runbooks\/b\.yaml:5:14: steps\[0\]\.runbook: include cycle: a → b → a/);
    expect(r.stderr).toMatch(/runbooks\/a\.yaml:4:\d+: steps\[0\]\.vars\.nmespace: runbook "b" declares no var "nmespace"; did you mean "namespace"\?/);
  });

  it('--strict flags steps that change something without a rollback', async () => {
    const dir = project({
      'ok.yaml': 'steps:\n  - name: probe\n    run: "true"\n    readonly: true\n  - name: change\n    run: "true"\n    rollback: "true"\n  - name: risky\n    run: "true"\n',
    });
    const plain = await maint(['validate', 'ok'], { cwd: dir });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/1 runbook valid/);
    const strict = await maint(['validate', 'ok', '--strict'], { cwd: dir });
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(/ok\.yaml:8:\d+: steps\[2\]\.name: changes something but has no rollback/);
    expect(strict.stderr).not.toMatch(/steps\[0\]|steps\[1\]/);
  });

  it('an unknown runbook is exit 2 with a suggestion', async () => {
    const dir = project({ 'weekly.yaml': 'steps:\n  - name: a\n    run: "true"\n' });
    const r = await maint(['run', 'weekyl'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown runbook "weekyl".*did you mean "weekly"\?/);
  });
});

describe('input that used to crash maint (exit 70 and a stack trace)', () => {
  const OK = 'steps:\n  - name: a\n    run: "true"\n';
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) bomb.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(', ')}]`);

  it.each([
    ['an alias bomb', `${bomb.join('\n')}\n${OK}`, /^runbooks\/x\.yaml:2:8: YAML: aliases expand to too much data/],
    ['an unresolved alias', 'steps:\n  - name: a\n    run: *cmd\n', /^runbooks\/x\.yaml:3:10: YAML: alias \*cmd has no anchor &cmd before it$/],
    ['nesting 10,000 deep', `steps: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`, /^runbooks\/x\.yaml:1:\d+: YAML: nested too deeply/],
    ['a runbook of 2 MiB', `${OK}${'#'.repeat(79)}\n`.repeat(25_000), /^runbooks\/x\.yaml:1:1: runbook is 2\.\d+ MiB; maint reads runbooks up to 1 MiB/],
    ['bytes that are not UTF-8', Buffer.from([...Buffer.from('steps:\n  - name: caf'), 0xe9, ...Buffer.from('\n    run: "true"\n')]), /^runbooks\/x\.yaml:2:14: not UTF-8: byte 0xe9/],
  ])('%s: validate and run say where, exit 2, quickly, and nothing runs', async (_what, text, expected) => {
    const dir = project({});
    writeFileSync(join(dir, 'runbooks/x.yaml'), text);
    for (const args of [['validate', 'x'], ['run', 'x'], ['plan', 'x']]) {
      const r = await maint(args, { cwd: dir, env: { LANG: 'C.UTF-8' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(expected.source, 'm'));
      expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
      // "Within a second" on an idle machine; the bound is loose for a loaded one.
      expect(r.ms).toBeLessThan(15_000);
    }
    // The refused run is recorded as such, with the same positioned problem.
    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: refused, nothing was run \(exit 2\)/);
  });

  it('includes nested past the limit: an error naming the chain, and the run refuses instead of passing without them', async () => {
    const files: Record<string, string> = { 'c21.yaml': 'steps:\n  - name: leaf\n    run: touch ran-leaf\n' };
    for (let i = 0; i < 21; i++) files[`c${i}.yaml`] = `steps:\n  - name: s${i}\n    runbook: c${i + 1}\n`;
    const dir = project(files);
    const r = await maint(['run', 'c0'], { cwd: dir, env: { LANG: 'C.UTF-8' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/c0\.yaml:3:14: steps\[0\]\.runbook: includes nest 21 deep, past the limit of 20: c0 → c1 → .* → c21$/m);
    expect(existsSync(join(dir, 'ran-leaf'))).toBe(false);
    expect((await maint(['validate', 'c1'], { cwd: dir })).code).toBe(0);
  });
});

describe('maint schema', () => {
  it('matches the committed schema/runbook.schema.json', async () => {
    const r = await maint(['schema'], { cwd: ROOT });
    expect(r.code).toBe(0);
    const committed = readFileSync(join(ROOT, 'schema/runbook.schema.json'), 'utf8');
    expect(r.stdout).toBe(committed);
    expect(JSON.parse(r.stdout).definitions.Runbook.properties.steps).toBeDefined();
  });
});

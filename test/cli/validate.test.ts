import { readFileSync } from 'node:fs';
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
  it('reports every problem at once as file:line:col: path: message, exit 2', async () => {
    const dir = project({ 'broken.yaml': BROKEN });
    const r = await maint(['validate', 'broken'], { cwd: dir });
    expect(r.code).toBe(2);
    const out = r.stderr;
    const expected = [
      /^runbooks\/broken\.yaml:4:11: schedule: not a 5-field cron/m,
      /^runbooks\/broken\.yaml:5:1: stepz: unknown field "stepz"; did you mean "steps"\?/m,
      /^runbooks\/broken\.yaml:9:5: steps\[0\]\.timout: unknown field "timout"; did you mean "timeout"\?/m,
      /^runbooks\/broken\.yaml:10:5: steps\[1\]: a step has exactly one action, this one has run and manual/m,
      /^runbooks\/broken\.yaml:13:5: steps\[2\]: a step needs exactly one action/m,
      /^runbooks\/broken\.yaml:18:14: steps\[4\]\.timeout: not a duration/m,
    ];
    for (const re of expected) expect(out).toMatch(re);
    // Schema problems stop before the semantic pass; fix them and the rest shows, all at once.
    const fixed = BROKEN.replace('"61 * * * *"', '"0 6 * * *"').replace('stepz: []\n', '').replace('    timout: 5m\n', '')
      .replace('    manual: also a person\n', '').replace('  - name: No action\n', '').replace('5 minutes', '5m');
    const dir2 = project({ 'broken.yaml': fixed });
    const r2 = await maint(['validate', 'broken'], { cwd: dir2 });
    expect(r2.code).toBe(2);
    const semantic = [
      /broken\.yaml:\d+:\d+: steps\[2\]\.name: duplicate step id "disk_use" \(also at line 6\)/,
      /broken\.yaml:\d+:\d+: steps\[4\]\.expect: expression: /,
      /broken\.yaml:\d+:\d+: steps\[5\]\.run: `vars\.namespaec` is not declared under vars:; did you mean `vars\.namespace`\?/,
      /broken\.yaml:\d+:\d+: steps\[6\]\.run: step "last" has not run at this point/,
      /broken\.yaml:\d+:\d+: steps\[7\]\.when: `stdout` is only known after the command runs/,
      /broken\.yaml:\d+:\d+: steps\[8\]\.run: .*inside double quotes/,
      /broken\.yaml:\d+:\d+: steps\[9\]\.runbook: unknown runbook "nosuch"/,
    ];
    for (const re of semantic) expect(r2.stderr).toMatch(re);
    expect(r2.stdout).toMatch(/7 problems in 1 file/);
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

describe('maint schema', () => {
  it('matches the committed schema/runbook.schema.json', async () => {
    const r = await maint(['schema'], { cwd: ROOT });
    expect(r.code).toBe(0);
    const committed = readFileSync(join(ROOT, 'schema/runbook.schema.json'), 'utf8');
    expect(r.stdout).toBe(committed);
    expect(JSON.parse(r.stdout).definitions.Runbook.properties.steps).toBeDefined();
  });
});

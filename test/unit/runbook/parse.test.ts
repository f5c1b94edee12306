import { describe, expect, it } from 'vitest';
import { checkRunbook } from '../../../src/runbook/check.js';
import { formatDiagnostic } from '../../../src/runbook/diagnostics.js';
import { parseDuration } from '../../../src/runbook/duration.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

const messages = (file: string, text: string) => {
  const { runbook, diagnostics } = parseRunbook(file, text);
  const all = [...diagnostics, ...(runbook ? checkRunbook(runbook, { resolve: () => null }) : [])];
  return all.map(formatDiagnostic);
};

describe('parseRunbook positions', () => {
  it('puts an unknown key at the key itself, with a suggestion from the right object', () => {
    expect(messages('x.yaml', 'steps:\n  - name: a\n    run: "true"\n    retry: { attemps: 3 }\n')).toEqual([
      'x.yaml:4:14: steps[0].retry.attemps: unknown field "attemps"; did you mean "attempts"?',
    ]);
  });

  it('reports a missing required field at its parent', () => {
    expect(messages('x.yaml', 'title: t\n')).toEqual(['x.yaml:1:1: missing required field "steps"']);
    expect(messages('x.yaml', 'steps:\n  - run: "true"\n')).toEqual(['x.yaml:2:5: steps[0]: missing required field "name"']);
  });

  it('reports a value of the wrong type as such, at the value, not as missing', () => {
    expect(messages('x.yaml', 'title: 5\nsteps:\n  - { name: a, run: "true", timeout: 5 }\n')).toEqual([
      'x.yaml:1:8: title: expected string, received number',
      'x.yaml:3:38: steps[0].timeout: expected string, received number',
    ]);
  });

  it('says why a var or output name is refused, at the name', () => {
    expect(messages('x.yaml', 'vars:\n  bad-name: 1\nsteps:\n  - name: a\n    run: "true"\n    outputs: { "x-y": stdout }\n')).toEqual([
      'x.yaml:2:3: vars.bad-name: var names are identifiers (letters, digits, _)',
      'x.yaml:6:16: steps[0].outputs.x-y: output names are identifiers',
    ]);
  });

  it('points into a one-line expression at the offending column', () => {
    const [d] = messages('x.yaml', 'steps:\n  - name: a\n    run: "true"\n    expect: exit_code == 0 && stdut == ""\n');
    // `stdut` starts at column 31 of line 4
    expect(d).toMatch(/^x\.yaml:4:31: steps\[0\]\.expect: expression: /);
  });

  it('gives a useful message for a wrongly typed run', () => {
    expect(messages('x.yaml', 'steps:\n  - name: a\n    run: 5\n')).toEqual([
      'x.yaml:3:10: steps[0].run: expected a command string, or a list of strings (argv)',
    ]);
  });

  it('rejects a {{ }} inside single quotes in a shell run, where quoting cannot protect it', () => {
    const [d] = messages('x.yaml', "steps:\n  - name: a\n    run: psql -c 'select {{ vars.x }}'\nvars:\n  x: 1\n");
    expect(d).toMatch(/^x\.yaml:3:\d+: steps\[0\]\.run: .*single quotes/);
  });

  it('accepts valid cron with #n and L, and rejects six fields', () => {
    expect(messages('x.yaml', 'schedule: "0 9 * * MON#1"\nsteps:\n  - { name: a, run: "true" }\n')).toEqual([]);
    expect(messages('x.yaml', 'schedule: "0 9 * * 5L"\nsteps:\n  - { name: a, run: "true" }\n')).toEqual([]);
    expect(messages('x.yaml', 'schedule: "0 0 9 * * 1"\nsteps:\n  - { name: a, run: "true" }\n')[0]).toMatch(/not a 5-field cron/);
  });
});

describe('durations', () => {
  it('parses the documented units and compounds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('5 minutes')).toBeNull();
    expect(parseDuration('10')).toBeNull();
  });
});

/** The CLI test helper itself: a hermetic child environment, and no crash passes unseen. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertNoInternalError, childEnv, INHERITED, maint, project } from '../helpers/cli.js';
import { inCI, requireTool } from '../helpers/tools.js';

const LEAKS = { GITHUB_ACTIONS: 'true', DATABASE_URL: 'postgres://leak', RESTIC_REPOSITORY: '/leak', KUBECONFIG: '/leak', MAINT_PROBE: 'leak' };

describe('childEnv', () => {
  afterEach(() => {
    for (const k of Object.keys(LEAKS)) delete process.env[k];
  });

  it('passes the allowlist and what the test sets, nothing else of this process', () => {
    Object.assign(process.env, LEAKS);
    const env = childEnv({ EXTRA: 'x', HOME: '/h' });
    expect(Object.keys(env).sort()).toEqual([...INHERITED.filter((k) => k !== 'HOME' && process.env[k] !== undefined), 'EXTRA', 'HOME', 'NO_COLOR'].sort());
    expect(env).toMatchObject({ EXTRA: 'x', HOME: '/h', NO_COLOR: '1', PATH: process.env.PATH });
  });

  it('undefined removes a variable, NO_COLOR included', () => {
    expect(childEnv({ NO_COLOR: undefined, PATH: undefined })).not.toHaveProperty('NO_COLOR');
    expect(childEnv({ PATH: undefined })).not.toHaveProperty('PATH');
  });

  it('a step maint runs sees none of the test process\'s variables', async () => {
    Object.assign(process.env, LEAKS);
    const dir = project({ 'env.yaml': 'steps:\n  - { name: env, run: "env > env.txt" }\n' });
    const r = await maint(['run', 'env', '-q'], { cwd: dir, env: { GIVEN: 'yes' } });
    expect(r.code).toBe(0);
    const seen = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(seen).toMatch(/^GIVEN=yes$/m);
    for (const [k, v] of Object.entries(LEAKS)) expect(seen, k).not.toContain(v);
  });
});

describe('assertNoInternalError', () => {
  const cases: [string, number | null, string, boolean, boolean][] = [
    // what, code, output, expected, throws
    ['exit 70', 70, '', false, true],
    ['the crash line', 1, 'x\nmaint: internal error: TypeError: y\n', false, true],
    ['exit 70, asked for', 70, 'maint: internal error: z', true, false],
    ['a user error', 2, 'runbooks/a.yaml:1:1: bad\nmaint: 1 problem found; nothing was run\n', false, false],
    ['a failed run', 1, 'FAIL a (exit code 70)\n', false, false],
    ['killed by a signal', null, '', false, false],
  ];
  for (const [what, code, output, expected, throws] of cases) {
    it(`${what}: ${throws ? 'throws' : 'passes'}`, () => {
      const check = () => assertNoInternalError('x', code, output, expected);
      if (throws) expect(check).toThrow(/crashed/);
      else expect(check).not.toThrow();
    });
  }
});

describe('requireTool', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('under CI a missing tool fails, naming every missing one', () => {
    process.env.CI = 'true';
    expect(() => requireTool('sh', 'maint-no-such-tool-1', 'maint-no-such-tool-2')).toThrow(/^maint-no-such-tool-1, maint-no-such-tool-2 not installed: CI must install them/);
    expect(requireTool('sh')).toBe(true);
  });

  for (const [value, ci] of [['true', true], ['1', true], ['false', false], ['0', false], ['', false], [undefined, false]] as const) {
    it(`CI=${value ?? '(unset)'} is ${ci ? '' : 'not '}CI`, () => {
      if (value === undefined) delete process.env.CI;
      else process.env.CI = value;
      expect(inCI()).toBe(ci);
    });
  }
});

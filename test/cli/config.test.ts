/** Config files in every format maint searches for, loaded by the built CLI. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

const ONE_STEP = 'steps:\n  - { name: one, run: [/bin/true], readonly: true }\n';

describe('config files', () => {
  const cases: Array<[string, string]> = [
    ['maint.config.yaml', 'log: from-config.md\n'],
    ['.maintrc.json', '{ "log": "from-config.md" }'],
    ['.maintrc.mjs', 'export default { log: "from-config.md" };\n'],
    ['maint.config.cjs', 'module.exports = { log: "from-config.md" };\n'],
  ];
  for (const [name, text] of cases) {
    it(`${name}: its settings apply`, async () => {
      const dir = project({ 'one.yaml': ONE_STEP, [`./${name}`]: text });
      const r = await maint(['run', 'one', '-q'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(existsSync(join(dir, 'from-config.md'))).toBe(true);
      expect(existsSync(join(dir, 'maintenance-log.md'))).toBe(false);
    });
  }

  const broken: Array<[string, Record<string, string>, string[], RegExp[]]> = [
    ['YAML that does not parse', { './maint.config.yaml': 'log: [unclosed\n' }, [], [/^\S+\/maint\.config\.yaml:2:1: YAML: /m]],
    [
      'a wrong setting and a misspelt one, each at its line',
      { './maint.config.yaml': 'log: ok.md\nstate: 5\nstat: x\n' },
      [],
      [/^\S+\/maint\.config\.yaml:2:8: state: .*expected string, received number$/m, /^\S+\/maint\.config\.yaml:3:1: stat: unknown setting "stat"; did you mean "state"\?$/m],
    ],
    ['package.json#maint with a wrong setting', { './package.json': '{"name": "x",\n  "maint": {"log": 7}}\n' }, [], [/^\S+\/package\.json:2:20: log: .*expected string/m]],
    ['package.json that is not JSON', { './package.json': '{"name": "x", "maint": {"log": }}\n' }, [], [/^\S+\/package\.json:1:1: .*not valid JSON/m]],
    ['a JavaScript config that throws', { './maint.config.mjs': 'throw new Error("config exploded");\n' }, [], [/^\S+\/maint\.config\.mjs:1:1: the config file does not load: config exploded$/m]],
    ['--config naming no file', {}, ['--config', 'nope.yaml'], [/^\S+\/nope\.yaml:1:1: the config file does not exist$/m]],
  ];
  for (const [what, files, flags, expected] of broken) {
    it(`${what}: file:line:col, exit 2, nothing run`, async () => {
      const dir = project({ 'one.yaml': ONE_STEP, ...files });
      const r = await maint(['run', 'one', '-q', ...flags], { cwd: dir });
      for (const re of expected) expect(r.stderr).toMatch(re);
      expect(r.stderr).toMatch(/nothing was run/);
      expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
      expect(r.code).toBe(2);
      expect(existsSync(join(dir, '.maint'))).toBe(false);
    });
  }
});

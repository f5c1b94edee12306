/** Names every JavaScript object already has cannot name a var, a step or an output. */
import { describe, expect, it } from 'vitest';
import { parseVarFlags } from '../../../src/cli/prepare.js';
import { slugify } from '../../../src/runbook/ids.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

const problems = (text: string) => parseRunbook('r.yaml', text).diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);

describe('built-in object names', () => {
  it.each([
    ['a var', 'vars: { constructor: 2 }\nsteps:\n  - { name: a, run: echo }\n', /^1:9 .*not allowed as a var name/],
    ['a step id', 'steps:\n  - { name: a, id: tostring, run: echo }\n  - { name: b, id: valueOf, run: echo }\n', /^3:.*not allowed as a step id/],
    ['an output', 'steps:\n  - { name: a, run: echo, outputs: { hasOwnProperty: stdout } }\n', /not allowed as an output name/],
    ['a __proto__ key anywhere', 'vars: { __proto__: 3 }\nsteps:\n  - { name: a, run: echo }\n', /^1:9 .*the key __proto__ is not allowed/],
  ])('%s', (_what, text, expected) => {
    expect(problems(text).some((p) => expected.test(p)), problems(text).join('\n')).toBe(true);
  });

  it.each([
    ['constructor', 'constructor_step'],
    ['To String', 'to_string'],
    ['Disk use', 'disk_use'],
  ])('a step named %j gets the id %j', (name, id) => expect(slugify(name)).toBe(id));

  it('--var __proto__=1 is a var named __proto__ (and so unknown), not a prototype', () => {
    const vars = parseVarFlags(['__proto__=1', 'n=2']);
    expect(Object.keys(vars)).toEqual(['__proto__', 'n']);
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
  });
});

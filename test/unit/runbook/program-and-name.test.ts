/** A program to start has a name, and a step name is one line. */
import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../../../src/runbook/parse.js';

const problems = (text: string) => parseRunbook('r.yaml', text).diagnostics.map((d) => `${d.line}:${d.col} ${d.path}: ${d.message}`);

describe('programs and names', () => {
  it.each([
    ['defaults: { shell: [""] }\nsteps:\n  - { name: a, run: echo }\n', ['1:20 defaults.shell: the first word is the program to run: it cannot be empty']],
    ['steps:\n  - { name: a, run: [" ", x] }\n', ['2:21 steps[0].run: the first word is the program to run: it cannot be empty']],
    ['steps:\n  - { name: "a\\u0000b", run: echo }\n', ['2:13 steps[0].name: a step name is one line of text: no NUL byte or line break']],
    ['steps:\n  - { name: "two\\nlines", run: echo }\n', ['2:13 steps[0].name: a step name is one line of text: no NUL byte or line break']],
    ['defaults: { shell: [bash, -c] }\nsteps:\n  - { name: a, run: [printf, ""] }\n', []],
  ])('%j', (text, expected) => expect(problems(text)).toEqual(expected));
});

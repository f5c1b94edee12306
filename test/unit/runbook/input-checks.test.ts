/**
 * Bad input is a positioned problem, never a crash: YAML that the parser accepts but cannot turn
 * into data, files that are no runbook, values checked where they enter, includes nested past the
 * limit, and every problem in one pass.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/plan/plan.js';
import { checkRunbook } from '../../../src/runbook/check.js';
import { formatDiagnostic, sortDiagnostics } from '../../../src/runbook/diagnostics.js';
import { parseDuration } from '../../../src/runbook/duration.js';
import { MAX_INCLUDE_DEPTH, RunbookLibrary } from '../../../src/runbook/library.js';
import { parseRunbook } from '../../../src/runbook/parse.js';
import { decodeRunbook, firstInvalidUtf8, MAX_RUNBOOK_BYTES, readRunbookText } from '../../../src/runbook/source-file.js';

/** Every problem `maint validate` would print for one runbook without includes. */
const problems = (text: string, file = 'x.yaml'): string[] => {
  const { runbook, salvaged, diagnostics } = parseRunbook(file, text);
  const checked = runbook ?? salvaged;
  return sortDiagnostics([...diagnostics, ...(checked ? checkRunbook(checked, { resolve: () => null }) : [])]).map(formatDiagnostic);
};

const OK_STEP = '  - name: a\n    run: "true"\n';

describe('YAML that used to reach the user as a stack trace', () => {
  it.each([
    ['an unresolved alias', 'steps:\n  - name: a\n    run: *nope\n', 'x.yaml:3:10: YAML: alias *nope has no anchor &nope before it'],
    ['an alias before its anchor', 'steps:\n  - name: *n\n    run: &n "true"\n', 'x.yaml:2:11: YAML: alias *n has no anchor &n before it'],
    ['an alias inside its own anchor', 'a: &a [1, *a]\nsteps:\n' + OK_STEP, 'x.yaml:1:11: YAML: alias *a has no anchor &a before it'],
    ['a duplicate key', 'steps:\n  - name: a\n    run: "true"\n    run: "false"\n', 'x.yaml:4:5: YAML: duplicate key: each key may appear once in a mapping'],
    ['a list as a key', '? [a, b]\n: 1\nsteps:\n' + OK_STEP, 'x.yaml:1:3: YAML: a key must be a plain value, not a list or a mapping'],
    ['a mapping as a key', 'steps:\n  - name: a\n    ? { run: x }\n    : "true"\n', 'x.yaml:3:7: YAML: a key must be a plain value, not a list or a mapping'],
    ['two documents', `steps:\n${OK_STEP}---\nsteps: []\n`, 'x.yaml:4:1: YAML: a runbook is one YAML document: remove the `---` that starts a second one, or split the file'],
    ['tabs as indentation', 'steps:\n\t- name: a\n', 'x.yaml:2:1: YAML: Tabs are not allowed as indentation'],
  ])('%s', (_what, text, expected) => {
    expect(problems(text)[0]).toBe(expected);
  });

  it('an alias bomb (billion laughs) is refused quickly, at the first alias', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const t0 = performance.now();
    const out = problems(`${levels.join('\n')}\nsteps:\n${OK_STEP}`);
    // Generous: the point is seconds of CPU and gigabytes, not milliseconds.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(out).toEqual(['x.yaml:2:8: YAML: aliases expand to too much data (more than 100 nodes per alias); write the values out']);
  });

  it('a few shared values through aliases still work', () => {
    expect(problems('steps:\n  - name: a\n    run: &cmd "true"\n  - name: b\n    run: *cmd\n')).toEqual([]);
  });

  it('very deep nesting is one problem at the first level too deep, not a stack overflow', () => {
    expect(problems(`steps: ${'['.repeat(100)}${']'.repeat(100)}`)).toEqual(['x.yaml:1:71: YAML: nested too deeply (at most 64 levels)']);
    const [first] = problems(`steps: ${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    expect(first).toMatch(/^x\.yaml:1:\d+: YAML: nested too deeply \(at most 64 levels\)$/);
  });

  it('a BOM and CRLF line ends are accepted and positions stay right', () => {
    const text = '\ufeffsteps:\r\n  - name: a\r\n    run: "true"\r\n    timeout: 5 minutes\r\n';
    expect(problems(text)).toEqual(['x.yaml:4:14: steps[0].timeout: not a duration: write it like 500ms, 30s, 5m, 4h or 7d']);
    expect(problems('\ufeffsteps: 5\r\n')).toEqual(['x.yaml:1:8: steps: expected array, received number']);
  });

  it.each([
    ['an empty file', ''],
    ['only a comment', '# nothing yet\n'],
    ['a list', '- name: a\n  run: "true"\n'],
    ['a scalar', 'hello\n'],
    ['null', '~\n'],
  ])('%s is a runbook-shaped problem at 1:1', (_what, text) => {
    expect(problems(text)).toEqual(['x.yaml:1:1: a runbook is a YAML mapping with at least `steps:`']);
  });
});

describe('files that are no runbook are refused before parsing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maint-src-'));

  it(`a file past ${MAX_RUNBOOK_BYTES} bytes is refused with the cap in the message, without reading it all`, () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `steps:\n${OK_STEP}${'# padding\n'.repeat(420_000)}`);
    expect(readRunbookText(file, 'big.yaml').diagnostic).toEqual({
      file: 'big.yaml', line: 1, col: 1, path: '', message: 'runbook is 4.01 MiB; maint reads runbooks up to 1 MiB (1048576 bytes)',
    });
    expect(parseRunbook('big.yaml', 'x'.repeat(MAX_RUNBOOK_BYTES + 1)).diagnostics[0]!.message).toMatch(/^runbook is 1 MiB; maint reads runbooks up to 1 MiB/);
  });

  it('bytes that are not UTF-8 are a problem at their line and column', () => {
    const bytes = Buffer.concat([Buffer.from('steps:\n  - name: "caf'), Buffer.from([0xe9]), Buffer.from('"\n')]);
    expect(decodeRunbook(bytes, 'x.yaml').diagnostic).toEqual({
      file: 'x.yaml', line: 2, col: 15, path: '', message: 'not UTF-8: byte 0xe9 at offset 21; save the runbook as UTF-8',
    });
    expect(decodeRunbook(Buffer.from('\ufeffsteps: []\n'), 'x.yaml').text).toBe('steps: []\n');
  });

  it.each([
    [[0x61, 0x62], -1],
    [[0xc3, 0xa9], -1], // é
    [[0xf0, 0x9f, 0x98, 0x80], -1], // 😀
    [[0x61, 0xff], 1],
    [[0xc0, 0xaf], 0], // overlong '/'
    [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
    [[0xe2, 0x82], 0], // cut short
    [[0xf4, 0x90, 0x80, 0x80], 0], // past U+10FFFF
  ])('firstInvalidUtf8(%j) = %i', (bytes, expected) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(expected);
  });

  it('a file read in pieces is whole, and a device that never ends is refused before any read', () => {
    const file = join(dir, 'long.yaml');
    const text = `steps:\n${OK_STEP}${'# a comment of some length\n'.repeat(10_000)}`;
    writeFileSync(file, text);
    expect(readRunbookText(file, 'long.yaml').text).toBe(text);
    expect(readRunbookText('/dev/zero', 'zero.yaml').diagnostic?.message).toBe('is a device, not a plain file; a runbook is a plain file');
  });

  it('a folder or a missing file is a problem, not a throw', () => {
    mkdirSync(join(dir, 'folder.yaml'));
    expect(readRunbookText(join(dir, 'folder.yaml'), 'folder.yaml').diagnostic?.message).toBe('is a folder, not a runbook file');
    expect(readRunbookText(join(dir, 'gone.yaml'), 'gone.yaml').diagnostic?.message).toMatch(/^cannot read: ENOENT/);
  });
});

describe('values checked where they enter', () => {
  const step = (fields: string) => `steps:\n  - name: a\n    run: "true"\n${fields}`;

  it.each([
    ['timeout: 0s', 'steps[0].timeout: a timeout must be longer than 0'],
    ['timeout: 0.1ms', 'steps[0].timeout: a timeout must be longer than 0'],
    ['timeout: 25d', 'steps[0].timeout: a timeout is at most 24d (2147483647 ms, the longest timer)'],
    ['timeout: 999999999999999999999999d', 'steps[0].timeout: not a duration: write it like 500ms, 30s, 5m, 4h or 7d'],
    ['timeout: -5s', 'steps[0].timeout: not a duration: write it like 500ms, 30s, 5m, 4h or 7d'],
    ['retry: { attempts: 2, delay: 24d21h }', 'steps[0].retry.delay: a retry delay is at most 24d (2147483647 ms, the longest timer)'],
    ['retry: { attempts: 0 }', 'steps[0].retry.attempts: attempts is at least 1'],
    ['retry: { attempts: 2.5 }', 'steps[0].retry.attempts: attempts is a whole number'],
    ['retry: { attempts: 1000000 }', 'steps[0].retry.attempts: attempts is at most 100'],
    ['rollback: { run: "true", timeout: 0s }', 'steps[0].rollback.timeout: a timeout must be longer than 0'],
    ['expect: true', 'steps[0].expect: expected an expression (a string), YAML read true as a boolean; write it as a string, e.g. "true"'],
    ['when: 1', 'steps[0].when: expected an expression (a string), YAML read 1 as a number; write it as a string, e.g. "1"'],
    ['warn: null', 'steps[0].warn: expected an expression (a string), YAML read null as a null; write it as a string, e.g. "true"'],
    ['when: { a: 1 }', 'steps[0].when: expected string, received object'],
    ['outputs: { n: 1 }', 'steps[0].outputs.n: expected an expression (a string), YAML read 1 as a number; write it as a string, e.g. "1"'],
    ['expect: exit_code + 1', 'steps[0].expect: expression: must be true or false, but it is of type int'],
    ['expect: [exit_code == 0, stdout]', 'steps[0].expect[1]: expression: must be true or false, but it is of type string'],
    ['when: \'"yes"\'', 'steps[0].when: expression: must be true or false, but it is of type string'],
    ['retry: { attempts: 24, delay: 1s, backoff: 2 }', 'steps[0].retry: the wait before try 24 grows to 1165h05m; at most 24d (2147483647 ms): lower delay, backoff or attempts'],
    ['retry: { attempts: 40, delay: 1s, backoff: 2 }', 'steps[0].retry: the wait before try 40 grows to more than 1000 days; at most 24d (2147483647 ms): lower delay, backoff or attempts'],
  ])('%s', (fields, expected) => {
    const [d] = problems(step(`    ${fields}\n`));
    expect(d?.replace(/^x\.yaml:\d+:\d+: /, '')).toBe(expected);
  });

  it.each([
    ['run: "echo a\\0b"', 'x.yaml:3:17: steps[0].run: contains a NUL byte (\\0): no command, argument or environment variable can hold one'],
    ['run: [echo, "a\\0"]', 'x.yaml:3:19: steps[0].run[1]: contains a NUL byte (\\0): no command, argument or environment variable can hold one'],
    ['run: "true"\n    env: { "A=B": x }', 'x.yaml:4:12: steps[0].env.A=B: an environment variable name cannot be empty or contain `=` or a NUL byte'],
    ['run: "true"\n    cwd: "/tmp\\0"', 'x.yaml:4:15: steps[0].cwd: contains a NUL byte (\\0): no command, argument or environment variable can hold one'],
    ['run: "true"\n    rollback: { run: [rm, "\\0"] }', 'x.yaml:4:28: steps[0].rollback.run[1]: contains a NUL byte (\\0): no command, argument or environment variable can hold one'],
  ])('%s: text for a process holds no NUL', (fields, expected) => {
    expect(problems(`steps:\n  - name: a\n    ${fields}\n`)).toEqual([expected]);
  });

  it('values that fit are accepted: json and vars are dyn, durations up to 24d, zero delays', () => {
    expect(problems(step('    retry: { attempts: 23, delay: 1s, backoff: 2 }\n'))).toEqual([]);
    expect(problems(step('    expect: json.ok\n    when: vars.x\n    timeout: 24d\n    retry: { attempts: 3, delay: 0s, backoff: 10 }\nvars: { x: true }\n'))).toEqual([]);
    expect(problems(`defaults:\n  kill_grace: 0s\n  timeout: 1ms\n${step('')}`)).toEqual([]);
  });

  it('puts the problem at the value, in defaults too', () => {
    expect(problems(`defaults:\n  timeout: 0s\n  kill_grace: 30d\n${step('')}`)).toEqual([
      'x.yaml:2:12: defaults.timeout: a timeout must be longer than 0',
      'x.yaml:3:15: defaults.kill_grace: kill_grace is at most 24d (2147483647 ms, the longest timer)',
    ]);
    expect(problems(`defaults:\n  retry: { attempts: 100, delay: 1m, backoff: 2 }\n${step('')}`)).toEqual([
      'x.yaml:2:10: defaults.retry: the wait before try 100 grows to more than 1000 days; at most 24d (2147483647 ms): lower delay, backoff or attempts',
    ]);
  });

  it('parseDuration refuses what no duration means', () => {
    expect(parseDuration('9'.repeat(400) + 'd')).toBeNull();
    expect(parseDuration('24d')).toBe(2_073_600_000);
  });
});

describe('templates that reach the run are checked statically', () => {
  it.each([
    ['name', '  - name: "Deploy {{ vars.image"\n    run: "true"\n', /steps\[0\]\.name: /],
    ['manual', '  - name: a\n    manual: "{{ nope }}"\n', /steps\[0\]\.manual: \{\{ nope \}\}: unknown name "nope"/],
    ['confirm', '  - name: a\n    run: "true"\n    confirm: "{{ steps.b.stdout }}"\n  - { name: b, run: "true" }\n', /steps\[0\]\.confirm: step "b" has not run at this point/],
    ['cwd', '  - name: a\n    run: "true"\n    cwd: "{{ steps.zz.stdout }}"\n', /steps\[0\]\.cwd: no step with id "zz"/],
    ['env', '  - name: a\n    run: "true"\n    env: { X: "{{ stdout }}" }\n', /steps\[0\]\.env\.X: `stdout` is only known after the command runs/],
    ['rollback', '  - name: a\n    run: "true"\n    rollback: { manual: "undo {{ vars.nope }}" }\n', /steps\[0\]\.rollback\.manual: `vars\.nope` is not declared/],
    ['runbook env', '  - { name: a, run: "true" }\nenv: { X: "{{ steps.a.stdout }}" }\n', /env\.X: `steps` cannot be read here: this value is resolved before the run starts/],
  ])('%s', (_field, steps, expected) => {
    const out = problems(`steps:\n${steps}`);
    expect(out.length).toBeGreaterThan(0);
    expect(out.join('\n')).toMatch(expected);
    for (const d of out) expect(d).toMatch(/^x\.yaml:[1-9]\d*:[1-9]\d*: /);
  });
});

describe('one pass: schema and semantic problems together', () => {
  it('a schema problem no longer hides the semantic ones; all sorted by position', () => {
    const text = `steps:
  - name: a
    run: "true"
    timeout: 0s
    expect: stdut == ""
  - name: b
    run: echo {{ vars.nope }}
    retry: { attempts: 0 }
  - name: c
    run: echo {{ steps.d.stdout }}
  - name: d
    run: "true"
    bogus: 1
`;
    expect(problems(text)).toEqual([
      'x.yaml:4:14: steps[0].timeout: a timeout must be longer than 0',
      'x.yaml:5:13: steps[0].expect: expression: unknown name "stdut"; did you mean "stdout"?',
      'x.yaml:7:10: steps[1].run: `vars.nope` is not declared under vars:',
      'x.yaml:8:24: steps[1].retry.attempts: attempts is at least 1',
      'x.yaml:10:10: steps[2].run: step "d" has not run at this point; a step can read only the steps before it',
      'x.yaml:13:5: steps[3].bogus: unknown field "bogus"',
    ]);
  });

  it('steps without a usable name are not reported as duplicates of each other', () => {
    const out = problems('steps:\n  - run: "true"\n  - run: "true"\n  - 5\n');
    expect(out.filter((d) => d.includes('duplicate'))).toEqual([]);
    expect(out.length).toBe(3);
  });
});

describe('includes', () => {
  const lib = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'maint-inc-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return new RunbookLibrary([dir], join(dir, 'none'));
  };
  const chain = (n: number): Record<string, string> => {
    const files: Record<string, string> = {};
    for (let i = 0; i < n; i++) files[`c${i}.yaml`] = `steps:\n  - name: s${i}\n    runbook: c${i + 1}\n`;
    files[`c${n}.yaml`] = `steps:\n${OK_STEP}`;
    return files;
  };
  const validate = (l: RunbookLibrary, name: string) => l.loadTree(l.find(name)!).diagnostics.map(formatDiagnostic);

  it(`nested ${MAX_INCLUDE_DEPTH} deep is fine; one more is an error naming the chain, where it starts`, () => {
    const l = lib(chain(MAX_INCLUDE_DEPTH + 1));
    expect(validate(l, 'c1')).toEqual([]);
    // The planner expands all of a chain validate accepts: the leaf's step is in the plan.
    const tree = l.loadTree(l.find('c1')!);
    const { plan, diagnostics } = buildPlan({ root: tree.root!, runbooks: tree.runbooks, sources: { explicit: {}, file: {}, env: {}, config: {} } });
    expect(diagnostics).toEqual([]);
    let step = plan!.steps[0]!;
    while (step.kind === 'include') step = step.children[0]!;
    expect(step.qid).toBe(`${Array.from({ length: MAX_INCLUDE_DEPTH }, (_, i) => `s${i + 1}`).join('.')}.a`);
    const [d, ...rest] = validate(l, 'c0');
    expect(rest).toEqual([]);
    expect(d).toMatch(/c0\.yaml:3:14: steps\[0\]\.runbook: includes nest 21 deep, past the limit of 20: c0 → c1 → c2 → .* → c20 → c21$/);
  });

  it('depth counts the longest way through a runbook included twice', () => {
    const files = chain(MAX_INCLUDE_DEPTH + 1);
    // root includes c20 first (short way), then c0 (the long way to the same file)
    files['root.yaml'] = 'steps:\n  - { name: short, runbook: c20 }\n  - { name: long, runbook: c1 }\n';
    expect(validate(lib(files), 'root')).toEqual([expect.stringMatching(/root\.yaml:3:28: steps\[1\]\.runbook: includes nest 21 deep/)]);
  });

  it('a cycle through a piece named two ways is a cycle, not endless', () => {
    const l = lib({ '_p.yaml': 'steps:\n  - name: again\n    runbook: _p\n', 'r.yaml': 'steps:\n  - name: p\n    runbook: p\n' });
    expect(validate(l, 'r')).toEqual([expect.stringMatching(/_p\.yaml:3:14: steps\[0\]\.runbook: include cycle: r → p → _p/)]);
  });

  it("an include's vars are resolved before the run: no steps, no now", () => {
    const l = lib({
      'piece.yaml': `vars: { x: 1, y: 2 }\nsteps:\n${OK_STEP}`,
      'r.yaml': 'steps:\n  - { name: a, run: "true" }\n  - name: p\n    runbook: piece\n    vars: { x: "{{ steps.a.stdout }}", y: "{{ now }}" }\n',
    });
    const out = validate(l, 'r');
    expect(out).toEqual([
      expect.stringMatching(/r\.yaml:5:\d+: steps\[1\]\.vars\.x: `steps` cannot be read here/),
      expect.stringMatching(/r\.yaml:5:\d+: steps\[1\]\.vars\.y: `now` cannot be read here/),
    ]);
  });

  it('a runbook the schema refuses is not a root to plan, but its includes are still checked', () => {
    const l = lib({ 'piece.yaml': `vars: { x: 1 }\nsteps:\n${OK_STEP}`, 'r.yaml': 'title: 5\nsteps:\n  - { name: p, runbook: piece, vars: { xx: 1 } }\n' });
    const tree = l.loadTree(l.find('r')!);
    expect(tree.root).toBeNull();
    expect(tree.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/r\.yaml:1:8: title: expected string/),
      expect.stringMatching(/r\.yaml:3:\d+: steps\[0\]\.vars\.xx: runbook "piece" declares no var "xx"; did you mean "x"\?/),
    ]);
  });
});

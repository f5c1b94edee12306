/**
 * Only the YAML core schema's plain values enter maint: a tagged value (`!!set`, `!!timestamp`,
 * …) used to become a Set or a Date that rendered into a command as '' and ran.
 */
import { describe, expect, it } from 'vitest';
import { parseYamlSource } from '../../../src/runbook/yaml-source.js';

const errorsOf = (text: string) => parseYamlSource('f.yaml', text).errors.map((e) => `${e.line}:${e.col}: ${e.message}`);

describe('YAML tags outside the core schema', () => {
  it.each([
    ['dir: !!set {a, b}', '!!set'],
    ['when: !!timestamp 2026-01-01', '!!timestamp'],
    ['m: !!omap [{a: 1}]', '!!omap'],
    ['p: !!pairs [{a: 1}]', '!!pairs'],
    ['b: !!binary aGk=', '!!binary'],
    ['l: !local x', '!local'],
    ['!!timestamp 2026-01-01: 1', '!!timestamp'],
  ])('%s is a positioned error naming %s', (text, tag) => {
    const source = parseYamlSource('f.yaml', `x: 1\n${text}\n`);
    expect(source.data).toBeUndefined();
    expect(source.errors).toHaveLength(1);
    // At the tag itself.
    expect(source.errors[0]).toMatchObject({ file: 'f.yaml', line: 2, col: text.indexOf('!') + 1 });
    expect(source.errors[0]!.message).toContain(`tag ${tag} is not supported`);
  });

  it('reports every tagged value at once, each at its tag', () => {
    expect(errorsOf('a: !!set {a}\nb: [1, !!timestamp 2026-01-01]\nc: &x !!binary aGk=\nd: !!omap # a comment!\n  - a: 1\n')).toEqual([
      '1:4: YAML: the tag !!set is not supported: write a plain string, number, true/false, null, list or mapping',
      '2:8: YAML: the tag !!timestamp is not supported: write a plain string, number, true/false, null, list or mapping',
      '3:7: YAML: the tag !!binary is not supported: write a plain string, number, true/false, null, list or mapping',
      '5:3: YAML: the tag !!omap is not supported: write a plain string, number, true/false, null, list or mapping',
    ]);
  });

  it.each([
    ['a: !!str 1', { a: '1' }],
    ['a: !!int "3"', { a: 3 }],
    ['a: !!float 1.5', { a: 1.5 }],
    ['a: !!bool true', { a: true }],
    ['a: !!null ""', { a: null }],
    ['a: !!map {b: 1}', { a: { b: 1 } }],
    ['a: !!seq [1]', { a: [1] }],
    ['a: 2026-01-01', { a: '2026-01-01' }],
  ])('%s stays plain data', (text, data) => {
    expect(parseYamlSource('f.yaml', text).data).toEqual(data);
  });

  it('a %YAML 1.1 directive does not bring back dates, 0b numbers or merge keys', () => {
    const source = parseYamlSource('f.yaml', '%YAML 1.1\n---\na: 2026-01-01\nb: 0b11\nc: {<<: {x: 1}}\n');
    expect(source.data).toEqual({ a: '2026-01-01', b: '0b11', c: { '<<': { x: 1 } } });
  });
});

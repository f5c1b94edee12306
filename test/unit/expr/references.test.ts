import { describe, expect, it } from 'vitest';
import { ExprError, references } from '../../../src/expr/cel.js';

const sorted = (s: Set<string>) => [...s].sort();

describe('references', () => {
  it('lists free roots, not comprehension variables', () => {
    const r = references('json.items.all(c, c.x)');
    expect(sorted(r.roots)).toEqual(['json']);
  });

  it('finds steps and vars read by member or index', () => {
    const r = references('steps.disk.outputs.used_pct < vars["limit"]');
    expect(sorted(r.roots)).toEqual(['steps', 'vars']);
    expect(sorted(r.steps)).toEqual(['disk']);
    expect(sorted(r.vars)).toEqual(['limit']);
  });

  it('walks nested comprehensions, macros and binds', () => {
    const r = references(
      'json.items.filter(c, c.ok && c.n > vars.min).exists(d, d.name == steps["list-pods"].stdout) && ' +
        'cel.bind(t, timestamp(vars.deadline), now < t) && has(steps.prep.outputs.x) && ' +
        '[vars.a, {"k": vars.b}][0] != "" && -attempt < 0 && !(exit_code == 0 ? true : stdout == "")',
    );
    expect(sorted(r.roots)).toEqual(['attempt', 'exit_code', 'json', 'now', 'stdout', 'steps', 'vars']);
    expect(sorted(r.steps)).toEqual(['list-pods', 'prep']);
    expect(sorted(r.vars)).toEqual(['a', 'b', 'deadline', 'min']);
  });

  it('treats a comprehension variable as bound only inside its macro', () => {
    const r = references('json.all(c, c) && c');
    expect(sorted(r.roots)).toEqual(['c', 'json']);
    // cel.bind's initializer is outside the binding
    expect(sorted(references('cel.bind(x, x, x)').roots)).toEqual(['x']);
  });

  it('ignores shadowed steps and vars, dynamic indexes and library constants', () => {
    const r = references('[1].all(vars, vars.x == 1) && steps[stdout].status == "ok" && google.protobuf.Duration == type(duration)');
    expect(sorted(r.roots)).toEqual(['duration', 'stdout', 'steps']);
    expect(r.vars.size).toBe(0);
    expect(r.steps.size).toBe(0);
  });

  it('reports unknown names without type checking', () => {
    expect(sorted(references('stdut == "" && vars.x').roots)).toEqual(['stdut', 'vars']);
  });

  it('throws ExprError on syntax errors', () => {
    expect(() => references('a +')).toThrow(ExprError);
  });
});

/**
 * Whatever a command prints, evaluating an expression over it either yields a value or throws an
 * ExprError with a message: never another error type, which the executor would take for a bug.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, ExprError } from '../../../src/expr/cel.js';

const EXPRESSIONS = [
  'json.a + 1', 'json.a / json.b', 'json.a % json.b', 'json[0]', 'size(json)', 'json.a.b.c', 'int(json.a)', 'double(json.a)',
  'json.a.split(",")', 'json.all(x, x > 0)', 'json.a.matches("[")', 'string(json)', 'duration(json.a)', 'timestamp(json.a)',
  'json.a < json.b', 'json.a == json.b', 'json.a in json.b', 'has(json.a) && json.a > 0', 'json.?a.orValue(0) + 1',
  'json.map(x, x * 2)', 'json.a.size() > 0', 'int(stdout.trim())', 'stdout.split("|")[3]', 'json.a.lowerAscii()',
];

describe('evaluation over any JSON is a value or an ExprError', () => {
  it.each(EXPRESSIONS)('%s', (source) => {
    const expr = compile(source);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 20 }), (json, stdout) => {
        try {
          expr.evaluate({ json, stdout, vars: {}, env: {} });
        } catch (err) {
          expect(err).toBeInstanceOf(ExprError);
          expect((err as ExprError).message).toMatch(/\S/);
        }
      }),
      { numRuns: 150 },
    );
  });
});

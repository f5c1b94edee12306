import { describe, expect, it } from 'vitest';
import { celDuration, compile, formatDuration, toCel, toPlain, toText } from '../../../src/expr/cel.js';

describe('toCel', () => {
  it('turns integral numbers into bigint and keeps doubles', () => {
    expect(toCel(5)).toBe(5n);
    expect(toCel(-0)).toBe(0n);
    expect(toCel(2.5)).toBe(2.5);
    expect(toCel(1e300)).toBe(1e300);
    expect(toCel(Number.NaN)).toBeNaN();
  });

  it('converts arrays and objects recursively, keeps dates and drops undefined entries', () => {
    const d = new Date('2024-01-01T00:00:00Z');
    const out = toCel({ a: [1, 'x', { b: 2.5 }], d, u: undefined, n: null }) as Record<string, unknown>;
    expect({ ...out }).toEqual({ a: [1n, 'x', Object.assign(Object.create(null), { b: 2.5 })], d, n: null });
    expect(out.d).toBe(d);
    expect('u' in out).toBe(false);
  });

  it('keeps a JSON "__proto__" key as data', () => {
    const out = toCel(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBeNull();
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(compile('json["__proto__"].x == 1').evaluate({ json: JSON.parse('{"__proto__": {"x": 1}}') })).toBe(true);
  });

  it('is idempotent', () => {
    const once = toCel({ a: [1, 2.5] });
    expect(toCel(once)).toEqual(once);
  });
});

describe('toPlain', () => {
  it('converts CEL values to JSON-able values', () => {
    expect(toPlain(42n)).toBe(42);
    expect(toPlain(2n ** 60n)).toBe('1152921504606846976');
    expect(toPlain(new Date('2024-01-01T00:00:00Z'))).toBe('2024-01-01T00:00:00.000Z');
    expect(toPlain(celDuration(5_400_000))).toBe('1h30m');
    expect(toPlain([1n, { a: 2n, b: [true, null] }])).toEqual([1, { a: 2, b: [true, null] }]);
    expect(toPlain(new Map([[1n, 'a']]))).toEqual({ 1: 'a' });
    expect(toPlain(compile('1u').evaluate({}))).toBe(1);
    expect(toPlain(compile('b"hi"').evaluate({}))).toBe('hi');
    expect(toPlain(compile('type(1)').evaluate({}))).toBe('int');
  });
});

describe('toText', () => {
  it('renders values for templates', () => {
    expect(toText('a b')).toBe('a b');
    expect(toText(42n)).toBe('42');
    expect(toText(2.5)).toBe('2.5');
    expect(toText(true)).toBe('true');
    expect(toText(null)).toBe('');
    expect(toText(['a', 1n])).toBe('["a",1]');
    expect(toText({ a: 1n })).toBe('{"a":1}');
    expect(toText(new Date('2024-01-01T00:00:00Z'))).toBe('2024-01-01T00:00:00.000Z');
    expect(toText(celDuration(5_400_000))).toBe('1h30m');
  });
});

describe('formatDuration', () => {
  const fmt = (src: string) => toText(compile(src).evaluate({}));

  it('writes Go-style text without zero units', () => {
    expect(fmt('duration("0s")')).toBe('0s');
    expect(fmt('duration("90s")')).toBe('1m30s');
    expect(fmt('duration("1h30m")')).toBe('1h30m');
    expect(fmt('duration("2h")')).toBe('2h');
    expect(fmt('duration("1.5s")')).toBe('1.5s');
    expect(fmt('duration("250ms")')).toBe('250ms');
    expect(fmt('duration("1.5ms")')).toBe('1.5ms');
    expect(fmt('duration("3us")')).toBe('3us');
    expect(fmt('duration("7ns")')).toBe('7ns');
    expect(fmt('duration("-1.5s")')).toBe('-1.5s');
    expect(fmt('duration("1h") - duration("1h30m")')).toBe('-30m');
    expect(formatDuration({ seconds: 3723n, nanos: 500_000_000 })).toBe('1h2m3.5s');
  });

  it('round-trips through duration()', () => {
    for (const ms of [1, 999, 1000, 61_500, 3_600_000, 90_061_001]) {
      const text = toText(celDuration(ms));
      expect(compile(`duration("${text}") == duration`).evaluate({ duration: celDuration(ms) })).toBe(true);
    }
  });
});

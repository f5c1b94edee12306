/** `json` in expressions: stdout as JSON, else YAML, else null, in bounded time and memory. */
import { describe, expect, it } from 'vitest';
import { MAX_YAML_BYTES, parseStructured } from '../../../src/exec/context.js';

describe('parseStructured', () => {
  it.each([
    ['', null],
    ['  {"a": 1}\n', { a: 1 }],
    ['[1, 2]', [1, 2]],
    ['"text"', 'text'],
    ['items:\n  - name: db\n    ready: true\n', { items: [{ name: 'db', ready: true }] }],
    ['just words', null], // YAML reads a scalar: not structured
    ['{"a":1}\n{"a":2}\n', null], // NDJSON: starts like JSON, is not JSON, never tried as YAML
    ['[1,\n', null],
    ['a: &x [1]\nb: *x\n', { a: [1], b: [1] }],
  ])('%j → %j', (text, value) => expect(parseStructured(text)).toEqual(value));

  it('does not try YAML on more than MAX_YAML_BYTES of stdout', () => {
    const big = `items:\n${'  - x\n'.repeat(MAX_YAML_BYTES / 6 + 1)}`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX_YAML_BYTES);
    expect(parseStructured(big)).toBeNull();
    expect(parseStructured(big.slice(0, 1000))).toMatchObject({ items: expect.any(Array) });
  });

  it('5 MB of NDJSON is null at once (it took 62 s and 4 GB as YAML)', () => {
    const ndjson = '{"a":1}\n'.repeat(5_000_000 / 8);
    // Generous for a loaded machine: the old path took a minute; JSON.parse failing takes milliseconds.
    const t0 = performance.now();
    expect(parseStructured(ndjson)).toBeNull();
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});

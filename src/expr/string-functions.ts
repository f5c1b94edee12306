/**
 * String functions from CEL's `strings` extension that
 * @marcbachmann/cel-js does not ship. The library already provides
 * `contains`, `startsWith`, `endsWith`, `matches`, `size`, `trim`,
 * `lowerAscii`, `upperAscii`, `indexOf`, `lastIndexOf`, `substring`,
 * `split` and `list<string>.join`.
 */
import type { Environment } from '@marcbachmann/cel-js';

/** Register `replace`, `charAt` and `reverse` on string receivers. */
export function registerStringFunctions(env: Environment): void {
  env
    .registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) =>
      replaceN(s, from, to, -1),
    )
    .registerFunction('string.replace(string, string, int): string', (s: string, from: string, to: string, n: bigint) =>
      replaceN(s, from, to, Number(n)),
    )
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => charAt(s, Number(i)))
    .registerFunction('string.reverse(): string', (s: string) => Array.from(s).reverse().join(''));
}

/**
 * Replace the first `n` occurrences of `from` by `to` (all when `n < 0`),
 * with the semantics of cel-go: an empty `from` matches before every code
 * point and at the end.
 */
export function replaceN(s: string, from: string, to: string, n: number): string {
  if (n === 0) return s;
  const limit = n < 0 ? Infinity : n;
  if (from === '') {
    const chars = Array.from(s);
    let out = '';
    for (let i = 0; i <= chars.length; i++) {
      if (i < limit) out += to;
      if (i < chars.length) out += chars[i];
    }
    return out;
  }
  let out = '';
  let pos = 0;
  for (let count = 0; count < limit; count++) {
    const at = s.indexOf(from, pos);
    if (at < 0) break;
    // Concatenation, not String.replace: `$&` in `to` must stay literal.
    out += s.slice(pos, at) + to;
    pos = at + from.length;
  }
  return out + s.slice(pos);
}

// cel-go: index in code points, and `size()` (one past the end) yields "".
function charAt(s: string, i: number): string {
  const chars = Array.from(s);
  if (i < 0 || i > chars.length) throw new RangeError(`charAt: index ${i} out of range`);
  return chars[i] ?? '';
}

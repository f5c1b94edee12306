/**
 * Secret masking: replaces secret values — and the encoded forms tools print them in — with `***`
 * in anything that could be printed or written.
 *
 * Semantics (shared by {@link Masker.mask} and the chunked {@link StreamMasker}, see
 * `stream-mask.ts`): every occurrence of every form is found, overlapping ones included; a character
 * is *covered* when some occurrence contains it; each maximal run of covered characters becomes one
 * `***`. So two overlapping secrets (`abcdef` and `defghi` in `abcdefghi`) are hidden whole — a
 * "leftmost match wins" or "longest secret wins" replacement would leave part of one of them visible.
 * Adjacent occurrences (`s3cr3ts3cr3t`) merge into a single `***`, which also hides how many there were.
 */

/** Values (and encoded forms) shorter than this are not masked: masking `1` or `ab` would garble all output. */
export const MIN_LENGTH = 4;

/** What a covered run of characters is replaced with. */
export const MASK = '***';

/**
 * How many leading characters of each form the pattern searches for; the rest is compared where
 * they matched. A pattern of whole forms grew with every secret, and past V8's size for optimised
 * patterns a long secret (a PEM key) made masking 4 MiB of output take over a second.
 */
const KEY_LENGTH = 16;

/**
 * Every form in which `secret` is masked, longest first, without duplicates; empty when `secret` is
 * shorter than {@link MIN_LENGTH}. Every form has at least MIN_LENGTH characters (a shorter one would
 * match noise).
 *
 * - the value itself;
 * - base64 of its UTF-8 bytes: standard and URL-safe alphabet, padded and unpadded;
 * - the aligned base64 *cores*: inside a longer base64 blob (`Basic base64(user:pass)`, a base64'd
 *   config file) the secret starts 0, 1 or 2 bytes after a 3-byte group boundary, and each alignment
 *   encodes differently. For prefix length k, the characters that depend only on the secret's bits are
 *   `base64(k bytes + secret)[ceil(8k/6) .. floor(8(k+n)/6))` — the leading chars mix in prefix bits,
 *   the trailing partial char mixes in suffix bits, so both are dropped (they reveal at most 4 bits each);
 * - percent-encoded (UTF-8) as each common encoder writes it, see {@link PERCENT_ENCODERS}: the
 *   encoders disagree on which characters they keep (`/` by Python's `quote()`, `!'()*` by
 *   `encodeURIComponent`, `*` by `URLSearchParams`), on space (`%20` or `+`), and some write
 *   lower-case hex digits;
 * - JSON-string-escaped (what `JSON.stringify`/`jq` print for a value with `"`, `\` or control chars),
 *   plus the `\/` variant, the ASCII-only `\uXXXX` variant (Python's `json.dumps`) and both (PHP);
 * - shell-quoted, as a `'`-quoted word shows a secret that contains `'`: `'\''` (bash `set -x`, our
 *   own command display) and `'"'"'` (Python's `shlex.quote`);
 * - XML/HTML-escaped (`&amp;`, `&lt;`, `&gt;`, `&quot;`/`&#34;`, `&apos;`/`&#39;`/`&#x27;`), as an HTML error
 *   page or an XML API echoes a value back.
 *
 * Not covered: encodings of encodings, MIME base64 wrapped across lines, percent-escapes with mixed
 * case hex digits.
 */
export function maskingForms(secret: string): string[] {
  if (secret.length < MIN_LENGTH) return [];
  const forms = new Set<string>([secret]);
  const bytes = Buffer.from(secret, 'utf8');
  const n = bytes.length;

  const std = bytes.toString('base64');
  const urlSafe = (b64: string): string => b64.replace(/\+/g, '-').replace(/\//g, '_');
  forms.add(std);
  forms.add(std.replace(/=+$/, ''));
  forms.add(urlSafe(std));
  forms.add(urlSafe(std).replace(/=+$/, ''));
  for (let k = 0; k < 3; k++) {
    const shifted = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const core = shifted.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + n)) / 6));
    forms.add(core);
    forms.add(urlSafe(core));
  }

  for (const keep of Object.values(PERCENT_ENCODERS)) {
    for (const space of ['%20', '+'] as const) {
      const upper = percentEncode(secret, keep, space);
      forms.add(upper);
      forms.add(upper.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
    }
  }

  const json = JSON.stringify(secret).slice(1, -1);
  const asciiOnly = (j: string): string => j.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const slashEscaped = json.replace(/\//g, '\\/');
  forms.add(json);
  forms.add(slashEscaped);
  forms.add(asciiOnly(json));
  forms.add(asciiOnly(slashEscaped)); // PHP's json_encode default: both

  forms.add(secret.replaceAll("'", "'\\''"));
  forms.add(secret.replaceAll("'", `'"'"'`));
  const xml = secret.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  // Escapers disagree on quotes: `&quot;` or `&#34;` (Go), `&apos;`, `&#39;` (lodash, Go) or `&#x27;` (Python's html.escape).
  for (const quot of ['&quot;', '&#34;']) {
    for (const apos of ['&apos;', '&#39;', '&#x27;']) forms.add(xml.replaceAll('"', quot).replaceAll("'", apos));
  }

  // No form is shorter than the value itself (encodings only add characters; the shortest base64
  // core of 4 bytes has 4 characters), so none is shorter than MIN_LENGTH.
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * The characters each common percent-encoder leaves as they are (everything else is written as
 * `%XX` per UTF-8 byte). Each is masked with `%20` and with `+` for space, and with upper- and
 * lower-case hex digits.
 */
export const PERCENT_ENCODERS: Readonly<Record<string, RegExp>> = {
  /** JavaScript's `encodeURIComponent`. */
  encodeURIComponent: /[A-Za-z0-9\-_.!~*'()]/,
  /** Python's `urllib.parse.quote()` with its default `safe='/'`. */
  pythonQuote: /[A-Za-z0-9\-_.~/]/,
  /** RFC 3986 unreserved only: Python's `quote(safe='')` and `quote_plus()`, Go's `QueryEscape`, curl's `--data-urlencode`. */
  unreserved: /[A-Za-z0-9\-_.~]/,
  /** `URLSearchParams` / application/x-www-form-urlencoded as the WHATWG URL standard writes it. */
  form: /[A-Za-z0-9\-_.*]/,
  /** JavaScript's `encodeURI` (a whole URL with the secret in it): keeps the reserved characters too. */
  encodeURI: /[A-Za-z0-9\-_.!~*'();/?:@&=+$,#]/,
};

/** `s` percent-encoded byte by byte (upper-case hex), keeping the characters `keep` matches, with `space` for ' '. */
export function percentEncode(s: string, keep: RegExp, space: '%20' | '+'): string {
  let out = '';
  for (const ch of s) {
    if (ch === ' ') out += space;
    else if (keep.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Where a scan stopped: what {@link maskSpan} needs to continue exactly where it left off. */
export interface MaskState {
  /** How many characters at the start of the next text are already covered by an earlier occurrence. */
  carry: number;
  /** Whether the last character emitted so far was covered (so a run continuing into the next text is the same `***`). */
  prevCovered: boolean;
}

/** Replaces secret values with `***` in anything that could be printed or written. */
export class Masker {
  /** Values shorter than this are not masked: masking `1` or `ab` would garble all output. */
  static readonly MIN_LENGTH = MIN_LENGTH;

  /** Every form of every secret, longest first. */
  private readonly forms: string[];
  /** Forms by their first {@link KEY_LENGTH} characters (the whole form when shorter), longest first. */
  private readonly byKey = new Map<string, string[]>();
  /** Finds where a form may start: the keys as one pattern (see {@link trieSource}), its match the longest key there. */
  private readonly pattern: RegExp | undefined;
  /** Length of the longest form (0 when there is nothing to mask). */
  readonly maxFormLength: number;

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const s of new Set(secrets)) for (const f of maskingForms(s)) forms.add(f);
    // Longest first, so a form that contains another is found whole.
    this.forms = [...forms].sort((a, b) => b.length - a.length);
    this.maxFormLength = this.forms[0]?.length ?? 0;
    for (const f of this.forms) {
      const key = f.slice(0, KEY_LENGTH);
      const list = this.byKey.get(key);
      if (list) list.push(f);
      else this.byKey.set(key, [f]);
    }
    this.pattern = this.forms.length ? new RegExp(trieSource([...this.byKey.keys()]), 'g') : undefined;
  }

  mask(text: string): string {
    if (!this.pattern) return text;
    return maskSpan(this, text, text.length, { carry: 0, prevCovered: false }).out;
  }

  get empty(): boolean {
    return this.forms.length === 0;
  }

  /**
   * Calls `found(start, end)` for the longest form occurrence starting at each position `< limit` of
   * `text` that has one, in increasing order of `start`. Callers must pass a `limit` such that every
   * position below it has its whole window (`maxFormLength` chars, or the end of the input) in `text`.
   * @internal shared by {@link maskSpan}; not part of the public API.
   */
  scan(text: string, limit: number, found: (start: number, end: number) => void): void {
    const re = this.pattern;
    if (!re) return;
    re.lastIndex = 0;
    for (let m = re.exec(text); m && m.index < limit; m = re.exec(text)) {
      const length = this.longestAt(text, m.index, m[0]);
      if (length > 0) found(m.index, m.index + length);
      // Continue right after the start, not after the end: an overlapping occurrence must be found too.
      re.lastIndex = m.index + 1;
    }
  }

  /**
   * The length of the longest form at `at`, where `key` (the longest key there) matched; 0 if none.
   * A form under `key` is longer than any form under a shorter key (a key shorter than KEY_LENGTH is
   * a whole form), so those are tried first, then the shorter keys that `key` starts with.
   */
  private longestAt(text: string, at: number, key: string): number {
    for (const f of this.byKey.get(key)!) if (text.startsWith(f, at)) return f.length;
    for (let n = key.length - 1; n >= MIN_LENGTH; n--) if (this.byKey.has(key.slice(0, n))) return n;
    return 0;
  }
}

/**
 * Masks the first `safe` characters of `text`, given the state the previous call left (`state` is
 * updated for the next call, which must receive `text.slice(safe)` followed by whatever comes next).
 * Every position below `safe` must have its whole window in `text` (see {@link Masker.scan}).
 * Returns the masked output for `text.slice(0, safe)`.
 */
export function maskSpan(masker: Masker, text: string, safe: number, state: MaskState): { out: string } {
  let out = '';
  let cursor = 0; // next character of text not yet accounted for in `out`
  let runStart = -1;
  let runEnd = -1;
  let coveredEnd = state.carry; // furthest character covered by any occurrence seen (exclusive)
  let lastCovered = state.prevCovered; // whether the character before `cursor` was covered

  const closeRun = (): void => {
    if (runStart < 0) return;
    const s = runStart;
    const e = Math.min(runEnd, safe);
    out += text.slice(cursor, s);
    // A run that starts at 0 while the previous output ended covered is the continuation of that run.
    if (!(s === 0 && state.prevCovered)) out += MASK;
    cursor = e;
    lastCovered = true;
  };
  const add = (start: number, end: number): void => {
    if (runStart >= 0 && start <= runEnd) {
      runEnd = Math.max(runEnd, end); // overlapping or touching: same run
    } else {
      closeRun();
      runStart = start;
      runEnd = end;
    }
    coveredEnd = Math.max(coveredEnd, end);
  };

  if (state.carry > 0 && safe > 0) add(0, state.carry);
  masker.scan(text, safe, add);
  closeRun();
  if (cursor < safe) {
    out += text.slice(cursor, safe);
    lastCovered = false;
  }
  state.carry = Math.max(0, coveredEnd - safe);
  state.prevCovered = safe > 0 ? lastCovered : state.prevCovered;
  return { out };
}

/**
 * A regular expression source matching exactly the given strings, written as a trie: shared
 * prefixes once, then an alternation of the characters that follow. A flat `a|b|c` of the forms
 * is tried form by form at every position of the text, and the encoded forms share long prefixes
 * (`user%40`, `user@`…), so it got slower with every form added; the trie decides on one character
 * at a time. A form that is a prefix of a longer one becomes a greedy optional tail, so the match at
 * a position is the longest form there (at most one branch can match the next character).
 * Works on UTF-16 code units, as the pattern (without the `u` flag) does.
 */
export function trieSource(forms: readonly string[]): string {
  // Sorted by UTF-16 code units, the strings under one trie node are a contiguous range, and a
  // string that ends at the node comes first in it: the trie is walked without being built (a node
  // per character made a long secret, a PEM key, slow to prepare).
  const sorted = [...new Set(forms)].sort((a, b) => (a < b ? -1 : 1)); // no two are equal
  /** The pattern for sorted[lo..hi), which share their first `depth` characters. */
  const emit = (lo: number, hi: number, depth: number): string => {
    const end = sorted[lo]!.length === depth;
    if (end) lo++;
    if (lo === hi) return '';
    // Characters all of them share from here: written out, no group (recursing per character
    // would overflow the stack on a secret thousands of characters long).
    const first = sorted[lo]!;
    const last = sorted[hi - 1]!;
    let k = depth;
    while (k < first.length && k < last.length && first[k] === last[k]) k++;
    let body: string;
    if (k > depth) body = escapeRegExp(first.slice(depth, k)) + emit(lo, hi, k);
    else {
      const alts: string[] = [];
      for (let i = lo; i < hi; ) {
        const ch = sorted[i]![depth]!;
        let j = i + 1;
        while (j < hi && sorted[j]![depth] === ch) j++;
        alts.push(escapeRegExp(ch) + emit(i, j, depth + 1));
        i = j;
      }
      // At least two: had they all shared the next character, it would be part of the run above.
      body = `(?:${alts.join('|')})`;
    }
    return end ? `(?:${body})?` : body;
  };
  return sorted.length ? emit(0, sorted.length, 0) : '';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * `value` with every string in it masked, object keys included (a key can be built from a value:
 * `{{ vars.token }}: 1`); numbers, booleans and bigints that *print as* a secret (a numeric PIN
 * given to a `secret: true` var) become `***`. Returns a new value; `value` is not changed.
 */
export function maskDeep(value: unknown, masker: Masker): unknown {
  if (masker.empty) return value;
  if (typeof value === 'string') return masker.mask(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    const text = String(value);
    return masker.mask(text) === text ? value : MASK;
  }
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, masker));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [masker.mask(k), maskDeep(v, masker)]));
  }
  return value;
}

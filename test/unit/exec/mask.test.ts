import { describe, expect, it } from 'vitest';
import { MASK, Masker, maskDeep, MIN_LENGTH, maskingForms, percentEncode, PERCENT_ENCODERS, trieSource } from '../../../src/exec/mask.js';
import { StreamMasker } from '../../../src/exec/stream-mask.js';
import { isSecretEnvName, SECRET_ENV_NAMES, secretsFromEnv } from '../../../src/exec/secret-env.js';

/** Deterministic PRNG (mulberry32), so a failing chunking can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Independent reference for the masking semantics: mark every character inside any occurrence
 * (overlapping ones included) of any form, then replace each maximal marked run with `***`.
 */
function referenceMask(secrets: string[], text: string): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const s of secrets) {
    for (const f of maskingForms(s)) {
      for (let i = text.indexOf(f); i >= 0; i = text.indexOf(f, i + 1)) covered.fill(true, i, i + f.length);
    }
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += MASK;
  }
  return out;
}

/**
 * Whether any `window`-byte run of `secret` can be read back from base64 fragments left in `masked`:
 * each fragment between masks is decoded at every character offset, in both alphabets.
 */
function base64Reveals(masked: string, secret: string, window = 3): boolean {
  const bytes = Buffer.from(secret, 'utf8');
  const needles: Buffer[] = [];
  for (let i = 0; i + window <= bytes.length; i++) needles.push(bytes.subarray(i, i + window));
  for (const piece of masked.split(MASK)) {
    for (let drop = 0; drop < 4; drop++) {
      for (const enc of ['base64', 'base64url'] as const) {
        const decoded = Buffer.from(piece.slice(drop), enc);
        if (needles.some((n) => decoded.includes(n))) return true;
      }
    }
  }
  return false;
}

/** Splits `text` at random points (empty chunks and single characters included, surrogate pairs may be split). */
function randomChunks(text: string, next: () => number): string[] {
  const chunks: string[] = [];
  let i = 0;
  while (i < text.length) {
    const r = next();
    const size = r < 0.1 ? 0 : r < 0.4 ? 1 : Math.floor(next() * 40);
    chunks.push(text.slice(i, i + size));
    i += size;
  }
  if (next() < 0.5) chunks.push('');
  return chunks;
}

function streamAll(masker: Masker, chunks: string[]): string[] {
  const sm = new StreamMasker(masker);
  const pieces = chunks.map((c) => sm.push(c));
  pieces.push(sm.flush());
  return pieces;
}

describe('maskingForms', () => {
  it('returns nothing for values shorter than MIN_LENGTH, and the value itself first otherwise', () => {
    expect(MIN_LENGTH).toBe(4);
    expect(Masker.MIN_LENGTH).toBe(4);
    expect(maskingForms('abc')).toEqual([]);
    expect(maskingForms('')).toEqual([]);
    const forms = maskingForms('hunter2!');
    expect(forms).toContain('hunter2!');
    expect(forms).toContain(Buffer.from('hunter2!').toString('base64'));
  });

  it('is longest first, without duplicates, and every form has at least MIN_LENGTH characters', () => {
    for (const s of ['abcd', 'pa ss/w+rd"\\é', 'x'.repeat(50), 'tok€n🔑']) {
      const forms = maskingForms(s);
      expect(new Set(forms).size).toBe(forms.length);
      for (let i = 1; i < forms.length; i++) expect(forms[i - 1]!.length).toBeGreaterThanOrEqual(forms[i]!.length);
      for (const f of forms) expect(f.length).toBeGreaterThanOrEqual(MIN_LENGTH);
    }
  });

  it('includes every base64 variant and the aligned cores for prefixes of 0, 1 and 2 bytes', () => {
    const s = 'S3cr3t?>~~'; // bytes chosen so that base64 contains `+` and `/`
    const forms = maskingForms(s);
    const std = Buffer.from(s).toString('base64');
    expect(std).toMatch(/[+/]/);
    expect(forms).toEqual(
      expect.arrayContaining([std, std.replace(/=+$/, ''), Buffer.from(s).toString('base64url'), std.replace(/\+/g, '-').replace(/\//g, '_')]),
    );
    // The core for prefix k is what every blob with the secret at that alignment contains.
    for (let k = 0; k < 3; k++) {
      const a = Buffer.concat([Buffer.alloc(k, 0x00), Buffer.from(s), Buffer.alloc(2, 0x00)]).toString('base64');
      const b = Buffer.concat([Buffer.alloc(k, 0xff), Buffer.from(s), Buffer.alloc(2, 0xff)]).toString('base64');
      const core = forms.find((f) => a.includes(f) && b.includes(f) && !f.includes('='));
      expect(core, `core for prefix ${k}`).toBeDefined();
    }
  });

  it('includes URL-encoded and JSON-escaped forms', () => {
    const s = `p@ss w/"q"\\é!`;
    const forms = maskingForms(s);
    expect(forms).toContain(encodeURIComponent(s));
    expect(forms).toContain(encodeURIComponent(s).replace(/%20/g, '+'));
    expect(forms).toContain(new URLSearchParams({ x: s }).toString().slice(2));
    expect(forms).toContain(JSON.stringify(s).slice(1, -1));
    expect(forms).toContain('p@ss w\\/\\"q\\"\\\\\\u00e9!');
  });

  // What each encoder writes for `p@ss w/rd!'()*~é`, copied from the encoder itself (Python 3.11's
  // urllib.parse, Node's encodeURIComponent / URLSearchParams / encodeURI, shlex.quote, html.escape).
  const URL_SECRET = `p@ss w/rd!'()*~é`;
  it.each([
    ['python quote() keeps /', 'p%40ss%20w/rd%21%27%28%29%2A~%C3%A9'],
    ['python quote_plus()', 'p%40ss+w%2Frd%21%27%28%29%2A~%C3%A9'],
    ["python quote(safe='')", 'p%40ss%20w%2Frd%21%27%28%29%2A~%C3%A9'],
    ['python quote(), lower-case hex', 'p%40ss%20w/rd%21%27%28%29%2a~%c3%a9'],
    ['encodeURIComponent', "p%40ss%20w%2Frd!'()*~%C3%A9"],
    ['encodeURIComponent, + for space', "p%40ss+w%2Frd!'()*~%C3%A9"],
    ['URLSearchParams', 'p%40ss+w%2Frd%21%27%28%29*%7E%C3%A9'],
    ['encodeURI', "p@ss%20w/rd!'()*~%C3%A9"],
    ["shell '\\'' quoting", "p@ss w/rd!'\\''()*~é"],
    ['shlex.quote', `p@ss w/rd!'"'"'()*~é`],
  ])('includes the %s form', (_name, form) => {
    expect(maskingForms(URL_SECRET)).toContain(form);
    expect(new Masker([URL_SECRET]).mask(`<${form}>`)).toBe('<***>');
  });

  it('percent-encodes exactly as encodeURIComponent, encodeURI and URLSearchParams do, for every printable ASCII character and beyond', () => {
    let all = '';
    for (let c = 0x20; c < 0x7f; c++) all += String.fromCharCode(c);
    all += 'é€🔑';
    expect(percentEncode(all, PERCENT_ENCODERS.encodeURIComponent!, '%20')).toBe(encodeURIComponent(all));
    expect(percentEncode(all, PERCENT_ENCODERS.encodeURI!, '%20')).toBe(encodeURI(all));
    expect(percentEncode(all, PERCENT_ENCODERS.form!, '+')).toBe(new URLSearchParams([['', all]]).toString().slice(1));
  });

  it('percent-encodes as Python quote() and quote_plus() do, for every printable ASCII character', () => {
    let all = '';
    for (let c = 0x20; c < 0x7f; c++) all += String.fromCharCode(c);
    // python3 -c "from urllib.parse import quote; print(quote(''.join(map(chr, range(32, 127)))))"
    expect(percentEncode(all, PERCENT_ENCODERS.pythonQuote!, '%20')).toBe(
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C-./0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~',
    );
    expect(percentEncode(all, PERCENT_ENCODERS.unreserved!, '+')).toBe(
      '+%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~',
    );
  });

  it.each([
    ['&amp; &lt; &gt; &quot; &apos;', 'a&amp;b&lt;c&gt;&quot;d&apos;e'],
    ['&#39; (lodash, Go html)', 'a&amp;b&lt;c&gt;&quot;d&#39;e'],
    ['&#x27; (Python html.escape)', 'a&amp;b&lt;c&gt;&quot;d&#x27;e'],
    ['&#34; (Go encoding/xml)', 'a&amp;b&lt;c&gt;&#34;d&#39;e'],
  ])('includes the XML/HTML-escaped form with %s', (_name, form) => {
    expect(maskingForms(`a&b<c>"d'e`)).toContain(form);
  });

  it('writes every byte as two hex digits (a tab is %09, not %9)', () => {
    expect(percentEncode('a\tb\u0001', PERCENT_ENCODERS.unreserved!, '%20')).toBe('a%09b%01');
    expect(maskingForms('tab\there')).toContain('tab%09here');
  });

  it('does not throw for a value with a lone surrogate (encodeURIComponent would)', () => {
    expect(() => maskingForms('abc\ud800def')).not.toThrow();
    expect(new Masker(['abc\ud800def']).mask('x abc\ud800def y')).toBe('x *** y');
  });

  it('leaves out encoded forms shorter than MIN_LENGTH', () => {
    // A 4-byte value: the base64 core at alignment 1 has exactly 4 chars and is kept; nothing shorter is.
    for (const f of maskingForms('abcd')) expect(f.length).toBeGreaterThanOrEqual(4);
    expect(maskingForms('abcd')).toContain(Buffer.from('\x00abcd').toString('base64').slice(2, 6));
  });
});

describe('Masker', () => {
  it('masks plain values, every occurrence, and reports empty', () => {
    const m = new Masker(['s3cr3t-value']);
    expect(m.empty).toBe(false);
    expect(m.mask('a s3cr3t-value b s3cr3t-value')).toBe('a *** b ***');
    expect(new Masker([]).empty).toBe(true);
    expect(new Masker([]).mask('anything')).toBe('anything');
  });

  it('does not mask values shorter than MIN_LENGTH (masking "1" or "ab" would garble everything)', () => {
    const m = new Masker(['1', 'ab', 'xyz', '']);
    expect(m.empty).toBe(true);
    expect(m.mask('1 ab xyz 12345')).toBe('1 ab xyz 12345');
    expect(new Masker(['abcd', 'ab']).mask('ab abcd')).toBe('ab ***');
  });

  it('masks standalone base64 in every variant', () => {
    const s = 'S3cr3t?>~~';
    const m = new Masker([s]);
    const b = Buffer.from(s);
    for (const enc of [b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('base64url') + '==']) {
      const out = m.mask(`value: ${enc}\n`);
      expect(out, enc).toBe('value: ***\n');
    }
  });

  it('masks base64 of a secret embedded in a longer base64 blob at every alignment, so it cannot be decoded back', () => {
    for (const s of ['hunter2-is-my-password', 'S3cr3t?>~~', 'abcd', 'tok€n🔑xy']) {
      const m = new Masker([s]);
      for (let k = 0; k < 6; k++) {
        for (const suffix of ['', 'Q', 'QR', '@db.example:5432 end']) {
          const prefix = 'USER:'.slice(0, k);
          for (const enc of ['base64', 'base64url'] as const) {
            const blob = Buffer.from(prefix + s + suffix).toString(enc);
            expect(base64Reveals(blob, s), 'the check itself must see the secret in the unmasked blob').toBe(true);
            const out = m.mask(`Authorization: Basic ${blob}\n`);
            const where = `${s} prefix=${k} suffix=${suffix.length} ${enc}: ${out}`;
            expect(out, where).toContain(MASK);
            for (const f of maskingForms(s)) expect(out.includes(f), `${where} still contains ${f}`).toBe(false);
            expect(base64Reveals(out, s), where).toBe(false);
          }
        }
      }
    }
  });

  it('masks URL-encoded forms', () => {
    const s = 'p@ss w/rd!&=';
    const m = new Masker([s]);
    expect(m.mask(`GET /login?pw=${encodeURIComponent(s)}&x=1`)).toBe('GET /login?pw=***&x=1');
    expect(m.mask(`pw=${encodeURIComponent(s).replace(/%20/g, '+')}&x=1`)).toBe('pw=***&x=1');
    expect(m.mask(new URLSearchParams({ pw: s, x: '1' }).toString())).toBe('pw=***&x=1');
  });

  it('masks JSON-escaped forms', () => {
    const s = 'he said "hi" \\ back/é';
    const m = new Masker([s]);
    expect(m.mask(JSON.stringify({ pw: s, n: 1 }))).toBe('{"pw":"***","n":1}');
    expect(m.mask(JSON.stringify({ pw: s }, null, 2))).toBe('{\n  "pw": "***"\n}');
    expect(m.mask('{"pw": "he said \\"hi\\" \\\\ back\\/\\u00e9"}')).toBe('{"pw": "***"}');
  });

  it('hides overlapping secrets whole, and merges adjacent occurrences into one mask', () => {
    const m = new Masker(['abcdef', 'defghi']);
    expect(m.mask('xx abcdefghi yy')).toBe('xx *** yy');
    // The shorter secret starts first: neither "longest wins" nor "leftmost wins" may leave a tail visible.
    expect(new Masker(['xyzabc', 'abcdefghi']).mask('<xyzabcdefghi>')).toBe('<***>');
    expect(new Masker(['abab']).mask('ababab!')).toBe('***!');
    expect(new Masker(['s3cr3t']).mask('s3cr3ts3cr3t s3cr3t')).toBe('*** ***');
  });

  it('agrees with an independent reference implementation on random texts', () => {
    const next = rng(7);
    const secrets = ['abcdef', 'defghi', 'abab', 'zz"z\\z', 'q q&q'];
    const alphabet = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'z', '"', '\\', ' ', 'q', '&', '%', '2', '0', '\n'];
    const m = new Masker(secrets);
    for (let round = 0; round < 300; round++) {
      let text = '';
      const len = Math.floor(next() * 80);
      for (let i = 0; i < len; i++) {
        text += next() < 0.1 ? secrets[Math.floor(next() * secrets.length)]! : alphabet[Math.floor(next() * alphabet.length)]!;
      }
      expect(m.mask(text), JSON.stringify(text)).toBe(referenceMask(secrets, text));
    }
  });
});

describe('Masker with long forms sharing their first characters', () => {
  // Forms are searched for by their first 16 characters and compared in full where those matched:
  // secrets that agree on more than that, and shorter ones that are their prefixes.
  const secrets = ['shared-prefix-0123-alpha-secret', 'shared-prefix-0123-beta-secret!', 'shared-prefix-01', 'shared-p', 'x"y\\z shared-prefix'];

  it('masks the longest form at each position, falling back to a shorter secret that the text still holds', () => {
    const m = new Masker(secrets);
    expect(m.mask('<shared-prefix-0123-alpha-secret>')).toBe('<***>');
    expect(m.mask('<shared-prefix-0123-gamma>')).toBe('<***23-gamma>');
    expect(m.mask('<shared-prefix-0>')).toBe('<***refix-0>');
    expect(m.mask('<abcd-and-abcdefghijklmnopXYZ>')).toBe('<abcd-and-abcdefghijklmnopXYZ>');
    expect(new Masker(['abcd', 'abcdefghijklmnopqrstu']).mask('<abcdefghijklmnopXYZ>')).toBe('<***efghijklmnopXYZ>');
    // The first 16 characters alone are no secret.
    expect(new Masker(['abcdefghijklmnopqrstu']).mask('<abcdefghijklmnopXYZ>')).toBe('<abcdefghijklmnopXYZ>');
  });

  it.each([
    [[], ''],
    [['x/y', 'abd', 'ab', 'abc'], '(?:ab(?:(?:c|d))?|x\\/y)'],
    [['same-start-1', 'same-start-22', 'same-start-1'], 'same-start-(?:1|22)'],
    [['a.b', 'a*c'], 'a(?:\\*c|\\.b)'],
  ])('writes the forms %j as the trie %s', (forms, source) => {
    expect(trieSource(forms)).toBe(source);
  });

  it('handles a secret of 100,000 characters (a run of characters is not one call per character)', () => {
    const long = `k${'e'.repeat(99_998)}y`;
    expect(new Masker([long, `${long.slice(0, 50_000)}!`]).mask(`<${long}>`)).toBe('<***>');
  });

  it('agrees with the reference implementation on random texts, whole and streamed', () => {
    const next = rng(11);
    const m = new Masker(secrets);
    const pieces = [...secrets, ...secrets.map((s) => s.slice(0, 20)), ...secrets.flatMap(maskingForms).filter((f) => f.length > 16), '-', 'a', ' ', '%2', '"'];
    for (let round = 0; round < 300; round++) {
      let text = '';
      const len = Math.floor(next() * 12);
      for (let i = 0; i < len; i++) text += pieces[Math.floor(next() * pieces.length)]!;
      const expected = referenceMask(secrets, text);
      expect(m.mask(text), JSON.stringify(text)).toBe(expected);
      expect(streamAll(m, randomChunks(text, next)).join(''), JSON.stringify(text)).toBe(expected);
    }
  });
});

describe('StreamMasker', () => {
  const secrets = [
    'pg-Pa55word!',
    'abcdef',
    'defghi', // overlaps abcdef
    'line1\nline2-secret', // contains a newline
    'tok€n🔑-emoji', // surrogate pair
    'ghp_0123456789abcdefABCDEF', // appears base64-encoded and at the very end
    'p@ss w/rd"\\',
  ];
  const masker = new Masker(secrets);
  const text = [
    'connecting with pg-Pa55word! ...',
    'overlap: xxabcdefghiyy and abcdefabcdef',
    'multiline: line1\nline2-secret done',
    `json: ${JSON.stringify({ pw: 'p@ss w/rd"\\' })}`,
    `url: https://x/?pw=${encodeURIComponent('p@ss w/rd"\\')}`,
    `basic: ${Buffer.from('user:ghp_0123456789abcdefABCDEF').toString('base64')}`,
    `b64: ${Buffer.from('ghp_0123456789abcdefABCDEF').toString('base64')}`, // the longest form of all
    'emoji tok€n🔑-emoji and 🔑🔑 plain',
    'end: ghp_0123456789abcdefABCDEF',
  ].join('\n');

  it('the fixture is masked by Masker, and matches the reference', () => {
    const whole = masker.mask(text);
    expect(whole).toBe(referenceMask(secrets, text));
    for (const s of secrets) expect(whole).not.toContain(s);
    expect(whole.endsWith(`end: ${MASK}`)).toBe(true);
  });

  it('the fixture contains a form of the maximal length (where an off-by-one in holding back would show)', () => {
    const longest = secrets.flatMap(maskingForms).filter((f) => f.length === masker.maxFormLength);
    expect(longest.some((f) => text.includes(f))).toBe(true);
  });

  it('for every split into two chunks, and one character at a time, the output is masker.mask(text)', () => {
    const expected = masker.mask(text);
    for (let i = 0; i <= text.length; i++) {
      const got = streamAll(masker, [text.slice(0, i), text.slice(i)]).join('');
      if (got !== expected) expect.fail(`split at ${i}: ${JSON.stringify(got)}`);
    }
    expect(streamAll(masker, [...text]).join('')).toBe(expected);
  });

  it('for 200 random chunkings: concat(push...) + flush() === masker.mask(text), and no piece holds a secret', () => {
    const expected = masker.mask(text);
    const allForms = secrets.flatMap(maskingForms);
    const next = rng(42);
    for (let round = 0; round < 200; round++) {
      const chunks = randomChunks(text, next);
      expect(chunks.join('')).toBe(text);
      const pieces = streamAll(masker, chunks);
      expect(pieces.join(''), `chunks: ${JSON.stringify(chunks)}`).toBe(expected);
      for (const p of pieces) {
        const leaked = allForms.find((f) => p.includes(f));
        if (leaked !== undefined) expect.fail(`piece ${JSON.stringify(p)} contains ${leaked}`);
        // Never ends between the halves of a surrogate pair.
        if (/[\ud800-\udbff]$/.test(p)) expect.fail(`piece ${JSON.stringify(p)} ends with half a surrogate pair`);
      }
    }
  });

  it('masks a secret split across chunks, which per-chunk masking leaks', () => {
    const chunks = ['password: pg-Pa5', '5wo', 'rd! ok\n'];
    expect(chunks.map((c) => masker.mask(c)).join('')).toContain('pg-Pa55word!');
    expect(streamAll(masker, chunks).join('')).toBe('password: *** ok\n');
  });

  it('masks a run that continues across the held-back boundary as one mask', () => {
    // abcdef|abcdef|... touching occurrences arriving one character at a time.
    const input = `<${'abcdef'.repeat(5)}defghi>`;
    expect(streamAll(masker, [...input]).join('')).toBe('<***>');
    expect(masker.mask(input)).toBe('<***>');
  });

  it('holds back at most maxFormLength characters and emits the rest at once', () => {
    const sm = new StreamMasker(masker);
    const out = sm.push('x'.repeat(1000));
    expect(out.length).toBeGreaterThanOrEqual(1000 - masker.maxFormLength);
    expect(out + sm.flush()).toBe('x'.repeat(1000));
  });

  it('with nothing to mask, returns each chunk unchanged and holds nothing back', () => {
    for (const m of [new Masker([]), new Masker(['ab'])]) {
      const sm = new StreamMasker(m);
      const chunk = 'partial line without newline, half a pair \ud83d';
      expect(sm.push(chunk)).toBe(chunk);
      expect(sm.push('')).toBe('');
      expect(sm.flush()).toBe('');
    }
  });

  it('can be reused after flush', () => {
    const sm = new StreamMasker(masker);
    expect(sm.push('a abcde') + sm.flush()).toBe('a abcde');
    expect(sm.push('f abcdef') + sm.flush()).toBe(`f ${MASK}`);
  });
});

describe('StreamMasker with the encoded forms', () => {
  it('masks each percent-encoded, shell-quoted and XML form however the stream is chunked', () => {
    const secret = `Pw/x y+z!'()*~&<é>`;
    const masker = new Masker([secret]);
    const forms = maskingForms(secret);
    // Every form, in a URL, a JSON body and a command line, one after another.
    const text = forms.map((f, i) => `line ${i}: https://h/cb?t=${f}&n=${i} curl -d 't=${f}'\n`).join('');
    const expected = masker.mask(text);
    expect(expected).toBe(forms.map((_f, i) => `line ${i}: https://h/cb?t=***&n=${i} curl -d 't=***'\n`).join(''));
    const next = rng(99);
    for (let round = 0; round < 100; round++) {
      const chunks = randomChunks(text, next);
      expect(streamAll(masker, chunks).join(''), `chunks: ${JSON.stringify(chunks)}`).toBe(expected);
    }
  });
});

describe('maskDeep', () => {
  const m = new Masker(['s3cret-value', '12345678']);
  it.each([
    ['a string', 'x s3cret-value y', 'x *** y'],
    ['a number that prints as a secret', 12345678, MASK],
    ['a bigint that prints as a secret', 12345678n, MASK],
    ['another number', 42, 42],
    ['null', null, null],
    ['undefined', undefined, undefined],
    ['true', true, true],
    ['an array', ['s3cret-value', 1], ['***', 1]],
    ['an object, keys too', { 's3cret-value': { deep: 'a s3cret-value' } }, { '***': { deep: 'a ***' } }],
  ])('masks %s', (_name, value, want) => {
    expect(maskDeep(value, m)).toEqual(want);
  });

  it('masks a boolean that prints as a secret (a secret of "true" is masked everywhere else too)', () => {
    expect(maskDeep({ ok: true, no: false }, new Masker(['true']))).toEqual({ ok: MASK, no: false });
  });

  it('does not change its argument, and returns it as it is when there is nothing to mask', () => {
    const value = { a: ['s3cret-value'] };
    maskDeep(value, m);
    expect(value).toEqual({ a: ['s3cret-value'] });
    expect(maskDeep(value, new Masker([]))).toBe(value);
  });
});

describe('secretsFromEnv', () => {
  it('picks the values of listed names', () => {
    expect(SECRET_ENV_NAMES).toEqual(expect.arrayContaining(['PGPASSWORD', 'RESTIC_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'SLACK_WEBHOOK_URL', 'DATABASE_URL']));
    const env = { PGPASSWORD: 'pgpass1', AWS_SECRET_ACCESS_KEY: 'awskey12', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/XyZ', HOME: '/home/me', PATH: '/usr/bin' };
    expect(secretsFromEnv(env).sort()).toEqual(['awskey12', 'https://hooks.slack.com/services/T0/B0/XyZ', 'pgpass1']);
  });

  it('applies the suffix rule (case-insensitively), but not to names that merely contain a suffix', () => {
    for (const n of ['DB_PASSWORD', 'APP_SECRET', 'NPM_TOKEN', 'STRIPE_API_KEY', 'SSH_PRIVATE_KEY', 'db_password', 'TOKEN', 'PASSWORD', 'DB_PASSWD', 'X_SECRET_KEY', 'GITHUB_PAT', 'MYSQL_PWD']) {
      expect(isSecretEnvName(n), n).toBe(true);
    }
    for (const n of ['HOME', 'NPM_TOKEN_FILE', 'TOKENIZER', 'PASSWORD_HINT', 'PUBLIC_KEY', 'API_KEYS_DIR', 'MYTOKEN', 'PWD', 'OLDPWD', 'XDG_DATA_PATH', 'SECRET_KEY_FILE']) {
      expect(isSecretEnvName(n), n).toBe(false);
    }
    const env = { DB_PASSWORD: 'dbpw', NPM_TOKEN_FILE: '/run/token', X_API_KEY: 'k-123', USER: 'me' };
    expect(secretsFromEnv(env).sort()).toEqual(['dbpw', 'k-123']);
  });

  it('adds extra names, skips empty and undefined values, and returns no duplicates', () => {
    const env = { MY_CRED: 'cred-1', OTHER: 'x', GH_TOKEN: '', GITHUB_TOKEN: undefined, VAULT_TOKEN: 'cred-1' };
    expect(secretsFromEnv(env, ['my_cred'])).toEqual(['cred-1']);
    expect(secretsFromEnv(env)).toEqual(['cred-1']);
  });

  it('returns the whole URL and its password part, encoded and decoded', () => {
    const url = 'postgres://app:pa%40ss%2Fw0rd@db.internal:5432/prod?sslmode=require';
    const got = secretsFromEnv({ DATABASE_URL: url });
    expect(got).toEqual(expect.arrayContaining([url, 'pa%40ss%2Fw0rd', 'pa@ss/w0rd']));
    expect(got).toHaveLength(3);
    // An unescaped `@` in the password, and a password the URL parser rejects (unescaped `/`).
    expect(secretsFromEnv({ DATABASE_URL: 'postgres://app:p@ss@db/prod' })).toContain('p@ss');
    expect(secretsFromEnv({ DATABASE_URL: 'postgres://app:pa/ss@db/prod' })).toContain('pa/ss');
    expect(secretsFromEnv({ REDIS_PASSWORD: 'redis://:rpass99@cache:6379' })).toContain('rpass99');
    // No password: only the whole value.
    expect(secretsFromEnv({ DATABASE_URL: 'postgres://app@db/prod' })).toEqual(['postgres://app@db/prod']);
  });

  it('makes a URL password masked where it is printed by itself', () => {
    const m = new Masker(secretsFromEnv({ DATABASE_URL: 'postgres://app:Wh1sk3y@db:5432/prod' }));
    expect(m.mask('FATAL: password authentication failed (tried Wh1sk3y)')).toBe('FATAL: password authentication failed (tried ***)');
    expect(m.mask('DATABASE_URL=postgres://app:Wh1sk3y@db:5432/prod')).toBe('DATABASE_URL=***');
  });
});

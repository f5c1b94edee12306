/**
 * Proof by running bash: a rendered value is one literal word, whatever it holds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTemplate, renderShell, shellContextErrors } from '../../../src/expr/template.js';
import { quoteShellWord } from '../../../src/expr/shell-quote.js';

const dir = mkdtempSync(join(tmpdir(), 'maint-inject-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bash(script: string): { stdout: string; status: number | null } {
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' });
  return { stdout: r.stdout, status: r.status };
}

const ATTACKS = [
  '; touch PWNED',
  '; rm -rf /',
  '&& touch PWNED',
  '| touch PWNED',
  '$(touch PWNED)',
  '`touch PWNED`',
  "'; touch PWNED; '",
  '"; touch PWNED; "',
  "it's",
  'a"b',
  'line1\ntouch PWNED\nline3',
  '\ntouch PWNED',
  '$HOME ${PATH} $((1+1))',
  '* ? [a-z] ~ {a,b}',
  '\\; touch PWNED \\',
  "'\\''; touch PWNED; echo '",
  '> PWNED',
  '#comment',
  '',
  ' ',
  '-n',
];

describe('renderShell against injection', () => {
  for (const value of ATTACKS) {
    it(`prints ${JSON.stringify(value)} literally`, () => {
      const { template } = parseTemplate("printf '%s' {{ vars.v }}");
      if (!template) throw new Error('template did not parse');
      expect(shellContextErrors(template)).toEqual([]);
      const script = renderShell(template, { vars: { v: value } });
      const r = bash(script);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(value);
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('keeps each value one word among literal text, in $( ) and in assignments', () => {
    const { template } = parseTemplate(
      'x={{ vars.v }}; printf "<%s>" {{ vars.v }} $(printf %s {{ vars.v }}) --opt={{ vars.v }} "$x"',
    );
    if (!template) throw new Error('template did not parse');
    expect(shellContextErrors(template)).toEqual([]);
    const v = "a b; touch PWNED '$(id)'";
    const r = bash(renderShell(template, { vars: { v } }));
    // $( ) output is word-split by bash itself, as the author wrote it unquoted
    expect(r.stdout).toBe(`<${v}><a><b;><touch><PWNED><'$(id)'><--opt=${v}><${v}>`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('quoteShellWord', () => {
  it('leaves plain words and quotes everything else', () => {
    expect(quoteShellWord('abc-1.2_x/y:z@h%+=,')).toBe('abc-1.2_x/y:z@h%+=,');
    expect(quoteShellWord('')).toBe("''");
    expect(quoteShellWord('a b')).toBe("'a b'");
    expect(quoteShellWord("it's")).toBe("'it'\\''s'");
    expect(quoteShellWord('~')).toBe("'~'");
    expect(quoteShellWord('*')).toBe("'*'");
  });

  it('round-trips through bash for all ASCII but NUL, and for non-ASCII text', () => {
    const all = Array.from({ length: 127 }, (_, i) => String.fromCharCode(i + 1)).join('') + 'é€😀';
    const r = spawnSync('bash', ['-c', `printf '%s' ${quoteShellWord(all)}`], { encoding: 'utf8' });
    expect(r.stdout).toBe(all);
  });
});

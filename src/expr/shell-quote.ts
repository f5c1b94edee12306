/** Quoting of values for POSIX shells (bash, sh). */

// Characters that never mean anything special to the shell when unquoted.
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote `s` so that the shell reads it back as exactly one word with exactly
 * this content. Plain words (only `[A-Za-z0-9_@%+=:,./-]`) are returned as
 * they are, for readable commands; everything else is single-quoted, where
 * the shell interprets nothing, and each `'` becomes `'\''` (close the
 * quote, an escaped quote, reopen). The empty string becomes `''`.
 */
export function quoteShellWord(s: string): string {
  if (s !== '' && SAFE_WORD.test(s)) return s;
  return `'${s.replaceAll("'", "'\\''")}'`;
}

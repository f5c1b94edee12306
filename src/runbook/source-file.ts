/**
 * Reading a runbook file into text, refusing what no runbook is before anything parses it: a file
 * past the size cap (YAML parsing takes ~35 times the file's size in memory), bytes that are not
 * UTF-8, a folder or something that cannot be read.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { notPlainFile, readCapped } from './plain-file.js';
import type { Diagnostic } from './diagnostics.js';

/**
 * The largest runbook maint reads: 1 MiB. The longest shipped runbook is under 10 KiB; a file
 * this size is a mistake (a log or a dump named `.yaml`), and parsing it would cost gigabytes.
 */
export const MAX_RUNBOOK_BYTES = 1024 * 1024;

export type SourceText = { text: string; diagnostic?: undefined } | { text?: undefined; diagnostic: Diagnostic };

/** The text of a runbook file, or the one problem that stops it being read. `shown` names it in messages. */
export function readRunbookText(file: string, shown: string): SourceText {
  const problem = (message: string, line = 1, col = 1): SourceText => ({ diagnostic: { file: shown, line, col, path: '', message } });
  let fd: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever, before any check.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (st.isDirectory()) return problem('is a folder, not a runbook file');
    const kind = notPlainFile(st);
    if (kind) return problem(`${kind}; a runbook is a plain file`);
    if (st.size > MAX_RUNBOOK_BYTES) return problem(tooLarge(st.size));
    const read = readCapped(fd, st.size, MAX_RUNBOOK_BYTES);
    return read.bytes ? decodeRunbook(read.bytes, shown) : problem(tooLarge(read.past, true));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return problem(`cannot read: ${e.code ?? ''}${e.code ? ' ' : ''}${(e.message ?? String(err)).replace(/^[A-Z]+: /, '')}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The message for a runbook past the cap, with the cap in it. */
export function tooLarge(size: number, atLeast = false): string {
  return `runbook is ${atLeast ? 'more than ' : ''}${mib(size)}; maint reads runbooks up to ${mib(MAX_RUNBOOK_BYTES)} (${MAX_RUNBOOK_BYTES} bytes)`;
}

const mib = (bytes: number): string => `${Number((bytes / (1024 * 1024)).toFixed(2))} MiB`;

/** UTF-8 bytes to text (a leading BOM dropped), or a positioned problem at the first byte that is not UTF-8. */
export function decodeRunbook(bytes: Uint8Array, shown: string): SourceText {
  const bad = firstInvalidUtf8(bytes);
  if (bad === -1) return { text: new TextDecoder('utf-8').decode(bytes) };
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
  const lines = before.split('\n');
  const byte = bytes[bad]!.toString(16).padStart(2, '0');
  return {
    diagnostic: {
      file: shown,
      line: lines.length,
      col: lines[lines.length - 1]!.replace(/^\uFEFF/, '').length + 1,
      path: '',
      message: `not UTF-8: byte 0x${byte} at offset ${bad}; save the runbook as UTF-8`,
    },
  };
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return -1;
}

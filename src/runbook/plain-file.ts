/**
 * Reading a file maint was pointed at (a runbook, a vars file, a config file) only when it is a
 * plain file, and only up to a cap. A FIFO would block the read forever, /dev/urandom never ends
 * and /dev/zero was read into memory until Node aborted; none of them is a file anyone meant.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** The largest input file maint reads: 1 MiB, far past any real runbook, vars or config file. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** Why a file is not a plain file, in words, or undefined when it is one. */
export function notPlainFile(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'is a folder, not a file';
  if (st.isFIFO()) return 'is a FIFO (named pipe), not a plain file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'is a device, not a plain file';
  if (st.isSocket()) return 'is a socket, not a plain file';
  return 'is not a plain file';
}

/** A size in MiB for messages. */
export const mib = (bytes: number): string => `${Number((bytes / (1024 * 1024)).toFixed(2))} MiB`;

/** The message for a file past the cap. */
export function tooLargeFile(size: number, atLeast = false, max = MAX_INPUT_BYTES): string {
  return `is ${atLeast ? 'more than ' : ''}${mib(size)}; maint reads files up to ${mib(max)} (${max} bytes)`;
}

export type PlainFileBytes = { bytes: Buffer; problem?: undefined } | { bytes?: undefined; problem: string };

/**
 * The bytes of a plain file of at most `max` bytes, or why not. Opened with O_NONBLOCK so that
 * opening a FIFO returns at once (it is then refused by its type); read in chunks, stopping past
 * the cap, since a file may grow while it is read.
 */
export function readPlainFile(file: string, max = MAX_INPUT_BYTES): PlainFileBytes {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    const kind = notPlainFile(st);
    if (kind) return { problem: kind };
    if (st.size > max) return { problem: tooLargeFile(st.size, false, max) };
    const read = readCapped(fd, st.size, max);
    return read.bytes ? { bytes: read.bytes } : { problem: tooLargeFile(read.past, true, max) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { problem: `${e.code ?? ''}${e.code ? ' ' : ''}${(e.message ?? String(err)).replace(/^[A-Z]+: /, '')}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The rest of an open file, in chunks, stopping once past `max` (a file may grow while it is
 * read): the bytes, or how many were read when the cap was passed.
 */
export function readCapped(fd: number, size: number, max: number): { bytes: Buffer; past?: undefined } | { bytes?: undefined; past: number } {
  const chunks: Buffer[] = [];
  let length = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(Math.max(size + 1, 4096), 64 * 1024));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    length += n;
    if (length > max) return { past: length };
  }
  return { bytes: Buffer.concat(chunks, length) };
}

/**
 * Appending entries to the markdown maintenance log. Runs that end at the same moment (two cron
 * jobs, a CI job and a person) may append at once: each entry goes out in ONE write(2) on a
 * descriptor opened with O_APPEND, which POSIX local filesystems apply atomically — entries never
 * interleave. Old entries are never rewritten.
 */
import { randomBytes } from 'node:crypto';
import { link, open, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MaintError } from '../cli/errors.js';
import { ensureDir, explainErrno, PathError } from '../fs/ensure-dir.js';

export const LOG_HEADER = '# Maintenance log\n';
const MODE = 0o640;

/**
 * Append `entry`; the problem in one line when it could not be written (a full disk, a folder
 * where the file should be, …), so a run that has ended still ends cleanly and says so.
 */
export async function tryAppendLogEntry(file: string, entry: string): Promise<string | undefined> {
  try {
    await append(file, entry);
    return undefined;
  } catch (err) {
    return logProblem(file, err);
  }
}

/** The one-line problem for an error out of appendLogEntry. */
export function logProblem(file: string, err: unknown): string {
  if (err instanceof PathError) return `log entry not written: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  return `log entry not written to ${file}: ${e.code ? explainErrno(e.code, file) : e.message}`;
}

/** Append `entry`, or throw a MaintError (exit 1) saying in one line why it could not be written. */
export async function appendLogEntry(file: string, entry: string): Promise<void> {
  try {
    await append(file, entry);
  } catch (err) {
    throw new MaintError(logProblem(file, err), 1);
  }
}

async function append(file: string, entry: string): Promise<void> {
  ensureDir(dirname(file));
  await createWithHeader(file);
  const fh = await open(file, 'a', MODE);
  try {
    // Still empty: it existed empty, or linking is not supported here. Header and entry in one write.
    const { size } = await fh.stat();
    const buf = Buffer.from(size === 0 ? LOG_HEADER + entry : entry, 'utf8');
    let off = 0;
    // A regular file takes the whole buffer in one write; the loop only guards against a short write.
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      if (bytesWritten <= 0) throw new Error(`could not write to ${file}`);
      off += bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Make a missing log file appear already holding its header, atomically: write the header to a
 * private temporary file and hard-link it into place (link fails when the name exists), so
 * writers racing on a new file never see it empty and the header is written once.
 */
async function createWithHeader(file: string): Promise<void> {
  try {
    await stat(file);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, LOG_HEADER, { mode: MODE, flag: 'wx' });
    await link(tmp, file);
  } catch {
    // EEXIST: another writer created it first. Anything else (no hard links on this filesystem,
    // say): fall back to the header-when-empty rule in appendLogEntry.
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

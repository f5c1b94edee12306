/**
 * maint reads only plain files of at most 1 MiB: a FIFO used to block forever, /dev/urandom never
 * ended and /dev/zero was read until Node aborted (std::bad_alloc, exit 134).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES, readPlainFile } from '../../../src/runbook/plain-file.js';
import { readRunbookText } from '../../../src/runbook/source-file.js';

const dir = mkdtempSync(join(tmpdir(), 'maint-plain-'));

/** A FIFO in the temporary folder, or undefined where mkfifo is missing. */
function fifo(): string | undefined {
  const path = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  try {
    execFileSync('mkfifo', [path]);
    return path;
  } catch {
    return undefined;
  }
}
const hasMkfifo = fifo() !== undefined;

describe('readPlainFile', () => {
  it('reads a plain file', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'a: 1\n');
    expect(readPlainFile(file)).toEqual({ bytes: Buffer.from('a: 1\n') });
  });

  it('refuses a FIFO without waiting for a writer', ({ skip }) => {
    if (!hasMkfifo) skip();
    expect(readPlainFile(fifo()!)).toEqual({ problem: 'is a FIFO (named pipe), not a plain file' });
  });

  for (const device of ['/dev/zero', '/dev/urandom', '/dev/null'])
  it.skipIf(!existsSync(device))(`refuses the device ${device}`, () => {
    expect(readPlainFile(device)).toEqual({ problem: 'is a device, not a plain file' });
  });

  it('refuses a folder, and a file past the cap without reading it', () => {
    expect(readPlainFile(dir)).toEqual({ problem: 'is a folder, not a file' });
    const big = join(dir, 'big.yaml');
    writeFileSync(big, Buffer.alloc(MAX_INPUT_BYTES + 1, 0x61));
    expect(readPlainFile(big).problem).toBe('is 1 MiB; maint reads files up to 1 MiB (1048576 bytes)');
    expect(readPlainFile(big, 10).problem).toMatch(/^is 1 MiB; maint reads files up to 0 MiB \(10 bytes\)$/);
  });

  it('says why a file cannot be opened, with its errno code', () => {
    expect(readPlainFile(join(dir, 'missing')).problem).toMatch(/^ENOENT /);
  });
});

describe('readRunbookText refuses what is not a plain file', () => {
  it('a FIFO (maint validate FIFO hung)', ({ skip }) => {
    if (!hasMkfifo) skip();
    expect(readRunbookText(fifo()!, 'p.yaml').diagnostic).toEqual({
      file: 'p.yaml',
      line: 1,
      col: 1,
      path: '',
      message: 'is a FIFO (named pipe), not a plain file; a runbook is a plain file',
    });
  });

  it('a device', ({ skip }) => {
    if (!existsSync('/dev/zero')) skip();
    expect(readRunbookText('/dev/zero', 'z.yaml').diagnostic?.message).toBe('is a device, not a plain file; a runbook is a plain file');
  });
});

/**
 * Vars files and config files are read only when they are plain files of at most 1 MiB, and
 * cosmiconfig never gets to read one that is not (it read a FIFO forever, /dev/zero until Node
 * aborted). A vars file holds plain YAML values only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVarsFile } from '../../../src/cli/prepare.js';
import { InvalidInput, UsageError } from '../../../src/cli/errors.js';
import { loadConfig } from '../../../src/config/config.js';
import { MAX_INPUT_BYTES } from '../../../src/runbook/plain-file.js';

const base = mkdtempSync(join(tmpdir(), 'maint-inputs-'));
/** A project folder (with package.json, so the config search stops in it). */
function project(): string {
  const dir = mkdtempSync(join(base, 'p-'));
  writeFileSync(join(dir, 'package.json'), '{"name": "p"}\n');
  return dir;
}
function mkfifo(path: string): boolean {
  try {
    execFileSync('mkfifo', [path]);
    return true;
  } catch {
    return false;
  }
}

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};
const thrownAsync = async (p: Promise<unknown>): Promise<unknown> => p.then(
  () => {
    throw new Error('did not throw');
  },
  (err: unknown) => err,
);

describe('--vars-file', () => {
  for (const device of ['/dev/zero', '/dev/urandom'])
  it.skipIf(!existsSync(device))(`${device} is exit 2, not an abort or a hang`, () => {
    const err = thrown(() => readVarsFile(device));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toBe(`--vars-file ${device}: is a device, not a plain file`);
  });

  it('a FIFO is exit 2 at once', ({ skip }) => {
    const fifo = join(project(), 'vars.fifo');
    if (!mkfifo(fifo)) skip();
    expect((thrown(() => readVarsFile(fifo)) as Error).message).toBe(`--vars-file ${fifo}: is a FIFO (named pipe), not a plain file`);
  });

  it('a file past 1 MiB is exit 2', () => {
    const file = join(project(), 'big.yaml');
    writeFileSync(file, `a: "${'x'.repeat(MAX_INPUT_BYTES)}"\n`);
    const err = thrown(() => readVarsFile(file));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/: is 1 MiB; maint reads files up to 1 MiB/);
  });

  it('a tagged value is a positioned error (was: null)', () => {
    const file = join(project(), 'vars.yaml');
    writeFileSync(file, 'dir: !!set {a, b}\nok: 1\n');
    const err = thrown(() => readVarsFile(file));
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).diagnostics).toMatchObject([{ file, line: 1, message: expect.stringContaining('!!set') }]);
  });

  it('a plain file still reads', () => {
    const file = join(project(), 'vars.yaml');
    writeFileSync(file, 'n: 2\n');
    expect(readVarsFile(file).file).toEqual({ n: 2 });
  });
});

describe('config files', () => {
  for (const device of ['/dev/zero', '/dev/urandom'])
  it.skipIf(!existsSync(device))(`--config ${device} is exit 2`, async () => {
    const err = await thrownAsync(loadConfig({ config: device }, {}, project()));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`--config ${device}: is a device, not a plain file`);
  });

  it('--config FIFO is exit 2 at once', async ({ skip }) => {
    const dir = project();
    if (!mkfifo(join(dir, 'c.yaml'))) skip();
    expect(((await thrownAsync(loadConfig({ config: 'c.yaml' }, {}, dir))) as Error).message).toBe('--config c.yaml: is a FIFO (named pipe), not a plain file');
  });

  it('a FIFO the search would read (.maintrc) is exit 2', async ({ skip }) => {
    const dir = project();
    if (!mkfifo(join(dir, '.maintrc'))) skip();
    const err = await thrownAsync(loadConfig({}, {}, dir));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`config file ${join(dir, '.maintrc')}: is a FIFO (named pipe), not a plain file`);
  });

  it('a search place linked to a device, or past 1 MiB, is exit 2', async ({ skip }) => {
    const dir = project();
    writeFileSync(join(dir, 'maint.config.yaml'), `log: "${'x'.repeat(MAX_INPUT_BYTES)}"\n`);
    expect(((await thrownAsync(loadConfig({}, {}, dir))) as Error).message).toMatch(/maint\.config\.yaml: is 1 MiB; maint reads files up to 1 MiB/);
    if (!existsSync('/dev/zero')) skip();
    const other = project();
    symlinkSync('/dev/zero', join(other, '.maintrc.yaml'));
    expect(((await thrownAsync(loadConfig({}, {}, other))) as Error).message).toMatch(/\.maintrc\.yaml: is a device, not a plain file$/);
  });

  it('$import (which cosmiconfig would read unchecked) is an unknown setting', async ({ skip }) => {
    const dir = project();
    if (!mkfifo(join(dir, 'other.yaml'))) skip();
    writeFileSync(join(dir, 'maint.config.yaml'), 'log: x.md\n$import: other.yaml\n');
    const err = await thrownAsync(loadConfig({}, {}, dir));
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).diagnostics).toMatchObject([{ line: 2, col: 1, message: 'unknown setting "$import"' }]);
  });

  it('a folder named like a search place is skipped; a plain config still loads', async () => {
    const dir = project();
    mkdirSync(join(dir, '.maintrc'));
    writeFileSync(join(dir, 'maint.config.yaml'), 'log: x.md\n');
    expect((await loadConfig({}, {}, dir)).log).toBe(join(dir, 'x.md'));
  });
});

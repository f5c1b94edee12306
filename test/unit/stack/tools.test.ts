import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findPgClient, findPgServer, missingStackTools } from '../../../src/stack/tools.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function tools(dir: string, ...names: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

describe('locating PostgreSQL', () => {
  it('the newest /usr/lib/postgresql/<major>/bin with initdb and postgres, when PATH has none', () => {
    root = mkdtempSync(join(tmpdir(), 'maint-test-'));
    const lib = join(root, 'lib');
    tools(join(lib, '9.6/bin'), 'initdb', 'postgres');
    tools(join(lib, '13/bin'), 'initdb', 'postgres', 'psql');
    tools(join(lib, '16/bin'), 'initdb'); // half installed
    const bin = join(lib, '13/bin');
    expect(findPgServer('/nonexistent', lib)).toEqual({ dir: bin, initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') });
    expect(findPgClient('psql', '/nonexistent', lib)).toBe(join(bin, 'psql'));
    expect(missingStackTools('/nonexistent', lib).map((m) => m.tool)).toEqual(['psql', 'pg_dump', 'pg_restore', 'restic', 'curl']);
  });

  it('the initdb on PATH first, with the postgres beside its real file', () => {
    root = mkdtempSync(join(tmpdir(), 'maint-test-'));
    const real = tools(join(root, 'opt/pg/bin'), 'initdb', 'postgres');
    const path = tools(join(root, 'bin'), 'psql');
    symlinkSync(join(real, 'initdb'), join(path, 'initdb'));
    tools(join(root, 'lib/17/bin'), 'initdb', 'postgres');
    expect(findPgServer(path, join(root, 'lib'))?.dir).toBe(real);
    expect(findPgClient('psql', path, join(root, 'lib'))).toBe(join(path, 'psql'));
  });

  it('names initdb and postgres apart', () => {
    root = mkdtempSync(join(tmpdir(), 'maint-test-'));
    tools(join(root, 'lib/15/bin'), 'initdb');
    expect(missingStackTools('/nonexistent', join(root, 'lib'))[0]).toEqual({ tool: 'postgres', install: 'apt-get install -y postgresql' });
  });
});

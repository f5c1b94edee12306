import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startPostgres } from '../../../src/stack/postgres.js';
import { alive, childrenOf, havePostgres, processesMentioning, searchableParents, uidOf } from './helpers.js';

const exec = promisify(execFile);

const parentDir = searchableParents();

// Concurrent: each start mostly waits on one process (initdb, the server); the machine may have two cores.
describe.concurrent('startPostgres', () => {
  it('a cluster psql and pg_dump reach through its URL; stop leaves no process and no dir', async () => {
    if (!havePostgres()) return;
    const started = performance.now();
    const pg = await startPostgres({
      databases: ['app', 'app_scratch'],
      seed: { app: 'CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, $$a$$), (2, $$b$$);' },
      parentDir: parentDir(),
    });
    console.info(`postgres started in ${Math.round(performance.now() - started)} ms`);
    const postmaster = Number(readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let servers: number[] = [];
    try {
      expect(pg.url('app')).toBe(`postgresql://maint@/app?host=${pg.socketDir}&port=5432`);
      // The real psql as this process's user (root in CI), through the URL, then through the env.
      const viaUrl = await exec('psql', ['-X', '-A', '-t', '-d', pg.url('app'), '-c', 'SELECT current_user, count(*) FROM t']);
      expect(viaUrl.stdout).toBe('maint|2\n');
      const viaEnv = await exec('psql', ['-XAt', '-c', 'SELECT current_database()'], { env: { ...process.env, ...pg.env('app_scratch') } });
      expect(viaEnv.stdout).toBe('app_scratch\n');
      expect(await pg.psql("SELECT 1; SELECT current_setting('listen_addresses') = ''", 'app')).toBe('1\nt');

      const dump = join(pg.dir, 'app.dump');
      await exec('pg_dump', ['-Fc', '-f', dump, '-d', pg.url('app')]);
      await exec('pg_restore', ['--no-owner', '-d', pg.url('app_scratch'), dump]);
      expect(await pg.psql('SELECT string_agg(name, $$,$$ ORDER BY id) FROM t', 'app_scratch')).toBe('a,b');

      servers = [postmaster, ...childrenOf(postmaster)];
      expect(servers.length).toBeGreaterThan(1); // checkpointer, walwriter…
      if (process.getuid?.() === 0) expect(uidOf(postmaster)).not.toBe(0);
    } finally {
      const stopping = performance.now();
      await pg.stop();
      console.info(`postgres stopped in ${Math.round(performance.now() - stopping)} ms`);
    }
    expect(servers.filter(alive)).toEqual([]);
    expect(processesMentioning(pg.dataDir)).toEqual([]);
    expect(existsSync(pg.dir)).toBe(false);
    await pg.stop(); // Idempotent.
  });

  it('a seed that fails after the server started: the server is stopped, nothing is left', async () => {
    if (!havePostgres()) return;
    const parent = parentDir();
    await expect(startPostgres({ parentDir: parent, databases: ['app'], seed: { app: 'CREATE TABLE;' } })).rejects.toThrow(
      /psql failed \(exit 3\):[\s\S]*syntax error/,
    );
    expect(readdirSync(parent)).toEqual([]);
    expect(processesMentioning(parent)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('as root, a temp dir the server user cannot reach is named', async () => {
    if (!havePostgres()) return;
    const parent = parentDir();
    chmodSync(parent, 0o700);
    await expect(startPostgres({ parentDir: parent })).rejects.toThrow(`${parent} is not searchable by it`);
    expect(readdirSync(parent)).toEqual([]);
  });
});

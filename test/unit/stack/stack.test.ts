import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { missingStackTools, startStack, StackToolsMissingError } from '../../../src/stack/stack.js';
import { requireTool } from '../../helpers/tools.js';
import { havePostgres, processesMentioning, searchableParents } from './helpers.js';

const exec = promisify(execFile);
const haveAll = (): boolean => havePostgres() && requireTool('restic') && requireTool('curl');

const parentDir = searchableParents();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Not concurrent with the others: it changes PATH.
describe('startStack without its tools', () => {
  it('missing tools are named with their Debian/Ubuntu install command, before anything starts', async () => {
    expect(missingStackTools('/nonexistent', '/nonexistent')).toEqual([
      { tool: 'initdb', install: 'apt-get install -y postgresql' },
      { tool: 'postgres', install: 'apt-get install -y postgresql' },
      { tool: 'psql', install: 'apt-get install -y postgresql-client' },
      { tool: 'pg_dump', install: 'apt-get install -y postgresql-client' },
      { tool: 'pg_restore', install: 'apt-get install -y postgresql-client' },
      { tool: 'restic', install: 'apt-get install -y restic' },
      { tool: 'curl', install: 'apt-get install -y curl' },
    ]);
    const parent = parentDir();
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const err = await startStack({ parentDir: parent }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StackToolsMissingError);
      expect((err as Error).message).toMatch(/^the local stack needs tools this machine lacks.*:\n/);
      expect((err as Error).message).toContain('  psql, pg_dump, pg_restore: apt-get install -y postgresql-client\n  restic: apt-get install -y restic\n  curl: apt-get install -y curl');
    } finally {
      process.env.PATH = path;
    }
    expect(readdirSync(parent)).toEqual([]);
  });
});

// Concurrent: each start mostly waits on one process (initdb, restic init); the machine may have two cores.
describe.concurrent('startStack', () => {
  it('postgres (app seeded, app_scratch), restic and the service together; one stop() removes all', async () => {
    if (!haveAll()) return;
    const parent = parentDir();
    const started = performance.now();
    const stack = await startStack({ parentDir: parent });
    console.info(`stack started in ${Math.round(performance.now() - started)} ms`);
    try {
      const { postgres, restic, http } = stack;
      const counts = await postgres.psql('SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT sum(total_cents) FROM orders)', 'app');
      expect(counts).toBe('3|100|1262500');
      expect(await postgres.psql("SELECT indexname FROM pg_indexes WHERE tablename = 'orders' ORDER BY 1", 'app')).toBe('orders_customer_id_idx\norders_pkey');
      expect(await postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", 'app_scratch')).toBe('0');
      expect(await restic.snapshots()).toEqual([]);
      expect((await exec('curl', ['-sS', '-w', ' %{http_code}', http.healthUrl])).stdout).toBe('{"status":"ok"}\n 200');
    } finally {
      const stopping = performance.now();
      await stack.stop();
      console.info(`stack stopped in ${Math.round(performance.now() - stopping)} ms`);
    }
    expect(readdirSync(parent)).toEqual([]);
    expect(processesMentioning(parent)).toEqual([]);
    await expect(fetch(stack.http.healthUrl)).rejects.toThrow();
    await stack.stop(); // Idempotent.
  });

  it('when postgres fails, restic and the service are stopped; the error names postgres and quotes its log', async () => {
    if (!haveAll()) return;
    const parent = parentDir();
    const port = await freePort();
    await expect(startStack({ parentDir: parent, http: { port }, postgres: { settings: { shared_buffers: 'plenty' } } })).rejects.toThrow(
      /^the local stack did not start \(the rest was stopped\): postgres: PostgreSQL start failed: the server exited while starting \(exit 1\)\nthe server log ends with:\n.*FATAL: +invalid value for parameter "shared_buffers": "plenty"/,
    );
    expect(readdirSync(parent)).toEqual([]); // restic's repository too
    expect(processesMentioning(parent)).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('when the service cannot listen, the starts under way (initdb, restic init) are stopped and nothing is left', async () => {
    if (!haveAll()) return;
    const parent = parentDir();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const started = performance.now();
    try {
      await expect(startStack({ parentDir: parent, http: { port: (busy.address() as AddressInfo).port } })).rejects.toThrow(
        /^the local stack did not start \(the rest was stopped\): http: listen EADDRINUSE/,
      );
    } finally {
      busy.close();
    }
    // The port check fails first and the rest is never started; generous for a loaded machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(readdirSync(parent)).toEqual([]);
    expect(processesMentioning(parent)).toEqual([]);
  });
});

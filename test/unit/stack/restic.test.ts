import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startRestic } from '../../../src/stack/restic.js';
import { requireTool } from '../../helpers/tools.js';

const exec = promisify(execFile);

describe('startRestic', () => {
  it('a repository restic backs up to with the returned env; nothing written to $HOME; stop removes it', async () => {
    if (!requireTool('restic')) return;
    const home = mkdtempSync(join(tmpdir(), 'maint-test-home-'));
    const data = mkdtempSync(join(tmpdir(), 'maint-test-data-'));
    writeFileSync(join(data, 'file.txt'), 'some data\n');
    const started = performance.now();
    const repo = await startRestic();
    console.info(`restic repository initialised in ${Math.round(performance.now() - started)} ms`);
    try {
      expect(repo.env).toEqual({ RESTIC_REPOSITORY: repo.repository, RESTIC_PASSWORD: repo.password, RESTIC_CACHE_DIR: join(repo.dir, 'cache') });
      expect(repo.password.length).toBeGreaterThanOrEqual(20);
      const env = { ...process.env, HOME: home, XDG_CACHE_HOME: undefined, ...repo.env };
      await exec('restic', ['backup', '--quiet', '--tag', 'maint-test', data], { env });
      const snapshots = await repo.snapshots();
      expect(snapshots).toHaveLength(1);
      expect(snapshots[0]).toMatchObject({ paths: [data], tags: ['maint-test'] });
      expect(snapshots[0]?.short_id).toMatch(/^[0-9a-f]{8}$/);
      expect(readdirSync(home)).toEqual([]);
    } finally {
      await repo.stop();
      rmSync(home, { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
    }
    expect(existsSync(repo.dir)).toBe(false);
    await repo.stop(); // Idempotent.
  });
});

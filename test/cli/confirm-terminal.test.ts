/**
 * A confirm step answered by a person at a real terminal (through `script`, util-linux): yes goes
 * ahead, no aborts the change (rollbacks, finally, exit 1, declined by user@host in the log),
 * pause stops for `maint resume` (exit 5).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertNoInternalError, BIN, childEnv, project } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';

function answering(dir: string, answer: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const env = childEnv({ NO_COLOR: '1', TERM: 'xterm' });
    const child = spawn('script', ['-qec', `stty cols 100 rows 40; ${process.execPath} ${BIN} run t`, '/dev/null'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let pending: string | undefined = answer;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (pending !== undefined && out.includes('[y/N/p]')) {
        child.stdin.write(pending);
        pending = undefined;
      }
    });
    child.on('close', (code) => {
      try {
        assertNoInternalError('run t', code, out);
      } catch (err) {
        reject(err);
        return;
      }
      resolve({ code, out: out.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '') });
    });
  });
}

const book = `steps:
  - name: Take a snapshot
    run: echo snap
    rollback: echo undone-snapshot
  - name: Drop the old table
    confirm: Drop the old table now?
    run: echo dropped
finally:
  - name: Tell the team
    run: echo told
`;

describe('a confirm step at a terminal', () => {
  it.each([
    ['y\r', 0, /Drop the old table now\?/],
    ['n\r', 1, /declined by [^@\s]+@\S+: Drop the old table now\?/],
    ['p\r', 5, /paused by [^@\s]+@\S+/],
  ])('answered %j: exit %i', async (answer, code, shown) => {
    requireTool('script');
    const dir = project({ 't.yaml': book });
    const r = await answering(dir, answer);
    expect(r.code).toBe(code);
    expect(r.out).toMatch(shown);
    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    if (code === 1) {
      expect(log).toMatch(/declined by [^@\s]+@\S+/);
      expect(log).toMatch(/Take a snapshot/);
      expect(r.out).toMatch(/Rollback \(1 step\)/);
      expect(r.out).toMatch(/Tell the team/);
    }
  });
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertNoInternalError, BIN, childEnv, project } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';

// A real terminal through `script` (util-linux): the listr2 display, and a person answering.
function inTerminal(args: string, cwd: string, answer?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const env = childEnv({ NO_COLOR: undefined, FORCE_COLOR: '0', TERM: 'xterm' });
    const child = spawn('script', ['-qec', `stty cols 100 rows 40; ${process.execPath} ${BIN} ${args}`, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (answer && out.includes('[y/N]')) {
        child.stdin.write(answer);
        answer = undefined;
      }
    });
    child.on('close', (code) => {
      try {
        assertNoInternalError(args, code, out);
      } catch (err) {
        reject(err);
        return;
      }
      resolve({ code, out: out.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '') });
    });
  });
}

describe('on a terminal', () => {
  it('draws the steps with listr2 and asks a person about a manual task', async () => {
    requireTool('script');
    const dir = project({
      't.yaml': `steps:
  - name: check
    run: echo checked
  - name: Look at the dashboard
    manual: Is the error rate normal?
  - name: breaks
    run: echo boom >&2; exit 4
    rollback: "true"
`,
    });
    const r = await inTerminal('run t', dir, 'y\r');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✔ check/);
    expect(r.out).toMatch(/Is the error rate normal\?/);
    expect(r.out).toMatch(/✔ Look at the dashboard/);
    expect(r.out).toMatch(/✖ breaks/);
    expect(r.out).toMatch(/exit code 4: boom/);
    expect(r.out).toMatch(/Rollback \(1 step\)/);
    expect(r.out).toMatch(/failed in .* \(exit 1\)/);
  });
});

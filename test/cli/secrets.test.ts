import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

const SECRET = 'Sup3r-S3cret/Value+42';
const FORMS = [SECRET, Buffer.from(SECRET).toString('base64'), encodeURIComponent(SECRET)];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('secrets never reach a terminal, log, journal or output file', () => {
  it('masks a secret echoed plainly, to stderr, in base64, URL-encoded and split across chunks', async () => {
    const dir = project({
      's.yaml': `title: Secret handling
vars:
  token: { env: API_TOKEN, secret: true, required: true }
steps:
  - name: plain
    run: echo "token is" {{ vars.token }}
  - name: stderr
    run: echo {{ vars.token }} >&2
  - name: base64
    run: printf '%s' {{ vars.token }} | base64
  - name: urlencoded
    run: [node, -e, "console.log(encodeURIComponent(process.argv[1]))", "{{ vars.token }}"]
  - name: split across chunks
    run: |
      t={{ vars.token }}
      printf '%s' "\${t:0:7}"; sleep 0.3; printf '%s\\n' "\${t:7}"
  - name: by env name
    run: echo "$PGPASSWORD"
  - name: fails showing it
    run: echo {{ vars.token }} >&2; exit 1
`,
    });
    const env = { API_TOKEN: SECRET, PGPASSWORD: 'pg-Passw0rd-xyz' };
    const run = await maint(['run', 's'], { cwd: dir, env });
    expect(run.code).toBe(1);
    const plan = await maint(['plan', 's'], { cwd: dir, env });
    const hist = await maint(['history', 'last', '--json'], { cwd: dir, env });
    const printed = [run.stdout, run.stderr, plan.stdout, plan.stderr, hist.stdout].join('\n');
    const files = filesUnder(dir).filter((f) => !f.endsWith('s.yaml'));
    // the masked outputs are there, the secret is not
    expect(readFileSync(files.find((f) => f.endsWith('steps/plain.log'))!, 'utf8')).toBe('token is ***\n');
    expect(run.stdout).toMatch(/FAIL fails showing it .*exit code 1: \*\*\*/);
    expect(files.some((f) => f.endsWith('maintenance-log.md'))).toBe(true);
    expect(files.filter((f) => f.includes('/steps/')).length).toBeGreaterThanOrEqual(5);
    for (const form of [...FORMS, 'pg-Passw0rd-xyz']) {
      expect(printed, `printed: ${form}`).not.toContain(form);
      for (const f of files) expect(readFileSync(f, 'utf8'), `${f}: ${form}`).not.toContain(form);
    }
    const split = readFileSync(files.find((f) => f.endsWith('split_across_chunks.log'))!, 'utf8');
    expect(split.trim()).toBe('***');
  });
});

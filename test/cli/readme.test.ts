import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project, ROOT } from '../helpers/cli.js';

// The README's runbooks are what new users copy: each one must validate.
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^steps:/m.test(b));

describe('README runbooks', () => {
  it('has runbook examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });
  blocks.forEach((text, i) => {
    it(`example ${i + 1} validates and plans`, async () => {
      const dir = project({});
      writeFileSync(join(dir, 'runbooks', `example${i + 1}.yaml`), text);
      const r = await maint(['validate', `example${i + 1}`], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // …and plans as a newcomer's first try would, with nothing exported: the plan, or the
      // missing vars as positioned problems (exit 2); a crash fails in the helper.
      const plan = await maint(['plan', `example${i + 1}`], { cwd: dir, env: { TMPDIR: undefined, LANG: undefined } });
      expect([0, 2], plan.stderr).toContain(plan.code);
      if (plan.code === 2) for (const line of plan.stderr.trim().split('\n').slice(0, -1)) expect(line).toMatch(/^\S+:\d+:\d+: /);
    });
  });
});

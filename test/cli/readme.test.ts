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
    it(`example ${i + 1} validates`, async () => {
      const dir = project({});
      writeFileSync(join(dir, 'runbooks', `example${i + 1}.yaml`), text);
      const r = await maint(['validate', `example${i + 1}`], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  });
});

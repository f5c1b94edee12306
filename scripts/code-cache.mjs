#!/usr/bin/env node
/**
 * Writes dist/maint.cjs.cache (run by `npm run build`): V8's compiled code for the bundle after a
 * typical use, so a real run starts without compiling what this one compiled. V8 caches only the
 * functions that have run, so this loads the bundle the way bin/maint.js does and then runs, in
 * this process, the commands cron and CI run most: validate, plan and run of a small runbook
 * with vars, templates, expectations and outputs, in a throwaway project. It runs twice: the
 * first parses and fills the parse cache, the second reads it, as every later cron tick does.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_CACHE, cacheFile, loadCli } from '../bin/load.js';

const RUNBOOK = `title: Code cache warm-up
vars:
  word: { default: cached }
  token: { default: not-a-secret, secret: true }
defaults: { timeout: 30s, retry: { attempts: 2, delay: 1ms } }
steps:
  - name: Shell step {{ vars.word }}
    id: shell
    readonly: true
    run: echo {{ vars.word }}
    env: { TOKEN: "{{ vars.token }}" }
    outputs:
      word: stdout.trim()
    expect:
      - exit_code == 0
      - steps.shell.outputs.word == vars.word
    warn: size(stdout) > 1000
  - name: Command step
    when: steps.shell.outputs.word != ""
    run: [/bin/true]
    rollback: { run: [/bin/true] }
finally:
  - { name: Done, run: [/bin/true], readonly: true }
`;

const dir = mkdtempSync(join(tmpdir(), 'maint-code-cache-'));
const { main, script, sourceHash, build } = loadCli();
try {
  mkdirSync(join(dir, 'runbooks'));
  writeFileSync(join(dir, 'runbooks', 'warm.yaml'), RUNBOOK);
  process.chdir(dir);
  const commands = [['validate', '--strict'], ['run', 'warm', '-q'], ['plan', 'warm'], ['run', 'warm', '-q']];
  for (const args of commands) {
    await main(['node', 'maint', ...args], { build });
    if (process.exitCode) throw new Error(`maint ${args.join(' ')}: exit ${process.exitCode}`);
  }
  writeFileSync(CODE_CACHE, cacheFile(sourceHash, script.createCachedData()));
} finally {
  process.chdir(tmpdir());
  rmSync(dir, { recursive: true, force: true });
}

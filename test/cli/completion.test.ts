import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/tools.js';
import { BIN, childEnv, maint, project, ROOT } from '../helpers/cli.js';

const SHIPPED = readdirSync(join(ROOT, 'runbooks')).filter((f) => !f.startsWith('_')).map((f) => f.replace(/\.yaml$/, ''));

/** A project with a runbook of its own and one that hides a shipped name. */
const dir = project({ 'deploy.yaml': 'steps:\n  - { name: a, run: "true" }\n', 'daily.yaml': 'steps:\n  - { name: a, run: "true" }\n', '_piece.yaml': 'steps:\n  - { name: a, run: "true" }\n' });

/** PATH with a `maint` that runs this build, as an installed maint would be found. */
let path = '';
beforeAll(() => {
  const bin = mkdtempSync(join(tmpdir(), 'maint-bin-'));
  writeFileSync(join(bin, 'maint'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  path = `${bin}:${process.env.PATH}`;
});

/** Runs `script` in `shell` in the project with that PATH; its stdout lines. */
function shell(name: string, args: string[], script?: string): { code: number | null; out: string[]; stderr: string } {
  const r = spawnSync(name, [...args, ...(script === undefined ? [] : [script])], { cwd: dir, env: childEnv({ PATH: path }), encoding: 'utf8' });
  return { code: r.status, out: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** What bash offers for the last word of `words` (as after pressing Tab). */
function bashComplete(...words: string[]): string[] {
  const r = shell('bash', ['-c'], `source <(maint completion bash) && COMP_WORDS=(${words.map(q).join(' ')}) && COMP_CWORD=${words.length - 1} && _maint && printf '%s\\n' "\${COMPREPLY[@]}"`);
  expect(r.stderr).toBe('');
  return r.out;
}

describe('maint list --names', () => {
  it('prints exactly the runbook names, one per line, the project\'s before the shipped ones', async () => {
    const r = await maint(['list', '--names'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(['daily', 'deploy', ...SHIPPED.filter((n) => n !== 'daily')].join('\n') + '\n');
  });
});

describe('maint completion', () => {
  it('bash: completes commands, flags and runbook names from `maint list --names`', async () => {
    const script = await maint(['completion', 'bash'], { cwd: dir });
    expect(script.code).toBe(0);
    expect(script.stdout).toMatch(/^complete -o default -F _maint maint$/m);
    expect(bashComplete('maint', 'run', 'd').sort()).toEqual(['daily', 'deploy', 'dr-test']);
    expect(bashComplete('maint', 'run', 'da')).toEqual(['daily']);
    expect(bashComplete('maint', 'validate', 'upd').sort()).toEqual(SHIPPED.filter((n) => n.startsWith('upd')).sort());
    expect(bashComplete('maint', 'do')).toEqual(['doctor']);
    expect(bashComplete('maint', 'd')).toEqual(expect.arrayContaining(['doctor', 'dr-test']));
    expect(bashComplete('maint', 'plan', '--va').sort()).toEqual(['--var', '--vars-file']);
    expect(bashComplete('maint', 'doctor', '--')).toEqual(['--config', '--runbooks', '--json', '--help']);
    expect(bashComplete('maint', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    // After a flag that takes a value, nothing from maint: bash falls back to file names.
    expect(bashComplete('maint', 'run', '--var', 'd')).toEqual([]);
  });

  it('zsh: a script zsh parses, completing the same (where zsh is installed)', async () => {
    const script = await maint(['completion', 'zsh'], { cwd: dir });
    expect(script.code).toBe(0);
    expect(script.stdout).toMatch(/^#compdef maint\n/);
    requireTool('zsh');
    const file = join(mkdtempSync(join(tmpdir(), 'maint-zsh-')), '_maint');
    writeFileSync(file, script.stdout);
    expect(shell('zsh', ['-n', file]).code).toBe(0);
    // The completion builtins, stubbed to print what they are offered (zsh filters by prefix later).
    const stubs = `compdef() { :; }
compadd() { shift $(( \${@[(i)--]} )); print -l -- "$@"; }
_describe() { print -l -- \${\${(P)\${@[-1]}}%%:*}; }
_files() { print _files; }
source ${q(file)}`;
    const complete = (...w: string[]) => shell('zsh', ['-f', '-c'], `${stubs}\nwords=(${w.map(q).join(' ')}); CURRENT=${w.length}; PREFIX=${q(w.at(-1)!)}; _maint`);
    expect(complete('maint', 'run', 'd').out).toEqual(['daily', 'deploy', ...SHIPPED.filter((n) => n !== 'daily')]);
    expect(complete('maint', 'd').out).toEqual(expect.arrayContaining(['run', 'doctor', 'completion']));
    expect(complete('maint', 'plan', '--config', '').out).toEqual(['_files']);
    expect(complete('maint', 'doctor', '--').out).toEqual(['--config', '--runbooks', '--json', '--help']);
  });

  it('fish: a script fish parses, completing runbook names (where fish is installed)', async () => {
    const script = await maint(['completion', 'fish'], { cwd: dir });
    expect(script.code).toBe(0);
    expect(script.stdout).toMatch(/^complete -c maint -n '__fish_seen_subcommand_from run dr-test plan validate history' -a '\(maint list --names 2>\/dev\/null\)'$/m);
    requireTool('fish');
    const file = join(mkdtempSync(join(tmpdir(), 'maint-fish-')), 'maint.fish');
    writeFileSync(file, script.stdout);
    expect(shell('fish', ['-n', file]).code).toBe(0);
    const complete = (line: string) => shell('fish', ['--no-config', '-c'], `source ${q(file)}; complete -C ${q(line)}`).out.map((l) => l.split('\t')[0]);
    expect(complete('maint run d').sort()).toEqual(['daily', 'deploy', 'dr-test']);
    expect(complete('maint do')).toEqual(['doctor']);
    expect(complete('maint run --dr')).toEqual(['--dry-run']);
  });

  it('an unknown shell is exit 2 with the shells maint knows', async () => {
    const r = await maint(['completion', 'tcsh'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('maint: unknown shell "tcsh": expected one of bash, zsh, fish\n');
  });
});

/**
 * `maint demo`: the shipped `dr-test` and `daily` runbooks, for real, against a throwaway local
 * stack (PostgreSQL, a restic repository, an HTTP service). The services are torn down at the
 * end, on failure and on Ctrl-C; the demo folder with the maintenance log stays to be read.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../stack/stack.js';
import { missingStackTools } from '../../stack/tools.js';
import type { OutputFlags } from '../session.js';
import { runCommand } from './run.js';

const EXIT_INVALID = 2;

export async function demoCommand(flags: OutputFlags): Promise<number> {
  // Checked here (startStack checks too) so nothing is announced or started when a tool is missing.
  const missing = missingStackTools();
  if (missing.length > 0) {
    process.stderr.write(`maint demo needs tools that are not installed:\n${missing.map((m) => `  ${m.tool}: ${m.install}\n`).join('')}`);
    return EXIT_INVALID;
  }

  // Ctrl-C while the stack starts or between runs: stop and clean up. During a run the run's own
  // handler ends the step and rolls back first; the run then returns 130 and we stop here.
  const starting = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    starting.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  const say = (text: string) => process.stderr.write(`${text}\n`);
  let stack: Stack | undefined;
  try {
    say('maint demo: starting a throwaway PostgreSQL cluster, restic repository and HTTP service…');
    try {
      stack = await startStack({ signal: starting.signal });
    } catch (err) {
      if (interrupted) return exitFor(interrupted);
      throw err;
    }
    const dir = demoProject(stack);
    say(`  PostgreSQL on ${stack.postgres.socketDir}, restic repository ${stack.restic.repository}, HTTP service ${stack.http.url}`);
    say('  kubectl checks are skipped: the demo has no cluster (--var kubernetes=false)\n');

    const runs: [string, string[]][] = [
      ['dr-test', []],
      ['daily', ['kubernetes=false', `health_urls=${stack.http.healthUrl},${stack.http.readyUrl}`, `disk_path=${dir}`]],
    ];
    let code = 0;
    for (const [name, vars] of runs) {
      if (interrupted) break;
      const config = join(dir, 'maint.config.yaml');
      const result = await runCommand(name, { ...flags, config, var: vars });
      code = Math.max(code, result);
      if (result >= 128) break;
      if (!flags.json) process.stdout.write('\n');
    }
    const log = join(dir, 'maintenance-log.md');
    if (!flags.json) {
      process.stdout.write(`The maintenance log is ${log}:\n\n${readText(log)}`);
      say(`\nmaint demo: the services are stopped; ${dir} keeps the log and the run journal.`);
    }
    return interrupted ? exitFor(interrupted) : code;
  } finally {
    await stack?.stop();
    for (const s of signals) process.off(s, onSignal);
  }
}

/**
 * A folder of its own for the demo's config, log and journal, so a config in the current
 * folder (its webhooks, its own `daily`) stays out of it; the runbooks are the shipped ones.
 * The stack's credentials go where the shipped runbooks read them: the environment.
 */
function demoProject(stack: Stack): string {
  const dir = mkdtempSync(join(tmpdir(), 'maint-demo-'));
  writeFileSync(join(dir, 'maint.config.yaml'), 'runbooks: []\nlog: ./maintenance-log.md\nstate: ./.maint\n');
  Object.assign(process.env, stack.restic.env, {
    DATABASE_URL: stack.postgres.url('app'),
    MAINT_DR_SCRATCH_URL: stack.postgres.url('app_scratch'),
  });
  return dir;
}

function exitFor(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log was written)\n';
  }
}

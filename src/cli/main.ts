/**
 * The command line. Only commander loads at start-up; each command imports what it needs when
 * it runs, so `maint --help` and `maint --version` stay fast.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { setImporter, type Importer } from '../import-module.js';
import { packagePath } from '../package-root.js';
import { crashReport, crashStateDir, sourceMappedStack, writeCrashReport } from './crash.js';
import { describeError, isInternalError } from './errors.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function version(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Options every command that loads runbooks understands. */
function withConfig(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file (default: found by searching up from here: maint.config.yaml, .maintrc, package.json#maint …)')
    .option('--runbooks <dir>', 'runbook folder, searched before the shipped runbooks (repeatable; default ./runbooks)', collect);
}

function withVars(cmd: Command): Command {
  return cmd
    .option('--var <name=value>', 'set a var (repeatable); beats --vars-file, env and defaults', collect)
    .option('--vars-file <file>', 'YAML or JSON file of vars')
    .option('--from <step>', 'start at this step; earlier steps are skipped')
    .option('--only <step>', 'run only this step (and finally)');
}

/** What `run` and `dr-test` share: one option set, one path (commands/run.ts). */
function withRunOptions(cmd: Command): Command {
  return withVars(withConfig(cmd))
    .option('-y, --yes', 'answer yes to confirm steps (unattended runs pause at them otherwise, exit 5)')
    .option('--dry-run', 'print the plan and run nothing')
    .option('--no-rollback', 'on failure, do not run rollbacks')
    .option('--force', 'run outside the maintenance window (emergency maintenance; needs --reason)')
    .option('--reason <text>', 'why the window is overridden: recorded in the log')
    .option('--log <file>', 'maintenance log file (default ./maintenance-log.md)')
    .option('--state <dir>', 'state directory: journal, step output (default ./.maint)')
    .option('--json', 'NDJSON events on stdout (one JSON object per line, nothing else)')
    .option('--junit <file>', 'write a JUnit XML report (a testcase per step)')
    .option('-q, --quiet', 'only failures and the result')
    .option('-v, --verbose', 'all output of every step');
}

const RUN_EXIT_CODES = `Exit codes: 0 passed, 1 a step failed (rollbacks ok), 2 invalid input (nothing ran),
3 a rollback failed, 4 outside the window, 5 paused at a confirm step, 75 locked, 130/143 interrupted.`;

/** What bin/maint.js knows about how maint was loaded, for `maint doctor`. */
export interface Launch {
  /** The V8 code cache of the bundle: used, rejected by V8 (another Node), or missing. */
  codeCache?: 'used' | 'rejected' | 'missing';
  /** The bundle's SHA-1 (hex): it keys the parse cache, so an entry is used only by the build that made it. */
  build?: string;
  /** import() from outside the bundle, for JavaScript config files (see import-module.ts). */
  importModule?: Importer;
}

export function buildProgram(launch: Launch = {}): Command {
  const program = new Command('maint')
    .description('Run maintenance runbooks: YAML steps with expectations, retries, timeouts and rollbacks.')
    .version(version(), '-V, --version')
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  program
    .command('demo')
    .description('run the shipped dr-test and daily runbooks against a throwaway local stack (PostgreSQL, restic, an HTTP service)')
    .option('-q, --quiet', 'only failures and the result')
    .option('-v, --verbose', 'all output of every step')
    .addHelpText(
      'after',
      `
Needs PostgreSQL (server and client), restic and curl; \`maint doctor\` says how to install what is missing.
Everything it starts is stopped at the end, also on Ctrl-C; the demo folder keeps the log.

Examples:
  $ npx maint demo`,
    )
    .action(async (flags) => {
      const { demoCommand } = await import('./commands/demo.js');
      process.exitCode = await demoCommand(flags);
    });

  withRunOptions(program.command('run').argument('<runbook>', 'runbook name (or path to a .yaml file)'))
    .description('run a runbook (one with `objectives` is measured as a DR test)')
    .addHelpText(
      'after',
      `
Examples:
  $ maint run weekly
  $ maint run weekly --var namespace=staging --dry-run
  $ maint run update-patch --var image=api:v1.2.4 --yes
  $ maint run monthly --from vacuum
  $ maint run update-patch --force --reason "CVE-2026-1234 hotfix"

${RUN_EXIT_CODES}`,
    )
    .action(async (name: string, flags) => {
      const { runCommand } = await import('./commands/run.js');
      process.exitCode = await runCommand(name, flags, { build: launch.build });
    });

  withRunOptions(program.command('dr-test').argument('[runbook]', 'a runbook with `objectives` and a `disaster: true` step (default dr-test)'))
    .description('run a DR test: measure RTO and RPO against the runbook\'s objectives; a missed one fails the run')
    .addHelpText(
      'after',
      `
RTO: from the end of the \`disaster: true\` step to the end of the last step.
RPO: the time of the disaster minus the \`recovery_point\` output a step declares
(an ISO 8601 timestamp or unix seconds).

Examples:
  $ maint dr-test
  $ maint dr-test restore-drill --yes
  $ maint history --dr

${RUN_EXIT_CODES}
A missed objective fails the run (exit 1) even when every step passed; a runbook without
objectives or a disaster step is refused (exit 2).`,
    )
    .action(async (name: string | undefined, flags) => {
      const { drTestCommand } = await import('./commands/dr-test.js');
      process.exitCode = await drTestCommand(name, flags, { build: launch.build });
    });

  withVars(withConfig(program.command('plan').argument('<runbook>', 'runbook name (or path)')))
    .description('print exactly what a run would do: commands with vars resolved, secrets masked; runs nothing')
    .option('--json', 'the plan as JSON')
    .addHelpText('after', `
Examples:
  $ maint plan daily
  $ maint plan update-patch --var image=api:v1.2.4`)
    .action(async (name: string, flags) => {
      const { planCommand } = await import('./commands/plan.js');
      process.exitCode = await planCommand(name, flags, { build: launch.build });
    });

  withConfig(program.command('validate').argument('[files...]', 'runbook files or names (default: every runbook found)'))
    .description('check runbooks and report every problem at once as file:line:col: path: message')
    .option('--strict', 'also require a rollback (or readonly: true) on every step that runs a command')
    .option('--json', 'problems as JSON')
    .addHelpText('after', `
Examples:
  $ maint validate
  $ maint validate runbooks/weekly.yaml --strict`)
    .action(async (files: string[], flags) => {
      const { validateCommand } = await import('./commands/validate.js');
      process.exitCode = await validateCommand(files, flags);
    });

  withConfig(program.command('list'))
    .description('list the runbooks maint can find')
    .option('--json', 'as JSON')
    .option('--all', 'also the pieces (`_name.yaml`) that runbooks include')
    .option('--names', 'only the names, one per line (for shell completion)')
    .addHelpText('after', `
Examples:
  $ maint list
  $ maint list --all
  $ maint list --runbooks ./ops/runbooks`)
    .action(async (flags) => {
      const { listCommand } = await import('./commands/list.js');
      process.exitCode = await listCommand(flags);
    });

  withConfig(program.command('doctor'))
    .description('check this machine: the tools runbooks need and their versions, the cluster, env vars, config, state dir')
    .option('--json', 'the same facts as JSON')
    .addHelpText('after', `
Exit 1 when a tool a runbook needs is missing (or the log or state dir is not writable);
warnings (unreachable cluster, unset env vars, a tool no runbook needs) leave it 0.

Examples:
  $ maint doctor
  $ maint doctor --json`)
    .action(async (flags) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      process.exitCode = await doctorCommand(flags, launch);
    });

  program
    .command('completion')
    .argument('<shell>', 'bash, zsh or fish')
    .description('print a shell completion script: commands, flags and runbook names')
    .addHelpText('after', `
Examples:
  $ source <(maint completion bash)                            # in ~/.bashrc
  $ maint completion zsh > "\${fpath[1]}/_maint"                # then restart zsh
  $ maint completion fish > ~/.config/fish/completions/maint.fish`)
    .action(async (shell: string, _flags, cmd: Command) => {
      const { completionCommand } = await import('./commands/completion.js');
      process.exitCode = completionCommand(shell, cmd.parent!);
    });

  withConfig(program.command('history').argument('[runbook-or-run]', 'a runbook name to filter by, or a run id (or `last`) to show its steps'))
    .description('past runs from the journal: id, runbook, start, duration, result, who')
    .option('--json', 'as JSON')
    .option('--dr', 'DR tests only: measured RTO and RPO against the objectives, newest first (the trend)')
    .option('--limit <n>', 'how many runs (default 20)')
    .option('--state <dir>', 'state directory (default ./.maint)')
    .addHelpText('after', `
Examples:
  $ maint history
  $ maint history weekly --limit 5
  $ maint history --dr dr-test
  $ maint history last`)
    .action(async (arg: string | undefined, flags) => {
      const { historyCommand } = await import('./commands/history.js');
      process.exitCode = await historyCommand(arg, flags);
    });

  withConfig(program.command('resume').argument('[run]', 'run id, or `last` (default: the newest failed, paused or interrupted run)'))
    .description('continue a failed, paused or interrupted run from the step that did not finish')
    .option('-y, --yes', 'answer yes to confirm steps (resumes a run paused at one)')
    .option('--var <name=value>', 'set a var again (secrets are never stored; pass them again or through their env)', collect)
    .option('--no-rollback', 'on failure, do not run rollbacks')
    .option('--log <file>', 'maintenance log file (default ./maintenance-log.md)')
    .option('--state <dir>', 'state directory (default ./.maint)')
    .option('--json', 'NDJSON events on stdout')
    .option('--junit <file>', 'write a JUnit XML report')
    .option('-q, --quiet', 'only failures and the result')
    .option('-v, --verbose', 'all output of every step')
    .addHelpText('after', `
Examples:
  $ maint resume --yes          # the run paused at a confirm step
  $ maint resume 20261123T020001Z-3f9a1c`)
    .action(async (arg: string | undefined, flags) => {
      const { resumeCommand } = await import('./commands/resume.js');
      process.exitCode = await resumeCommand(arg, flags, { build: launch.build });
    });

  withConfig(program.command('schedule'))
    .description('runbooks with a schedule: next runs and windows; or ready crontab lines / Kubernetes CronJobs')
    .option('--crontab', 'print crontab lines (cd, PATH, the command, where output goes)')
    .option('--k8s', 'print Kubernetes CronJob manifests (batch/v1, concurrencyPolicy Forbid)')
    .option('--image <image>', 'with --k8s: the container image with maint (default maint:latest)')
    .option('--namespace <ns>', 'with --k8s: namespace (default maintenance)')
    .option('--configmap <name>', 'with --k8s: ConfigMap holding the runbooks (default maint-runbooks)')
    .option('--state-claim <name>', 'with --k8s: PersistentVolumeClaim for the state and log (default maint-state)')
    .option('--count <n>', 'how many next runs to show (default 3)')
    .option('--json', 'as JSON')
    .addHelpText('after', `
Examples:
  $ maint schedule
  $ maint schedule --crontab | crontab -
  $ maint schedule --k8s --image registry.example.com/maint:1.0 | kubectl apply -f -`)
    .action(async (flags) => {
      const { scheduleCommand } = await import('./commands/schedule.js');
      process.exitCode = await scheduleCommand(flags);
    });

  program
    .command('init')
    .argument('[dir]', 'project folder (default: the current one)')
    .description('start a project: maint.config.yaml and runbooks/example.yaml; existing files are kept')
    .option('--force', 'overwrite maint.config.yaml and runbooks/example.yaml when they exist')
    .addHelpText('after', `
Examples:
  $ maint init
  $ maint init ops && cd ops && maint plan example`)
    .action(async (dir: string | undefined, flags) => {
      const { initCommand } = await import('./commands/init.js');
      process.exitCode = await initCommand(dir, flags);
    });

  program
    .command('schema')
    .description('print the runbook JSON Schema (for editors: yaml-language-server)')
    .addHelpText('after', `
Examples:
  $ maint schema > schema/runbook.schema.json
  # then, at the top of a runbook:
  # yaml-language-server: $schema=../schema/runbook.schema.json`)
    .action(async () => {
      const { schemaCommand } = await import('./commands/schema.js');
      process.exitCode = await schemaCommand();
    });

  program.addOption(new Option('--no-color', 'no colours (also NO_COLOR)').hideHelp());
  return program;
}

export async function main(argv: string[], launch: Launch = {}): Promise<void> {
  if (launch.importModule) setImporter(launch.importModule);
  // `maint list | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // What escapes every try (a throw in a timer or an event handler) is a bug too: the same one
  // line and crash file, and 70 rather than Node's exit 1, which would read as "a step failed".
  const fatal = (err: unknown) => {
    const { lines, exitCode } = reportCrash(err, argv);
    for (const line of lines) process.stderr.write(line + '\n');
    process.exit(exitCode);
  };
  process.once('uncaughtException', fatal);
  process.once('unhandledRejection', fatal);
  const program = buildProgram(launch);
  try {
    // A documented way to see the crash path work end to end (test/cli/plan-errors.test.ts).
    const crashTest = process.env.MAINT_CRASH_TEST;
    if (crashTest === 'uncaught') setTimeout(() => { throw new Error('MAINT_CRASH_TEST=uncaught: a deliberate crash'); }, 0);
    if (crashTest === '1') throw new Error('MAINT_CRASH_TEST=1: a deliberate crash');
    await program.parseAsync(argv);
  } catch (err) {
    const { lines, exitCode } = isInternalError(err) ? reportCrash(err, argv) : describeError(err);
    for (const line of lines) process.stderr.write(line + '\n');
    process.exitCode = exitCode === 0 ? 0 : exitCode;
    // commander signals --help / --version through its exit override with code 0.
    const code = (err as { code?: string; exitCode?: number }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exitCode = 0;
  }
}

/**
 * An internal error: the source-mapped stack to a crash file, one line to the terminal (and the
 * stack too with MAINT_DEBUG=1). Whatever fails in here must not hide the original error.
 */
function reportCrash(err: unknown, argv: string[]): { lines: string[]; exitCode: number } {
  let ver: string | undefined;
  let crashFile: string | null = null;
  try {
    ver = version();
  } catch {
    ver = undefined;
  }
  const now = new Date();
  try {
    const text = crashReport(err, { version: ver ?? 'unknown', argv, now });
    crashFile = writeCrashReport(text, crashStateDir(argv, process.env, process.cwd()), now);
    if (process.env.MAINT_DEBUG === '1') process.stderr.write(text);
  } catch {
    if (process.env.MAINT_DEBUG === '1') process.stderr.write(sourceMappedStack(String((err as Error)?.stack ?? err)) + '\n');
  }
  return describeError(err, { version: ver, crashFile });
}

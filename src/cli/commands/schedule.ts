import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ensureDir, PathError } from '../../fs/ensure-dir.js';
import { packagePath } from '../../package-root.js';
import { UsageError } from '../errors.js';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { formatDiagnostic, sortDiagnostics } from '../../runbook/diagnostics.js';
import { RunbookLibrary } from '../../runbook/library.js';
import { crontabLines, type ScheduledRunbook } from '../../schedule/crontab.js';
import { cronJobManifests } from '../../schedule/k8s.js';
import { describeSchedule, nextFireTimes } from '../../schedule/next.js';
import { describeWindow, formatInZone } from '../../schedule/window.js';

export interface ScheduleFlags extends ConfigFlags {
  crontab?: boolean;
  k8s?: boolean;
  json?: boolean;
  count?: string;
  image?: string;
  namespace?: string;
  configmap?: string;
  stateClaim?: string;
}

export async function scheduleCommand(flags: ScheduleFlags): Promise<number> {
  const config = await loadConfig(flags);
  const library = new RunbookLibrary(config.runbooks);
  const runbooks: (ScheduledRunbook & { title: string; window?: { cron: string; duration: string } })[] = [];
  // A scheduled runbook that an edit broke must not drop out of the schedule in silence: a
  // reinstalled crontab would lose its line. Each is named on stderr and the command exits 1.
  const broken: { name: string; problems: string[] }[] = [];
  for (const ref of library.list()) {
    const parsed = library.parseFile(ref.file);
    const rb = parsed.runbook;
    if (!rb) {
      if (/^schedule\s*:/m.test(readText(ref.file))) broken.push({ name: ref.name, problems: sortDiagnostics(parsed.diagnostics).map(formatDiagnostic) });
      continue;
    }
    if (!rb.input.schedule) continue;
    runbooks.push({ name: ref.name, title: rb.input.title ?? ref.name, schedule: rb.input.schedule, timezone: rb.input.timezone, window: rb.input.window });
  }
  for (const b of broken) {
    for (const line of b.problems) process.stderr.write(`${line}\n`);
    process.stderr.write(`maint: ${b.name} is not scheduled: it does not validate (maint validate)\n`);
  }
  const done = broken.length > 0 ? 1 : 0;
  const notScheduled = broken.map((b) => `# ${b.name}: NOT SCHEDULED: the runbook does not validate (maint validate)\n`).join('');
  if (flags.crontab) {
    const maintBin = packagePath('bin', 'maint.js');
    const logDir = resolve(dirname(config.log), 'logs');
    // The lines append each run's output there; cron would fail on a missing folder.
    try {
      ensureDir(logDir, 0o750);
    } catch (err) {
      if (err instanceof PathError) throw new UsageError(`--crontab: the folder for the runs' output: ${err.message}`);
      throw err;
    }
    process.stdout.write(notScheduled + crontabLines(runbooks, { cwd: process.cwd(), maintBin, nodeBin: process.execPath, path: process.env.PATH ?? '', logDir }));
    return done;
  }
  if (flags.k8s) {
    process.stdout.write(cronJobManifests(runbooks, {
      image: flags.image ?? 'maint:latest', namespace: flags.namespace ?? 'maintenance',
      configMap: flags.configmap ?? 'maint-runbooks', stateClaim: flags.stateClaim ?? 'maint-state',
    }));
    return done;
  }
  const count = flags.count === undefined ? 3 : Math.max(1, Number(flags.count) || 3);
  const now = new Date();
  const rows = runbooks.map((r) => {
    const tz = r.timezone ?? 'UTC';
    return {
      runbook: r.name,
      schedule: describeSchedule(r.schedule!, tz),
      next: nextFireTimes(r.schedule!, tz, now, count).map((d) => formatInZone(d, tz)),
      window: r.window ? describeWindow(r.window, tz) : null,
    };
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return done;
  }
  if (rows.length === 0) {
    process.stdout.write('no runbook has a schedule\n');
    return done;
  }
  for (const r of rows) {
    process.stdout.write(`${r.runbook}: ${r.schedule}${r.window ? `; window ${r.window}` : ''}\n`);
    for (const n of r.next) process.stdout.write(`  next: ${n}\n`);
  }
  return done;
}

/** The runbook's text, to tell whether a runbook that does not validate was meant to be scheduled. */
function readText(file: string): string {
  try {
    const st = statSync(file);
    // Only a plain runbook-sized file: a FIFO would block, a huge file was refused already.
    return st.isFile() && st.size <= 1 << 20 ? readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

import { dirname, resolve } from 'node:path';
import { ensureDir, PathError } from '../../fs/ensure-dir.js';
import { packagePath } from '../../package-root.js';
import { UsageError } from '../errors.js';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
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
  for (const ref of library.list()) {
    const rb = library.parseFile(ref.file).runbook;
    if (!rb?.input.schedule) continue;
    runbooks.push({ name: ref.name, title: rb.input.title ?? ref.name, schedule: rb.input.schedule, timezone: rb.input.timezone, window: rb.input.window });
  }
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
    process.stdout.write(crontabLines(runbooks, { cwd: process.cwd(), maintBin, nodeBin: process.execPath, path: process.env.PATH ?? '', logDir }));
    return 0;
  }
  if (flags.k8s) {
    process.stdout.write(cronJobManifests(runbooks, {
      image: flags.image ?? 'maint:latest', namespace: flags.namespace ?? 'maintenance',
      configMap: flags.configmap ?? 'maint-runbooks', stateClaim: flags.stateClaim ?? 'maint-state',
    }));
    return 0;
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
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('no runbook has a schedule\n');
    return 0;
  }
  for (const r of rows) {
    process.stdout.write(`${r.runbook}: ${r.schedule}${r.window ? `; window ${r.window}` : ''}\n`);
    for (const n of r.next) process.stdout.write(`  next: ${n}\n`);
  }
  return 0;
}

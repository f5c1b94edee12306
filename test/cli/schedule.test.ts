import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { maint, project } from '../helpers/cli.js';

const files = {
  'daily.yaml': 'title: Daily\nschedule: "0 6 * * *"\nsteps:\n  - { name: check, run: "echo checked >> trail" }\n',
  'weekly.yaml': 'title: Weekly\nschedule: "0 2 * * SUN"\nwindow: { cron: "0 2 * * SUN", duration: 1m }\nsteps:\n  - { name: a, run: "echo ran >> trail" }\n',
  'monthly.yaml': 'title: Monthly\nschedule: "0 9 * * MON#1"\ntimezone: Europe/Helsinki\nsteps:\n  - { name: a, run: "true" }\n',
};

describe('windows', () => {
  it('outside the window: exit 4 with the next opening; --force --reason runs and the log records it', async () => {
    const dir = project(files);
    const refused = await maint(['run', 'weekly'], { cwd: dir });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/outside the maintenance window of weekly \(Sundays 02:00 for 1m, UTC\); next window opens \d{4}-\d\d-\d\d 02:00 UTC/);
    const noReason = await maint(['run', 'weekly', '--force'], { cwd: dir });
    expect(noReason.code).toBe(2);
    const forced = await maint(['run', 'weekly', '--force', '--reason', 'CVE hotfix'], { cwd: dir });
    expect(forced.code).toBe(0);
    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: passed, forced outside the window/);
    expect(log).toMatch(/\*\*Forced\*\*: by \S+@\S+: CVE hotfix/);
  });
});

describe('maint schedule', () => {
  it('a scheduled runbook that no longer validates is named, marked in --crontab, and the command exits 1', async () => {
    const dir = project({
      'nightly.yaml': 'schedule: "0 6 * * *"\ntimezone: Europe/Helsinky\nsteps:\n  - { name: a, run: echo }\n',
      'good.yaml': 'schedule: "0 7 * * *"\nsteps:\n  - { name: a, run: echo }\n',
    });
    const cron = await maint(['schedule', '--crontab'], { cwd: dir });
    expect(cron.code).toBe(1);
    expect(cron.stdout).toMatch(/^# nightly: NOT SCHEDULED: the runbook does not validate/m);
    expect(cron.stdout).toMatch(/^0 7 \* \* \* .* run good --yes/m);
    expect(cron.stderr).toMatch(/^runbooks\/nightly\.yaml:2:11: timezone: .*\nmaint: nightly is not scheduled/m);
    const list = await maint(['schedule'], { cwd: dir });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain('maint: nightly is not scheduled');
  });

  it('lists next runs and windows', async () => {
    const dir = project(files);
    const r = await maint(['schedule', '--json'], { cwd: dir });
    const rows = JSON.parse(r.stdout);
    // The project's own daily/weekly/monthly shadow the shipped ones; the shipped quarterly is listed too.
    expect(rows.map((x: { runbook: string }) => x.runbook).sort()).toEqual(['daily', 'monthly', 'quarterly', 'weekly']);
    expect(rows.find((x: { runbook: string }) => x.runbook === 'quarterly').schedule).toMatch(/^last Friday of Mar, Jun, Sep, Dec 09:00 UTC/);
    const monthly = rows.find((x: { runbook: string }) => x.runbook === 'monthly');
    expect(monthly.schedule).toMatch(/first Monday of the month 09:00 Europe\/Helsinki/);
    expect(monthly.next).toHaveLength(3);
  });

  it('--crontab lines run under cron\'s bare environment (env -i)', async () => {
    const dir = project(files);
    const r = await maint(['schedule', '--crontab'], { cwd: dir });
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.includes(' run daily '))!;
    const fields = line.split(' ');
    expect(fields.slice(0, 5).join(' ')).toBe('0 6 * * *');
    const command = fields.slice(5).join(' ').replace(/\\%/g, '%');
    const path = /^PATH=(.*)$/m.exec(r.stdout)![1]!;
    const res = spawnSync('env', ['-i', `PATH=${path}`, 'SHELL=/bin/bash', 'HOME=/tmp', '/bin/bash', '-c', command], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(readFileSync(join(dir, 'trail'), 'utf8').trim()).toBe('checked');
    expect(readFileSync(join(dir, 'logs/daily.cron.log'), 'utf8')).toMatch(/passed/);
  });

  it('--k8s prints CronJobs with Forbid, the runbooks ConfigMap and the state volume', async () => {
    const dir = project(files);
    const r = await maint(['schedule', '--k8s', '--image', 'registry.example/maint:1'], { cwd: dir });
    expect(r.code).toBe(0);
    const docs = r.stdout.split(/^---$/m).map((d) => parse(d)).filter(Boolean);
    expect(docs).toHaveLength(4);
    for (const d of docs) {
      expect(d).toMatchObject({ apiVersion: 'batch/v1', kind: 'CronJob', spec: { concurrencyPolicy: 'Forbid' } });
      const pod = d.spec.jobTemplate.spec.template.spec;
      expect(pod.containers[0].image).toBe('registry.example/maint:1');
      expect(JSON.stringify(pod.volumes)).toMatch(/configMap/);
      expect(JSON.stringify(pod.volumes)).toMatch(/persistentVolumeClaim/);
    }
    expect(docs.find((d) => d.metadata.name.includes('monthly')).spec.timeZone).toBe('Europe/Helsinki');
  });
});

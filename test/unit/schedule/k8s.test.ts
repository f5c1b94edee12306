import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { cronJobManifests, cronJobName } from '../../../src/schedule/k8s.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are checked field by field */

const opts = { image: 'ghcr.io/acme/maint:1.2', namespace: 'ops', configMap: 'maint-runbooks', stateClaim: 'maint-state' };
const runbooks = [
  { name: 'weekly', schedule: '0 2 * * SUN' },
  { name: 'monthly', schedule: '0 9 * * MON#1', timezone: 'Europe/Helsinki' },
  { name: 'adhoc' },
  { name: 'odd', schedule: '0 9 15W * *' },
  { name: 'DB_vacuum.nightly', schedule: '0 3 * * *', timezone: 'America/New_York' },
];
const text = cronJobManifests(runbooks, opts);
const docs = parseAllDocuments(text).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS() as any;
});
const byRunbook = (name: string) => docs.find((d) => d.metadata.annotations['maint/runbook'] === name);

describe('cronJobManifests', () => {
  it('one batch/v1 CronJob per runbook with a schedule Kubernetes can run, separated by ---', () => {
    expect(docs).toHaveLength(3);
    expect(text.match(/^---$/gm)).toHaveLength(2);
    for (const d of docs) {
      expect(d.apiVersion).toBe('batch/v1');
      expect(d.kind).toBe('CronJob');
      expect(d.metadata.namespace).toBe('ops');
    }
    expect(docs.map((d) => d.metadata.annotations['maint/runbook'])).toEqual(['weekly', 'monthly', 'DB_vacuum.nightly']);
  });

  it('says in the header what it needs and what it left out', () => {
    expect(text.startsWith('# maint')).toBe(true);
    expect(text).toContain('kubectl create configmap maint-runbooks --from-file=runbooks/ -n ops');
    expect(text).toMatch(/# odd: left out, .*15W/);
  });

  it('carries schedule, timeZone, Forbid, deadlines and history limits', () => {
    const w = byRunbook('weekly');
    expect(w.spec).toMatchObject({
      schedule: '0 2 * * 0',
      timeZone: 'UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: expect.any(Number),
      successfulJobsHistoryLimit: expect.any(Number),
      failedJobsHistoryLimit: expect.any(Number),
    });
    expect(byRunbook('DB_vacuum.nightly').spec.timeZone).toBe('America/New_York');
    expect(byRunbook('monthly').spec.timeZone).toBe('Europe/Helsinki');
  });

  it('runs maint run NAME --yes once, with the ConfigMap at /runbooks and the PVC at /state', () => {
    const job = byRunbook('weekly').spec.jobTemplate.spec;
    expect(job.backoffLimit).toBe(0);
    const pod = job.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    const [c] = pod.containers;
    expect(c.image).toBe('ghcr.io/acme/maint:1.2');
    expect(c.command).toEqual(['maint', 'run', 'weekly', '--yes']);
    expect(c.env).toEqual([
      { name: 'MAINT_RUNBOOKS', value: '/runbooks' },
      { name: 'MAINT_STATE', value: '/state' },
      { name: 'MAINT_LOG', value: '/state/maintenance-log.md' },
    ]);
    const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m.mountPath]));
    expect(mounts).toEqual({ runbooks: '/runbooks', state: '/state' });
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    expect(volumes.runbooks.configMap).toEqual({ name: 'maint-runbooks' });
    expect(volumes.state.persistentVolumeClaim).toEqual({ claimName: 'maint-state' });
  });

  it('writes plain YAML, no anchors or aliases', () => {
    expect(text).not.toMatch(/[&*]a\d/);
  });

  it('names are DNS-1123 and at most 52 characters, distinct for names that differ only in case or punctuation', () => {
    for (const d of docs) expect(d.metadata.name).toMatch(/^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/);
    expect(cronJobName('weekly')).toBe('maint-weekly');
    expect(cronJobName('db_vacuum')).not.toBe(cronJobName('db-vacuum'));
    expect(cronJobName('x'.repeat(80)).length).toBeLessThanOrEqual(52);
    expect(byRunbook('DB_vacuum.nightly').metadata.labels['maint/runbook']).toBe('DB_vacuum.nightly');
  });

  it('says so when no runbook has a schedule', () => {
    const empty = cronJobManifests([{ name: 'adhoc' }], opts);
    expect(parseAllDocuments(empty).every((d) => d.contents === null)).toBe(true);
    expect(empty).toContain('no runbook has a schedule');
  });
});

describe('#n / L schedules in Kubernetes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'maint-k8s-'));
    const realDate = execFileSync('bash', ['-c', 'command -v date'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    writeFileSync(
      join(dir, 'date'),
      `#!/bin/bash\nfor a in "$@"; do case "$a" in -d|-d?*|--date|--date=*) exec ${realDate} "$@";; esac; done\nexec ${realDate} -d "$FAKE_NOW" "$@"\n`,
    );
    writeFileSync(join(dir, 'maint'), '#!/bin/bash\necho "maint $*"\n');
    chmodSync(join(dir, 'date'), 0o755);
    chmodSync(join(dir, 'maint'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Run the container command as the Pod would, on a given instant; stdin closed (see crontab.test.ts). */
  const runPod = (command: string[], fakeNow: string) =>
    execFileSync(command[0]!, command.slice(1), {
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, FAKE_NOW: fakeNow },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('schedules the candidate days; the guard runs maint on the right day and exits 0 on the others', () => {
    const m = byRunbook('monthly');
    expect(m.spec.schedule).toBe('0 9 1-7 * *');
    const command: string[] = m.spec.jobTemplate.spec.template.spec.containers[0].command;
    expect(command.slice(0, 2)).toEqual(['bash', '-c']);
    // 2026-12-07 09:00 Helsinki is the first Monday; 2026-12-01 is a Tuesday.
    expect(runPod(command, '2026-12-07T07:00:00Z')).toBe('maint run monthly --yes\n');
    const off = runPod(command, '2026-12-01T07:00:00Z'); // throws if the exit status is not 0
    expect(off).toMatch(/^maint: not running monthly today/);
    expect(off).not.toContain('maint run');
  });

  it('last Friday: the weekday in the schedule, "7 days later is next month" in the guard', () => {
    const [doc] = parseAllDocuments(cronJobManifests([{ name: 'lastfri', schedule: '0 9 * * 5L', timezone: 'UTC' }], opts)).map((d) => d.toJS() as any);
    expect(doc.spec.schedule).toBe('0 9 * * 5');
    const command: string[] = doc.spec.jobTemplate.spec.template.spec.containers[0].command;
    expect(runPod(command, '2026-11-27T09:00:00Z')).toBe('maint run lastfri --yes\n');
    expect(runPod(command, '2026-11-20T09:00:00Z')).toMatch(/^maint: not running lastfri today/);
  });
});

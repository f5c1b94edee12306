/**
 * Kubernetes CronJob manifests for scheduled runbooks (`maint schedule --k8s`). Pure.
 *
 * Kubernetes cron (robfig/cron) reads standard 5-field cron only, no `#n` or `L`. A runbook with
 * such a schedule gets the portable translation from crontab.ts: a CronJob on the candidate days
 * whose container runs bash, checks the guard (GNU date, in the runbook's zone), and either
 * `exec`s maint or prints why not and exits 0, so off days are successful no-op Jobs rather than
 * failures. The image needs bash and GNU date for those; maint's image has bash anyway, since
 * `run:` strings run through `bash -c`. Schedules even that cannot express are left out, with
 * a comment in the header.
 */
import { createHash } from 'node:crypto';
import { Document } from 'yaml';
import { portableSchedule, shellQuote, type ScheduledRunbook } from './crontab.js';
import { describeSchedule } from './next.js';

export interface K8sOptions {
  /** Image with maint (and the tools the runbooks call) on PATH. */
  image: string;
  namespace: string;
  /** ConfigMap with the runbook files, mounted at /runbooks. */
  configMap: string;
  /** PersistentVolumeClaim for journal, locks, output and the maintenance log, mounted at /state. */
  stateClaim: string;
}

/** Seconds after a missed fire time that the Job may still start (controller down, Forbid). */
export const STARTING_DEADLINE_SECONDS = 600;
export const SUCCESSFUL_JOBS_HISTORY = 3;
export const FAILED_JOBS_HISTORY = 5;

/** A CronJob name from a runbook name: `maint-<slug>`, DNS-1123, ≤ 52 characters (Kubernetes' limit for CronJobs). */
export function cronJobName(runbook: string): string {
  const slug = runbook
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  const name = `maint-${slug}`.replace(/-$/, '');
  if (slug === runbook && name.length <= 52) return name;
  // Lossy (case, `_`, `.`) or too long: a hash of the real name keeps names apart.
  const hash = createHash('sha256').update(runbook).digest('hex').slice(0, 6);
  return `${name.slice(0, 52 - 7).replace(/-+$/, '')}-${hash}`;
}

/** A label value (≤ 63, alphanumeric at both ends) for a runbook name. */
function labelValue(runbook: string): string {
  if (runbook.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(runbook)) return runbook;
  return cronJobName(runbook).slice('maint-'.length);
}

/**
 * YAML, one `batch/v1` CronJob per runbook with a schedule, separated by `---`, the first
 * preceded by a comment on what the manifests need.
 */
export function cronJobManifests(runbooks: readonly ScheduledRunbook[], opts: K8sOptions): string {
  const docs: Document[] = [];
  const notes: string[] = [];
  for (const rb of runbooks) {
    if (rb.schedule === undefined || rb.schedule.trim() === '') continue;
    const timezone = rb.timezone ?? 'UTC';
    const portable = portableSchedule(rb.schedule, timezone);
    if (!portable.ok) {
      notes.push(` ${rb.name}: left out, ${portable.reason}`);
      continue;
    }
    const labels = { 'app.kubernetes.io/name': 'maint', 'maint/runbook': labelValue(rb.name) };
    const maint = ['maint', 'run', rb.name, '--yes'];
    const command = portable.guard
      ? [
          'bash',
          '-c',
          `if ${portable.guard}; then exec ${maint.map(shellQuote).join(' ')}; fi\n` +
            `echo ${shellQuote(`maint: not running ${rb.name} today: its schedule is ${describeSchedule(rb.schedule, timezone)}`)}`,
        ]
      : maint;
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: {
        name: cronJobName(rb.name),
        namespace: opts.namespace,
        labels,
        annotations: { 'maint/runbook': rb.name, 'maint/schedule': rb.schedule },
      },
      spec: {
        schedule: portable.schedule,
        timeZone: timezone,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
        successfulJobsHistoryLimit: SUCCESSFUL_JOBS_HISTORY,
        failedJobsHistoryLimit: FAILED_JOBS_HISTORY,
        jobTemplate: {
          metadata: { labels },
          spec: {
            // maint retries steps itself; a second Pod would rerun steps that already changed things.
            backoffLimit: 0,
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'maint',
                    image: opts.image,
                    command,
                    env: [
                      { name: 'MAINT_RUNBOOKS', value: '/runbooks' },
                      { name: 'MAINT_STATE', value: '/state' },
                      { name: 'MAINT_LOG', value: '/state/maintenance-log.md' },
                    ],
                    volumeMounts: [
                      { name: 'runbooks', mountPath: '/runbooks', readOnly: true },
                      { name: 'state', mountPath: '/state' },
                    ],
                  },
                ],
                volumes: [
                  { name: 'runbooks', configMap: { name: opts.configMap } },
                  { name: 'state', persistentVolumeClaim: { claimName: opts.stateClaim } },
                ],
              },
            },
          },
        },
      },
    };
    // No anchors and aliases for the repeated labels: plain YAML for every reader.
    const doc = new Document(manifest, { aliasDuplicateObjects: false });
    const note = portable.guard ? `; Kubernetes cron has no #n or L: runs on ${portable.schedule}, ${portable.guardNote}` : '';
    doc.commentBefore = ` ${rb.name}: ${describeSchedule(rb.schedule, timezone)}${note}`;
    docs.push(doc);
  }

  const header = [
    ' maint: scheduled runbooks as Kubernetes CronJobs (generated by `maint schedule --k8s`).',
    ' Needs Kubernetes 1.27+ (spec.timeZone), and in this namespace:',
    `   ConfigMap ${opts.configMap} with the runbook files, included runbooks too:`,
    `     kubectl create configmap ${opts.configMap} --from-file=runbooks/ -n ${opts.namespace}`,
    `   PersistentVolumeClaim ${opts.stateClaim} for journal, locks and the log; it is shared by every`,
    '     CronJob, so ReadWriteMany unless all the Jobs run on one node.',
    ' Vars that read the environment (env:) need env/envFrom entries added to the container.',
    ' Schedules with #n or L run on their candidate days; a bash guard (GNU date) skips the others.',
    ...notes,
  ];
  if (docs.length === 0) return header.map((l) => `#${l}`).join('\n') + '\n# no runbook has a schedule that Kubernetes can run\n';
  docs[0]!.commentBefore = [...header, '', docs[0]!.commentBefore ?? ''].join('\n');
  return docs.map((d) => d.toString({ lineWidth: 0 })).join('---\n');
}

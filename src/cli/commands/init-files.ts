/**
 * The files `maint init` writes. The config's commented settings are real keys of
 * config/config.ts: uncommented, the file still loads (test/cli/init.test.ts checks that).
 */

export const CONFIG_FILE = 'maint.config.yaml';
export const EXAMPLE_FILE = 'runbooks/example.yaml';

export const CONFIG_TEXT = `# maint configuration. Paths are relative to this file; flags and MAINT_* variables beat it.
runbooks: [./runbooks]             # searched in order, then the runbooks shipped with maint
log: ./maintenance-log.md          # every run appends an entry
state: ./.maint                    # run journal and each step's full output

# Defaults for every runbook that declares these vars (--var beats them):
# vars:
#   namespace: my-app

# More environment variables whose values are masked as *** (PGPASSWORD, *_TOKEN, … already are):
# secret_env: [MY_API_CREDENTIAL]

# POST to a webhook on these outcomes (also: success, warning, paused, interrupted):
# notify:
#   - url: https://hooks.slack.com/services/T000/B000/XXXX
#     on: [failure, rollback_failed]
#     format: slack

# Ping /start, then /<exit code> (healthchecks.io convention):
# healthcheck: https://hc-ping.com/your-uuid

# Prometheus textfile-collector file, rewritten after every run:
# metrics: /var/lib/node_exporter/textfile/maint.prom
`;

/** `schemaRef`: where editors find the runbook JSON Schema, as seen from the runbooks folder. */
export function exampleRunbook(schemaRef: string): string {
  return `# yaml-language-server: $schema=${schemaRef}
# Written by \`maint init\`: edit the vars, then \`maint plan example\` shows every command.
title: Example maintenance
description: Health and disk checks from shipped pieces, then a change that can be rolled back.
vars:
  health_url: { default: http://localhost:8080/health, description: Health endpoint of the service }
  data_path: { default: /, description: A path on the file system that holds the data }
  max_load: { default: 4.0, description: Highest 1-minute load average to start the change at }
  maintenance_flag: { default: ./maintenance.flag, description: File whose presence puts the service in maintenance mode }
steps:
  # Shipped pieces (\`maint list --all\`), included with their own vars.
  - name: Service health
    runbook: http-health
    vars: { url: "{{ vars.health_url }}" }
  - name: Disk space
    runbook: disk-use
    vars: { path: "{{ vars.data_path }}", max_pct: 90 }

  # A probe: reads only, keeps a value for later steps, and fails when the expectation is false.
  - name: Load low enough to start
    id: load
    readonly: true
    run: [cat, /proc/loadavg]
    outputs:
      load1: double(stdout.split(" ")[0])
    expect: steps.load.outputs.load1 < vars.max_load

  # A change: when a later step fails, its rollback undoes it.
  - name: Enter maintenance mode
    run: touch {{ vars.maintenance_flag }}
    rollback: rm -f {{ vars.maintenance_flag }}

  # A task for a person: asked on a terminal, recorded as pending when unattended.
  - name: Check the dashboards
    manual: Load was {{ steps.load.outputs.load1 }} at the start; check error rates and latency before leaving maintenance mode.

# Runs at the end whatever happened.
finally:
  - name: Leave maintenance mode
    run: rm -f {{ vars.maintenance_flag }}
`;
}

import { describe, expect, it } from 'vitest';
import { maskReport, type DoctorReport } from '../../../src/doctor/checks.js';

const report = (error: string, server: string): DoctorReport => ({
  tools: [{ tool: 'psql', status: 'warning', path: '/usr/bin/psql', version: null, needed_by: ['daily'], error }],
  kubernetes: { status: 'unreachable', context: 'prod', server, error },
  env: [{ group: 'postgresql', status: 'ok', vars: { DATABASE_URL: 'set' } }],
  config: {
    file: null, runbook_dirs: [], shipped: { path: '/x', exists: true, runbooks: 8 }, invalid_runbooks: [],
    log: { path: '/tmp/log.md', status: 'ok', exists: true, writable: true },
    state: { path: '/tmp/.maint', status: 'ok', exists: true, writable: true },
    parse_cache: { path: '/tmp/.maint/cache', status: 'ok', in_use: true },
  },
  node: { version: 'v20', code_cache: null, cache_file: '/x', cache_writer: '/y' },
  exit_code: 0,
});

describe('maint doctor masks the environment secrets it may quote', () => {
  it('masks *_TOKEN values, a DATABASE_URL and its password, and configured secret_env names, everywhere', () => {
    const env = { KUBE_TOKEN: 'kube-t0ken-Zx9', DATABASE_URL: 'postgres://app:pa%40ss-w0rd@db/app', VAULT_ADDR_SECRETISH: 'nope', MY_CRED: 'cred-value-77' };
    const masked = maskReport(
      report(`psql: error: connection to postgres://app:pa%40ss-w0rd@db/app failed; password pa@ss-w0rd; cred-value-77`, 'https://k8s.example:6443?token=kube-t0ken-Zx9'),
      env,
      ['MY_CRED'],
    );
    const text = JSON.stringify(masked);
    for (const leak of ['kube-t0ken-Zx9', 'pa%40ss-w0rd', 'pa@ss-w0rd', 'cred-value-77']) expect(text).not.toContain(leak);
    expect(masked.kubernetes.server).toBe('https://k8s.example:6443?token=***');
    expect(masked.tools[0]!.error).toBe('psql: error: connection to *** failed; password ***; ***');
    expect(masked.exit_code).toBe(0);
    expect(masked.env[0]!.vars).toEqual({ DATABASE_URL: 'set' });
  });
});

import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaintError } from '../../../src/cli/errors.js';
import { acquireLock, EXIT_LOCKED, holderAlive, lockPath, lockShapeProblem } from '../../../src/record/lock.js';

/** A state dir whose lock of runbook `rb` holds `content`. */
function stateWithLock(content: string): string {
  const state = mkdtempSync(join(tmpdir(), 'maint-lock-'));
  mkdirSync(join(state, 'locks'));
  writeFileSync(lockPath(state, 'rb'), content);
  return state;
}

const lock = (more: object) => JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), startedAt: Date.now(), runId: 'old', ...more });

describe('lockShapeProblem', () => {
  it.each<[unknown, string | undefined]>([
    [{ pid: 1, host: 'h', startedAt: 0, runId: 'r' }, undefined],
    [[], 'it is not a JSON object'],
    [null, 'it is not a JSON object'],
    ['x', 'it is not a JSON object'],
    [{ pid: 'x' }, 'its pid is not a whole number'],
    [{ pid: 1.5, host: 'h', startedAt: 0, runId: 'r' }, 'its pid is not a whole number'],
    [{ pid: -1 }, 'its host is not a string'],
    [{ pid: 99999999999 }, 'its host is not a string'],
    [{ pid: 1, host: 'h', runId: 'r' }, 'its startedAt is not a time'],
    [{ pid: 1, host: 'h', startedAt: 8.64e15 + 1, runId: 'r' }, 'its startedAt is not a time'],
    [{ pid: 1, host: 'h', startedAt: 0 }, 'its runId is not a string'],
  ])('%j → %s', (value, problem) => {
    expect(lockShapeProblem(value)).toBe(problem);
  });
});

describe('holderAlive: a pid no process can have is stale, on any host', () => {
  it.each([-1, 0, 2 ** 22 + 1, 99_999_999_999])('pid %d', (pid) => {
    expect(holderAlive({ pid, host: 'another-host', startedAt: 0, runId: 'r' })).toBe(false);
    expect(holderAlive({ pid, host: hostname(), startedAt: 0, runId: 'r' })).toBe(false);
  });
  it('this process holds it', () => {
    expect(holderAlive({ pid: process.pid, host: hostname(), startedAt: 0, runId: 'r' })).toBe(true);
  });
});

describe('acquireLock with a lock maint did not write: refused in one line naming the file and how to remove it', () => {
  it.each(['[]', '{"pid":"x"}', '{"pid":-1}', '{"pid":99999999999}', '', 'garbage', lock({ startedAt: 1e20 })])('%s', (content) => {
    const state = stateWithLock(content);
    let thrown: unknown;
    try {
      acquireLock(state, 'rb', 'run-1');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MaintError);
    const err = thrown as MaintError;
    expect(err.exitCode).toBe(EXIT_LOCKED);
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain(`${lockPath(state, 'rb')} is not a lock maint wrote (`);
    expect(err.message).toContain(`remove it (rm ${lockPath(state, 'rb')})`);
    expect(existsSync(lockPath(state, 'rb'))).toBe(true); // left for the operator to judge
  });
});

describe('acquireLock with a complete lock whose pid cannot be a live process: taken over as stale', () => {
  it.each([-1, 0, 99_999_999_999])('pid %d', (pid) => {
    const state = stateWithLock(lock({ pid, host: 'another-host' }));
    const taken = acquireLock(state, 'rb', 'run-1');
    expect(taken.tookOver).toMatchObject({ pid, runId: 'old' });
    taken.release();
    expect(existsSync(lockPath(state, 'rb'))).toBe(false);
  });
});

/** What the stack tests share: which real tools are here, and /proc views to check that nothing is left behind. */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { findPgServer } from '../../../src/stack/tools.js';
import { requireTool } from '../../helpers/tools.js';

/** PostgreSQL server and clients. The server may be in /usr/lib/postgresql/<major>/bin only (Debian's package, as in CI). */
export function havePostgres(): boolean {
  return (findPgServer() !== null || requireTool('initdb')) && requireTool('psql') && requireTool('pg_dump') && requireTool('pg_restore');
}

/**
 * Parent dirs for clusters and stacks that the server user (not root) can search; removed after
 * the file's tests. Call at the top of a test file; the returned function makes one.
 */
export function searchableParents(): () => string {
  const parents: string[] = [];
  afterAll(() => {
    for (const dir of parents) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'maint-test-'));
    chmodSync(dir, 0o755);
    parents.push(dir);
    return dir;
  };
}

/** `pid: command line` of the processes (not this one) whose command line contains `text`. */
export function processesMentioning(text: string): string[] {
  return pids()
    .filter((pid) => pid !== process.pid)
    .map((pid) => `${pid}: ${read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').trim()}`)
    .filter((line) => line.includes(text));
}

/** The live children of `pid`. */
export function childrenOf(pid: number): number[] {
  return pids().filter((p) => stat(p)?.ppid === pid && alive(p));
}

/** Running or sleeping: not gone, not a zombie. */
export function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z';
}

export function uidOf(pid: number): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(read(`/proc/${pid}/status`));
  return m ? Number(m[1]) : undefined;
}

function pids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function stat(pid: number): { state: string; ppid: number } | undefined {
  // The command name (2nd field) may hold spaces and parentheses: parse after the last ')'.
  const text = read(`/proc/${pid}/stat`);
  const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return state && ppid ? { state, ppid: Number(ppid) } : undefined;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

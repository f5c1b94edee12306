/**
 * As ssh and sudo do with their files: when maint runs as root (cron on a bastion), a runbook
 * or config that another user can change would let that user run commands as root. Refuse it.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../runbook/diagnostics.js';

/** Problems with files root would trust; empty when not root or all is well. */
export function unsafeFiles(files: string[], uid: number | undefined = process.getuid?.()): Diagnostic[] {
  if (uid !== 0) return [];
  const out: Diagnostic[] = [];
  for (const file of new Set(files)) {
    let st;
    try {
      st = statSync(file);
    } catch {
      continue;
    }
    const at = { file, line: 1, col: 1, path: '' };
    if (st.mode & 0o022) {
      const who = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'every user' : ''].filter(Boolean).join(' and ');
      out.push({ ...at, message: `writable by ${who}; maint runs as root and refuses it: chmod go-w ${file}` });
    }
    if (st.uid !== 0) {
      out.push({ ...at, message: `owned by uid ${st.uid}, not root; maint runs as root and refuses it: chown root ${file}` });
    }
  }
  return out;
}

/** Only `uid` (or root) owns it and nobody else may write it. */
export function changeableOnlyBy(st: Stats, uid: number): boolean {
  return (st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
}

/**
 * The real path of a folder that only `uid` or root can change, nor any folder above it, as
 * ssh's StrictModes asks of ~/.ssh: then nobody else can swap what it holds, between a check and
 * a use included. Both the path as named and the path it resolves to are checked, so a link is
 * fine only where nobody else could have put it. A sticky folder above (/tmp) may be writable by
 * all, since nobody may rename what is not theirs in it. Undefined when anyone else can.
 */
export function securedFolder(dir: string, uid: number): string | undefined {
  try {
    const real = realpathSync(dir);
    for (const named of new Set([resolve(dir), real])) {
      for (let p = named; ; p = dirname(p)) {
        const st = statSync(p);
        const sticky = p !== named && (st.mode & 0o1000) !== 0;
        if (!st.isDirectory() || !(st.uid === uid || st.uid === 0) || ((st.mode & 0o022) !== 0 && !sticky)) return undefined;
        if (dirname(p) === p) break;
      }
    }
    return real;
  } catch {
    return undefined;
  }
}

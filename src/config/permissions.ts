/**
 * As ssh and sudo do with their files: when maint runs as root (cron on a bastion), a runbook
 * or config that another user can change would let that user run commands as root. Refuse it.
 */
import { realpathSync, statSync } from 'node:fs';
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

/**
 * The real path of a folder that only `uid` or root can change, nor any folder above it, as
 * ssh's StrictModes asks of ~/.ssh: then nobody else can swap what it holds, between a check and
 * a use included. Both the path as named and the path it resolves to are checked, so a link is
 * fine only where nobody else could have put it. A sticky folder above (/tmp) may be writable by
 * all, since nobody may rename what is not theirs in it. Otherwise, what is wrong. `above`: `dir`
 * is where the folder will be made, so it may be sticky too.
 */
export function inspectFolder(dir: string, uid: number, above = false): { real: string } | { problem: string } {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    return { problem: `${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message}` };
  }
  for (const named of new Set([resolve(dir), real])) {
    for (let p = named; ; p = dirname(p)) {
      let st;
      try {
        st = statSync(p);
      } catch (err) {
        return { problem: `${p}: ${(err as Error).message}` };
      }
      const sticky = (above || p !== named) && (st.mode & 0o1000) !== 0;
      if (!st.isDirectory()) return { problem: `${p}: not a folder` };
      if (st.uid !== uid && st.uid !== 0) return { problem: `${p}: owned by uid ${st.uid}` };
      if ((st.mode & 0o022) !== 0 && !sticky) return { problem: `${p}: writable by ${st.mode & 0o002 ? 'every user' : 'its group'}` };
      if (dirname(p) === p) break;
    }
  }
  return { real };
}

/** The real path of a folder nobody but `uid` or root can change (see inspectFolder). */
export function securedFolder(dir: string, uid: number): string | undefined {
  const r = inspectFolder(dir, uid);
  return 'real' in r ? r.real : undefined;
}

/**
 * As ssh and sudo do with their files: when maint runs as root (cron on a bastion), a runbook
 * or config that another user can change would let that user run commands as root. Refuse it.
 */
import { statSync } from 'node:fs';
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

/** Who runs, and the id a run is known by. */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';

/** Sortable and unique enough for one state dir: 20261123T021500Z-3f9a1c. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
}

/**
 * A file maint replaces by rename (a report, the metrics textfile) must be a plain file or not
 * exist yet: as root, a rename over `/dev/full` or a symlink would swap a device node or another
 * file for maint's output, and reading a device or a FIFO first may never end.
 */
import { lstat } from 'node:fs/promises';

/** Resolves when `file` is missing or a plain file; else rejects with code `EFTYPE`. */
export async function assertReplaceable(file: string): Promise<void> {
  const now = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (now && !now.isFile()) {
    throw Object.assign(new Error(`${file} is not a plain file (a link, a device, a FIFO); maint replaces only a plain file`), { code: 'EFTYPE' });
  }
}

/**
 * Kernel filesystems (/proc, /sys, cgroup, …) look like folders but take no files, and a
 * recursive mkdir under /proc never returns (it spins at 100% CPU and ignores SIGTERM). Paths
 * maint writes under are checked against them before anything is created.
 */
import { statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** statfs f_type of the kernel filesystems that hold no files. */
const PSEUDO_FS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x1cd1, 'devpts'],
]);

/** The kernel filesystem an existing folder is on, or undefined for a normal one. */
export function pseudoFs(dir: string): string | undefined {
  try {
    return PSEUDO_FS.get(Number(statfsSync(dir).type));
  } catch {
    return undefined; // no statfs here: the write checks still apply
  }
}

/** The path itself when it exists, else its nearest existing ancestor. */
export function firstExisting(path: string): string {
  let at = resolve(path);
  for (;;) {
    try {
      statSync(at);
      return at;
    } catch {
      const up = dirname(at);
      if (up === at) return at;
      at = up;
    }
  }
}

/** Why nothing can be created at `path` because of where it is, or undefined. */
export function kernelFsProblem(path: string): string | undefined {
  const at = firstExisting(path);
  const fs = pseudoFs(at);
  return fs ? `${at} is on ${fs}, a kernel filesystem, not a place for files` : undefined;
}

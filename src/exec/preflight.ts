/** Checks made before step 1: the commands a runbook `requires` are on PATH. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findOnPath(command: string, path = process.env.PATH ?? ''): string | null {
  if (command.includes('/')) return canRun(command) ? command : null;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, command);
    if (canRun(full)) return full;
  }
  return null;
}

function canRun(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The required commands that are missing. */
export function missingCommands(required: string[], path?: string): string[] {
  return required.filter((c) => findOnPath(c, path) === null);
}

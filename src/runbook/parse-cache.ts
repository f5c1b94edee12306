/**
 * Parsed runbooks kept between runs in `<state>/cache/`, so a cron tick or a CI step does not
 * parse the same YAML again: the `yaml` library and the schema cost ~0.2 ms per step, most of
 * maint's own per-step work (docs/performance.md).
 *
 * An entry is exact or unused. It holds the schema's output, made by this very build from this
 * very text: the file is named by a hash of the runbook's path, and inside it a hash of the
 * build, the path and the text must match, so an edit or another build is a miss. Only parses
 * without a single problem are kept. Positions are not kept: a problem that check or plan finds
 * later parses the text again, so every message is the same as without the cache.
 *
 * An entry decides which commands run, and maint runs as root from cron, so it is trusted only
 * as runbooks are (config/permissions.ts): the folder and each entry must belong to the user
 * maint runs as and be writable by nobody else. Anything else is a miss and nothing is written.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { RunbookInput } from './schema.js';
import type { YamlSource } from './yaml-source.js';

export interface ParseCache {
  /** The schema's output for this file and text, when an exact entry exists. */
  get(file: string, text: string): RunbookInput | undefined;
  /** Keeps a parse that had no problems (best effort: a failure to write is only a later miss). */
  put(file: string, text: string, input: RunbookInput): void;
}

/** The key covers the build, so an entry of another shape is a miss like any other. */
interface Entry {
  key: string;
  input: RunbookInput;
}

/**
 * The cache in `dir` for this build (the bundle's hash: an entry of another build is a miss).
 * `write: false` reads only (`maint plan` creates nothing in the state dir).
 */
export function openParseCache(dir: string, build: string, opts: { write: boolean; uid?: number }): ParseCache | undefined {
  const uid = opts.uid ?? process.geteuid?.();
  if (uid === undefined) return undefined;
  const trusted = (st: Stats) => st.uid === uid && (st.mode & 0o022) === 0;
  const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');
  const entryFile = (file: string) => join(dir, `${sha(file).slice(0, 32)}.runbook`);
  /** The folder itself, not a link to one, and ours alone. */
  const dirOk = (): boolean => {
    try {
      const st = lstatSync(dir);
      return st.isDirectory() && trusted(st);
    } catch {
      return false;
    }
  };

  return {
    get(file, text) {
      if (!dirOk()) return undefined;
      let fd: number | undefined;
      try {
        // O_NOFOLLOW and fstat on the opened file: what is checked is what is read.
        fd = openSync(entryFile(file), constants.O_RDONLY | constants.O_NOFOLLOW);
        const st = fstatSync(fd);
        if (!st.isFile() || !trusted(st)) return undefined;
        const entry = deserialize(readFileSync(fd)) as Entry;
        if (entry?.key !== sha(build, file, text)) return undefined;
        return entry.input;
      } catch {
        return undefined; // missing, unreadable or not an entry: parse as if there were none
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
    put(file, text, input) {
      if (!opts.write) return;
      const entry: Entry = { key: sha(build, file, text), input };
      const target = entryFile(file);
      const tmp = `${target}.${process.pid}.tmp`;
      try {
        mkdirSync(join(dir, '..'), { recursive: true });
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        if (!dirOk()) return;
        // Written aside and renamed: a reader sees a whole entry or none.
        const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          writeSync(fd, serialize(entry));
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, target);
      } catch {
        rmSync(tmp, { force: true });
      }
    },
  };
}

/**
 * A runbook's source as the cache knows it: nothing until something needs a position or the raw
 * data (a problem to report), then the real parse of the text, made once.
 */
export function cachedSource(file: string, parse: () => YamlSource): YamlSource {
  let full: YamlSource | undefined;
  const real = () => (full ??= parse());
  return {
    file,
    get data() {
      return real().data;
    },
    errors: [],
    locate: (path, opts) => real().locate(path, opts),
    at: (path, message, opts) => real().at(path, message, opts),
  };
}

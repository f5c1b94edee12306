/**
 * Parsed runbooks kept between runs in `<state>/cache/`, so a cron tick or a CI step does not
 * parse the same YAML again: the `yaml` library and the schema cost ~0.2 ms per step, most of
 * maint's own per-step work (docs/performance.md).
 *
 * An entry is exact or unused. It holds the schema's output, made by this very build on this
 * Node (whose time zone data the schema consults) from this very text: the file is named by a
 * hash of the runbook's path, and inside it a hash of all that must match, and a hash of the
 * stored parse too. Only parses without a single problem are kept. Positions are not kept: a
 * problem that check or plan finds later parses the text again, so every message is the same as
 * without the cache.
 *
 * An entry decides which commands run, and maint runs as root from cron, so it is trusted no more
 * than the folder it is in (config/permissions.ts): that folder and every one above it must be
 * changeable by nobody but the user maint runs as (or root), and the entry must be a plain file of
 * that user's, writable by nobody else. Anything else is a miss and nothing is written there.
 * New parses are written only by `save()`, which maint calls once every check on the runbooks and
 * the config has passed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, futimesSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { securedFolder } from '../config/permissions.js';
import type { RunbookInput } from './schema.js';
import type { YamlSource } from './yaml-source.js';

/** More entries than this (runbook files ever run) and the least recently used go. */
const MAX_ENTRIES = 256;
/** A temp file left this long by a maint that died while writing is removed. */
const STALE_TMP_MS = 60 * 60 * 1000;

export interface ParseCache {
  /** The schema's output for this file and text, when an exact entry exists. */
  get(file: string, text: string): RunbookInput | undefined;
  /** Remembers a parse that had no problems, for `save()`. */
  put(file: string, text: string, input: RunbookInput): void;
  /** Writes what `put` remembered (best effort: a failure is only a later miss, never an error). */
  save(): void;
}

interface Entry {
  /** The hash of build, Node, path and text. */
  key: string;
  /** The hash of `payload`. */
  digest: string;
  /** v8.serialize of the schema's output. */
  payload: Uint8Array;
}

const sha = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/**
 * The cache in `dir` for this build (the bundle's hash: an entry of another build is a miss).
 * `write: false` only reads (`maint plan` and dry runs create nothing in the state dir).
 */
export function openParseCache(dir: string, build: string, opts: { write: boolean; uid?: number }): ParseCache | undefined {
  const uid = opts.uid ?? process.geteuid?.();
  if (uid === undefined) return undefined;
  const runtime = [build, process.version, process.versions.icu ?? '', process.versions.tz ?? ''].join(' ');
  const keyOf = (file: string, text: string) => sha(runtime, file, text);
  const nameOf = (file: string) => `${sha(file).slice(0, 32)}.runbook`;
  let folder: string | undefined | null = null; // null: not looked at yet
  const secured = () => (folder === null ? (folder = securedFolder(dir, uid)) : folder);
  const pending = new Map<string, Entry>();

  return {
    get(file, text) {
      const real = secured();
      if (!real) return undefined;
      let fd: number | undefined;
      try {
        // No link, and no FIFO to hang on; fstat of the opened file: what is checked is what is read.
        fd = openSync(join(real, nameOf(file)), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        const st = fstatSync(fd);
        if (!st.isFile() || st.nlink !== 1 || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
        const entry = deserialize(readFileSync(fd)) as Entry;
        if (entry?.key !== keyOf(file, text) || !(entry.payload instanceof Uint8Array) || sha(entry.payload) !== entry.digest) return undefined;
        if (opts.write) futimesSync(fd, new Date(), new Date()); // recently used: spared by pruning
        return deserialize(entry.payload) as RunbookInput;
      } catch {
        return undefined; // missing, unreadable or not an entry: parse as if there were none
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
    put(file, text, input) {
      if (!opts.write) return;
      const payload = serialize(input);
      pending.set(file, { key: keyOf(file, text), digest: sha(payload), payload });
    },
    save() {
      if (pending.size === 0) return;
      try {
        // The state dir as the journal makes it; the cache folder private.
        mkdirSync(dirname(dir), { recursive: true, mode: 0o750 });
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
        }
        folder = null;
        const real = secured();
        if (!real) return;
        for (const [file, entry] of pending) writeEntry(join(real, nameOf(file)), serialize(entry));
        prune(real);
      } catch {
        // a full disk or a folder we may not write: the next run parses again
      } finally {
        pending.clear();
      }
    },
  };
}

/** Written aside under a name no other writer uses, then renamed: a reader sees a whole entry or none. */
function writeEntry(target: string, bytes: Uint8Array): void {
  const tmp = `${target}.${randomBytes(8).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    writeFileSync(fd, bytes);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch {
    if (fd !== undefined) {
      closeSync(fd);
      rmSync(tmp, { force: true });
    }
  }
}

const ENTRY = /^[0-9a-f]{32}\.runbook$/;
const TEMP = /^[0-9a-f]{32}\.runbook\.[0-9a-f]{16}\.tmp$/;

/**
 * Entries of runbooks long gone (renamed files, per-job CI paths) and temp files of a writer that
 * died. Only names this module makes are touched.
 */
function prune(folder: string): void {
  const now = Date.now();
  const entries: { path: string; used: number }[] = [];
  for (const name of readdirSync(folder)) {
    if (!ENTRY.test(name) && !TEMP.test(name)) continue;
    const path = join(folder, name);
    const used = statSync(path).mtimeMs;
    if (TEMP.test(name)) {
      if (now - used > STALE_TMP_MS) rmSync(path, { force: true });
    } else entries.push({ path, used });
  }
  entries.sort((a, b) => a.used - b.used);
  for (const e of entries.slice(0, Math.max(0, entries.length - MAX_ENTRIES))) rmSync(e.path, { force: true });
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

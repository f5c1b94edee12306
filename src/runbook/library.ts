/**
 * Where runbooks are found: the configured folders in order, then the ones shipped with maint.
 * With parse-cache.ts, the only part of runbook/ that touches the disk.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { packagePath } from '../package-root.js';
import { checkRunbook } from './check.js';
import { meant } from './did-you-mean.js';
import type { Diagnostic } from './diagnostics.js';
import { cachedSource, type ParseCache } from './parse-cache.js';
import { loadedRunbook, parseRunbook, runbookNameOf, type LoadedRunbook, type ParseResult } from './parse.js';
import { readRunbookText } from './source-file.js';
import { parseYamlSource } from './yaml-source.js';

/** The runbooks folder shipped in maint's package. */
export const SHIPPED_RUNBOOKS = packagePath('runbooks');

export interface RunbookRef {
  name: string;
  file: string;
  shipped: boolean;
  /** A `_name.yaml` piece, meant to be included rather than run. */
  piece?: boolean;
}

/** Everything needed to run one runbook: it, the runbooks it includes, and all problems found. */
export interface RunbookTree {
  root: LoadedRunbook | null;
  runbooks: Map<string, LoadedRunbook>;
  diagnostics: Diagnostic[];
}

const EXTS = new Set(['.yaml', '.yml']);

/**
 * How deeply includes may nest (include steps from the root to the deepest runbook). The planner
 * stops expanding past this, so a deeper chain would silently lose its steps: it is an error here.
 */
export const MAX_INCLUDE_DEPTH = 20;

export class RunbookLibrary {
  private readonly cache = new Map<string, ParseResult>();

  constructor(
    readonly dirs: string[],
    readonly shippedDir: string = SHIPPED_RUNBOOKS,
    /** Parses kept between runs (run, plan, resume); validate always parses. */
    private readonly parseCache?: ParseCache,
  ) {}

  /** All runbooks by name (pieces too with `pieces`); a name in an earlier folder hides the same name later. */
  list(opts: { pieces?: boolean } = {}): RunbookRef[] {
    const byName = new Map<string, RunbookRef>();
    for (const dir of [...this.dirs, this.shippedDir]) {
      if (!isDir(dir)) continue;
      for (const entry of readdirSync(dir).sort()) {
        const piece = entry.startsWith('_');
        if (!EXTS.has(extname(entry)) || (piece && !opts.pieces)) continue;
        const name = runbookNameOf(entry).replace(/^_/, '');
        if (!byName.has(name)) byName.set(name, { name, file: join(dir, entry), shipped: dir === this.shippedDir, ...(piece ? { piece } : {}) });
      }
    }
    return [...byName.values()];
  }

  /** A runbook by name, or by path when the argument names a YAML file. */
  find(nameOrPath: string): RunbookRef | null {
    if ((nameOrPath.includes('/') || EXTS.has(extname(nameOrPath))) && existsSync(nameOrPath)) {
      return { name: runbookNameOf(nameOrPath), file: resolve(nameOrPath), shipped: false };
    }
    for (const dir of [...this.dirs, this.shippedDir]) {
      for (const ext of EXTS) {
        const file = join(dir, nameOrPath + ext);
        if (existsSync(file)) return { name: nameOrPath, file, shipped: dir === this.shippedDir };
      }
      // Pieces meant for inclusion may be kept as `_name.yaml` so `maint list` shows only whole runbooks.
      for (const ext of EXTS) {
        const file = join(dir, `_${nameOrPath}${ext}`);
        if (existsSync(file)) return { name: nameOrPath, file, shipped: dir === this.shippedDir };
      }
    }
    return null;
  }

  /** "unknown runbook" with where maint looked and the closest name. */
  unknownMessage(name: string): string {
    const where = [...this.dirs, this.shippedDir].join(', ');
    return `unknown runbook "${name}" (looked in ${where})${meant(name, this.list().map((r) => r.name))}`;
  }

  parseFile(file: string): ParseResult {
    let result = this.cache.get(file);
    if (!result) {
      const read = readRunbookText(file, displayPath(file));
      result = read.diagnostic ? { runbook: null, diagnostics: [read.diagnostic] } : this.parseText(file, read.text);
      this.cache.set(file, result);
    }
    return result;
  }

  private parseText(file: string, text: string): ParseResult {
    const shown = displayPath(file);
    const input = this.parseCache?.get(file, text);
    if (input) return { runbook: loadedRunbook(shown, input, cachedSource(shown, () => parseYamlSource(shown, text))), diagnostics: [] };
    const result = parseRunbook(shown, text);
    if (result.runbook && result.diagnostics.length === 0) this.parseCache?.put(file, text, result.runbook.input);
    return result;
  }

  /**
   * Load a runbook and, transitively, the runbooks it includes; check them all. Reports unknown
   * includes and include cycles at the step that includes.
   */
  loadTree(root: RunbookRef, opts: { strict?: boolean } = {}): RunbookTree {
    const runbooks = new Map<string, LoadedRunbook>();
    const diagnostics: Diagnostic[] = [];
    const visiting: string[] = [];
    const visitingFiles: string[] = [];
    const done = new Set<string>();
    // Includes that are not part of a cycle: what the planner will expand.
    const includes = new Map<LoadedRunbook, IncludeEdge[]>();

    const visit = (ref: RunbookRef): LoadedRunbook | null => {
      const parsed = this.parseFile(ref.file);
      // Every name an include used must be in the map, also a second name for a file seen before.
      if (parsed.runbook) runbooks.set(ref.name, parsed.runbook);
      if (done.has(ref.file)) return parsed.runbook ?? parsed.salvaged ?? null;
      done.add(ref.file);
      diagnostics.push(...parsed.diagnostics);
      // A runbook the schema refused is still checked, and its includes with it (salvage.ts).
      const rb = parsed.runbook ?? parsed.salvaged ?? null;
      if (!rb) return null;
      visiting.push(ref.name);
      visitingFiles.push(ref.file);
      const resolved = new Map<string, LoadedRunbook | null>();
      for (const site of rb.sites) {
        const name = site.step.runbook;
        if (name === undefined) continue;
        const at = [...site.path, 'runbook'];
        const ref2 = visiting.includes(name) ? null : this.find(name);
        // By name, and by file: `_name` and `name` find the same piece.
        if (visiting.includes(name) || (ref2 && visitingFiles.includes(ref2.file))) {
          diagnostics.push(rb.source.at(at, `include cycle: ${[...visiting, name].join(' → ')}`));
          resolved.set(name, null);
          continue;
        }
        if (!ref2) {
          diagnostics.push(rb.source.at(at, this.unknownMessage(name)));
          resolved.set(name, null);
          continue;
        }
        const child = visit(ref2);
        resolved.set(name, child);
        if (child) includes.set(rb, [...(includes.get(rb) ?? []), { path: at, child }]);
      }
      visiting.pop();
      visitingFiles.pop();
      diagnostics.push(...checkRunbook(rb, { strict: opts.strict, resolve: (n) => resolved.get(n) ?? null }));
      return rb;
    };

    const rootRb = visit(root);
    if (rootRb) {
      const chain = longestIncludeChain(rootRb, includes);
      if (chain.length - 1 > MAX_INCLUDE_DEPTH) {
        const first = includes.get(rootRb)!.find((e) => e.child === chain[1])!;
        diagnostics.push(
          rootRb.source.at(
            first.path,
            `includes nest ${chain.length - 1} deep, past the limit of ${MAX_INCLUDE_DEPTH}: ${chain.map((r) => r.name).join(' → ')}`,
          ),
        );
      }
    }
    // Only a runbook the schema accepted is a root anyone may plan.
    return { root: rootRb === this.parseFile(root.file).runbook ? rootRb : null, runbooks, diagnostics };
  }
}

interface IncludeEdge {
  /** The include step's `runbook:` field. */
  path: (string | number)[];
  child: LoadedRunbook;
}

/** The runbooks of the longest include chain from `root` (root first), over cycle-free includes. */
function longestIncludeChain(root: LoadedRunbook, includes: Map<LoadedRunbook, IncludeEdge[]>): LoadedRunbook[] {
  const longest = new Map<LoadedRunbook, LoadedRunbook[]>();
  const open = new Set<LoadedRunbook>();
  const chainFrom = (rb: LoadedRunbook): LoadedRunbook[] => {
    const known = longest.get(rb);
    if (known) return known;
    // loadTree leaves cycles out of `includes`; should one slip through, it ends the chain here.
    if (open.has(rb)) return [];
    open.add(rb);
    let best: LoadedRunbook[] = [];
    for (const { child } of includes.get(rb) ?? []) {
      const sub = chainFrom(child);
      if (sub.length > best.length) best = sub;
    }
    const chain = [rb, ...best];
    longest.set(rb, chain);
    return chain;
  };
  return chainFrom(root);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Paths in messages: relative to the working directory when inside it. */
function displayPath(file: string): string {
  const cwd = process.cwd() + '/';
  return file.startsWith(cwd) ? file.slice(cwd.length) : file;
}

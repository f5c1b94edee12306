/**
 * What happens when maint itself fails: the full stack, mapped back to the TypeScript sources,
 * goes to a file (`<state dir>/crash/<time>.txt`, or the system temp folder when the state dir
 * cannot be written), and the terminal gets one line saying where. The bundle is minified, so
 * its raw stack would tell an operator nothing and a maintainer little.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * bin/load.js runs the bundle inside `(function (exports, require, module, __filename, __dirname) {`
 * on the same first line, so columns of line 1 are shifted by its length.
 */
const WRAPPER_LENGTH = '(function (exports, require, module, __filename, __dirname) {'.length;

/** `err`'s stack with every position in a bundle that has a `.map` beside it turned into a source position. */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (file: string): SourceMap | null => {
    if (!maps.has(file)) {
      let map: SourceMap | null = null;
      try {
        if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = null;
      }
      maps.set(file, map);
    }
    return maps.get(file)!;
  };
  return stack.replace(/((?:\/|[A-Za-z]:\\)[^\s()]*?\.c?js):(\d+):(\d+)/g, (whole, file: string, line: string, col: string) => {
    const map = mapOf(file);
    if (!map) return whole;
    const l = Number(line) - 1;
    const c = Number(col) - 1 - (l === 0 ? WRAPPER_LENGTH : 0);
    const entry = map.findEntry(l, Math.max(0, c)) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (!entry?.originalSource || entry.originalLine === undefined) return whole;
    const source = entry.originalSource.startsWith('file://') ? new URL(entry.originalSource).pathname : resolve(dirname(file), entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  });
}

/**
 * The state dir as far as it can be known without the config (which may be what failed):
 * `--state`, then MAINT_STATE, then ./.maint.
 */
export function crashStateDir(argv: readonly string[], env: Record<string, string | undefined>, cwd: string): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--state' && argv[i + 1]) return resolve(cwd, argv[i + 1]!);
    if (arg.startsWith('--state=') && arg.length > '--state='.length) return resolve(cwd, arg.slice('--state='.length));
  }
  return resolve(cwd, env.MAINT_STATE || '.maint');
}

export interface CrashInfo {
  version: string;
  argv: readonly string[];
  now: Date;
}

/** The crash report's text: what ran, on what, and the source-mapped stack (with causes). */
export function crashReport(err: unknown, info: CrashInfo): string {
  const lines = [
    `maint ${info.version} crashed at ${info.now.toISOString()}`,
    `node ${process.version} on ${process.platform}-${process.arch}`,
    // Only the command and flag names: values may be secrets (`--var password=…`).
    `command: maint ${info.argv.slice(2).map((a, i) => (a.startsWith('-') ? a.replace(/=.*/, '=…') : i === 0 ? a : '…')).join(' ')}`,
    '',
  ];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    const stack = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    lines.push(depth === 0 ? sourceMappedStack(stack) : `caused by: ${sourceMappedStack(stack)}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines.join('\n') + '\n';
}

/**
 * Write the report to `<stateDir>/crash/<time>.txt`, else to the temp folder; the path written,
 * or null when neither could be (the one line on the terminal then says so).
 */
export function writeCrashReport(text: string, stateDir: string, now: Date): string | null {
  const name = `${now.toISOString().replace(/[:.]/g, '-')}-${process.pid}.txt`;
  for (const dir of [join(stateDir, 'crash'), join(tmpdir(), 'maint-crash')]) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    } catch {
      // try the next place
    }
  }
  return null;
}

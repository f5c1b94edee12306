import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../../runbook/diagnostics.js';
import { RunbookLibrary, type RunbookRef } from '../../runbook/library.js';
import { runbookNameOf } from '../../runbook/parse.js';

export async function validateCommand(args: string[], flags: ConfigFlags & { strict?: boolean; json?: boolean }): Promise<number> {
  const config = await loadConfig(flags);
  const library = new RunbookLibrary(config.runbooks);
  const refs: RunbookRef[] = [];
  const diagnostics: Diagnostic[] = [];
  if (args.length === 0) refs.push(...library.list({ pieces: true }));
  for (const arg of args) {
    const ref = existsSync(arg) ? { name: runbookNameOf(arg), file: resolve(arg), shipped: false } : library.find(arg);
    if (ref) refs.push(ref);
    else diagnostics.push({ file: arg, line: 1, col: 1, path: '', message: existsSync(arg) ? 'not a runbook' : library.unknownMessage(arg) });
  }
  const seen = new Set<string>();
  let checked = 0;
  for (const ref of refs) {
    const tree = library.loadTree(ref, { strict: flags.strict });
    checked++;
    for (const d of tree.diagnostics) {
      const key = formatDiagnostic(d);
      if (!seen.has(key)) {
        seen.add(key);
        diagnostics.push(d);
      }
    }
  }
  const sorted = sortDiagnostics(diagnostics);
  if (flags.json) {
    process.stdout.write(JSON.stringify({ valid: sorted.length === 0, checked, problems: sorted }, null, 2) + '\n');
  } else {
    for (const d of sorted) process.stderr.write(formatDiagnostic(d) + '\n');
    const files = new Set(sorted.map((d) => d.file)).size;
    process.stdout.write(
      sorted.length === 0
        ? `${checked} runbook${checked === 1 ? '' : 's'} valid${flags.strict ? ' (strict)' : ''}\n`
        : `${sorted.length} problem${sorted.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}\n`,
    );
  }
  return sorted.length === 0 ? 0 : 2;
}

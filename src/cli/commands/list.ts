import { loadConfig, type ConfigFlags } from '../../config/config.js';
import { RunbookLibrary } from '../../runbook/library.js';

export async function listCommand(flags: ConfigFlags & { json?: boolean; all?: boolean; names?: boolean }): Promise<number> {
  const config = await loadConfig(flags);
  const library = new RunbookLibrary(config.runbooks);
  if (flags.names) {
    // For shell completion: names only, and no runbook is parsed, so it stays fast.
    for (const ref of library.list({ pieces: flags.all })) process.stdout.write(ref.name + '\n');
    return 0;
  }
  // Whole runbooks first, then the pieces.
  const refs = library.list({ pieces: flags.all }).sort((a, b) => Number(a.piece ?? false) - Number(b.piece ?? false));
  const rows = refs.map((ref) => {
    const { runbook, diagnostics } = library.parseFile(ref.file);
    return {
      name: ref.piece ? `${ref.name} (piece)` : ref.name,
      title: runbook?.input.title ?? '',
      schedule: runbook?.input.schedule ?? '',
      steps: runbook?.input.steps.length ?? 0,
      source: ref.shipped ? 'shipped' : ref.file,
      valid: runbook !== null && diagnostics.length === 0,
    };
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`no runbooks found (looked in ${[...library.dirs, library.shippedDir].join(', ')})\n`);
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  const twidth = Math.max(...rows.map((r) => r.title.length), 5);
  process.stdout.write(`${'NAME'.padEnd(width)}  ${'TITLE'.padEnd(twidth)}  ${'SCHEDULE'.padEnd(14)}  STEPS  SOURCE\n`);
  for (const r of rows) {
    const title = r.valid ? r.title : `${r.title} (invalid: maint validate ${r.name})`;
    process.stdout.write(`${r.name.padEnd(width)}  ${title.padEnd(twidth)}  ${r.schedule.padEnd(14)}  ${String(r.steps).padStart(5)}  ${r.source}\n`);
  }
  return 0;
}

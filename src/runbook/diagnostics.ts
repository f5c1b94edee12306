/** Validation problems are data: every one of them is collected and printed at once. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted path into the document, e.g. `steps[2].expect[0]`; empty for the whole file. */
  path: string;
  message: string;
}

/** `file:line:col: path: message`, the form editors and CI annotations understand. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.path ? `${d.path}: ` : ''}${d.message}`;
}

/** Dotted form of a document path: `steps[2].expect[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

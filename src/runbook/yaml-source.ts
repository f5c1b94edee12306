/**
 * YAML parsed with positions, so every problem can be reported as `file:line:col`.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node } from 'yaml';
import type { Diagnostic } from './diagnostics.js';
import { formatPath } from './diagnostics.js';

export interface Position {
  line: number;
  col: number;
}

export interface YamlSource {
  file: string;
  /** The document as plain data (undefined when the YAML does not parse). */
  data: unknown;
  /** YAML syntax errors, all of them. */
  errors: Diagnostic[];
  /**
   * Where a path points: the value's node, or with `key` the key of the last segment. Falls back
   * to the nearest existing parent. `offset` is a character offset into a string value.
   */
  locate(path: readonly PropertyKey[], opts?: { key?: boolean; offset?: number }): Position;
  /** A diagnostic at a path. */
  at(path: readonly PropertyKey[], message: string, opts?: { key?: boolean; offset?: number }): Diagnostic;
}

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const errors: Diagnostic[] = doc.errors.map((e) => ({
    file,
    ...pos(e.pos[0]),
    path: '',
    message: `YAML: ${e.message.split('\n')[0]}`,
  }));
  const locate = (path: readonly PropertyKey[], opts: { key?: boolean; offset?: number } = {}): Position => {
    const found = findNode(doc, path, opts.key === true);
    if (!found?.range) return { line: 1, col: 1 };
    return pos(found.range[0] + (opts.offset === undefined ? 0 : scalarOffset(found, opts.offset)));
  };
  return {
    file,
    data: errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: 100 }),
    errors,
    locate,
    at: (path, message, opts) => ({ file, ...locate(path, opts), path: formatPath(path), message }),
  };
}

/** The node at a path, the key node for `key`, or the nearest parent that exists. */
function findNode(doc: Document, path: readonly PropertyKey[], key: boolean): Node | null {
  let node: unknown = doc.contents;
  let last: Node | null = (doc.contents as Node | null) ?? null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return last;
      if (key && i === path.length - 1) return (pair.key as Node) ?? last;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return last;
    }
    if (node && typeof node === 'object' && 'range' in node) last = node as Node;
    else return last;
  }
  return last;
}

/** Offset into the source for a character offset into a scalar's value (exact for one-line scalars). */
function scalarOffset(node: Node, offset: number): number {
  if (!isScalar(node)) return 0;
  const s = node as Scalar;
  if (s.type === Scalar.PLAIN) return offset;
  if (s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE) return offset + 1;
  return 0;
}

/**
 * YAML parsed with positions, so every problem can be reported as `file:line:col`.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Alias, type Document, type Node } from 'yaml';
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

/**
 * The most a runbook's aliases may expand to: enough for any runbook that shares a few values,
 * far too little for a "billion laughs" document that expands a few lines into gigabytes.
 */
export const MAX_ALIAS_COUNT = 100;
/** How deeply collections may nest. Real runbooks reach about 10; deeper only exhausts the stack later. */
export const MAX_DEPTH = 64;

export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: Math.max(1, p.line), col: Math.max(1, p.col) };
  };
  const diag = (offset: number, message: string): Diagnostic => ({ file, ...pos(offset), path: '', message: `YAML: ${message}` });
  // A BOM is no character of the document: without it, columns on the first line stay right.
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  // The core schema always: a `%YAML 1.1` directive would otherwise turn 2026-01-01 into a Date
  // and 0b11 into 3 without a tag in sight.
  const doc = parseDocument(body, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' });
  const errors: Diagnostic[] = doc.errors.map((e) => diag(e.pos[0], yamlMessage(e.message)));
  if (errors.length === 0) errors.push(...structureErrors(doc, body).map((e) => diag(e.offset, e.message)));
  let data: unknown;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      // The checks above leave only an alias expanding past the cap; anything else is said as it is.
      const firstAlias = findFirstAlias(doc);
      const message = /alias count/i.test(String(err))
        ? `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} nodes per alias); write the values out`
        : yamlMessage(err instanceof Error ? err.message : String(err));
      errors.push(diag(firstAlias?.range?.[0] ?? 0, message));
    }
  }
  const locate = (path: readonly PropertyKey[], opts: { key?: boolean; offset?: number } = {}): Position => {
    const found = findNode(doc, path, opts.key === true);
    if (!found?.range) return { line: 1, col: 1 };
    return pos(found.range[0] + (opts.offset === undefined ? 0 : scalarOffset(found, opts.offset)));
  };
  return {
    file,
    data: errors.length > 0 ? undefined : data,
    errors,
    locate,
    at: (path, message, opts) => ({ file, ...locate(path, opts), path: formatPath(path), message }),
  };
}

/** The first line of a `yaml` error, in words for a person who wrote the file. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  if (/call stack/i.test(first)) return `nested too deeply (at most ${MAX_DEPTH} levels)`;
  if (/multiple documents/i.test(first)) return 'a runbook is one YAML document: remove the `---` that starts a second one, or split the file';
  if (/Map keys must be unique/i.test(first)) return 'duplicate key: each key may appear once in a mapping';
  return first;
}

/**
 * The tags of the YAML core schema's plain types. Any other (`!!set`, `!!timestamp`, `!!binary`,
 * `!!omap`, `!!pairs`, a local `!tag`) would become a Set, Date, Buffer or Map, or a string with the
 * tag dropped: none of them is a value a template or an expect can use, and a Set rendered into a
 * command came out as '' (`rm -rf /srv/data/''`).
 */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** How a tag is written in a document: `!!set` for the YAML ones, as it is for a local tag. */
const shownTag = (tag: string): string => (tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag);

/**
 * Where the tag before a node's value starts: the node's range begins at the value, the tag is
 * the last `!…` word before it. The value's offset when something else lies between (a comment).
 */
function tagOffset(body: string, valueOffset: number): number {
  let start = body.lastIndexOf('!', valueOffset - 1);
  if (start < 0) return valueOffset;
  while (start > 0 && !/[\s[{,]/.test(body[start - 1]!)) start--;
  // Only a tag, maybe an anchor, and space between: anything else (a comment) and the value it is.
  return /^!\S*(\s+&\S+)?\s*$/.test(body.slice(start, valueOffset)) ? start : valueOffset;
}

/**
 * Problems the `yaml` parser accepts but turning the document into data would throw on, or would
 * turn into something that is not plain data: an alias whose anchor is not set before it, nesting
 * past MAX_DEPTH, and a tag outside the core schema. Found without recursion, so a deep document
 * cannot exhaust the stack here.
 */
function structureErrors(doc: Document, body: string): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = [];
  const anchors = new Set<string>();
  let tooDeep = false;
  // Entries are nodes to visit, or an anchor to count once its node's children are visited.
  const stack: ({ node: unknown; depth: number } | { anchor: string })[] = [{ node: doc.contents, depth: 1 }];
  // Visit in document order: an anchor counts only for the aliases after it.
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if ('anchor' in entry) {
      anchors.add(entry.anchor);
      continue;
    }
    const { node, depth } = entry;
    if (node === null || typeof node !== 'object') continue;
    const n = node as Node;
    const offset = n.range?.[0] ?? 0;
    if (isAlias(n)) {
      if (!anchors.has(n.source)) out.push({ offset, message: `alias *${n.source} has no anchor &${n.source} before it` });
      continue;
    }
    if ((isScalar(n) || isMap(n) || isSeq(n)) && n.tag !== undefined && !CORE_TAGS.has(n.tag)) {
      out.push({ offset: tagOffset(body, offset), message: `the tag ${shownTag(n.tag)} is not supported: write a plain string, number, true/false, null, list or mapping` });
      continue;
    }
    const children: unknown[] = [];
    if (isMap(n) || isSeq(n)) {
      if (depth > MAX_DEPTH) {
        if (!tooDeep) out.push({ offset, message: `nested too deeply (at most ${MAX_DEPTH} levels)` });
        tooDeep = true;
        continue;
      }
      if (isMap(n)) {
        for (const pair of n.items) {
          // JS objects have only string keys: `yaml` would print a warning and key the value by "[object]".
          if (isMap(pair.key) || isSeq(pair.key)) {
            out.push({ offset: (pair.key as Node).range?.[0] ?? offset, message: 'a key must be a plain value, not a list or a mapping' });
          }
          // As a JS object key, `__proto__` sets the object's prototype: the entry would vanish.
          if (isScalar(pair.key) && pair.key.value === '__proto__') {
            out.push({ offset: pair.key.range?.[0] ?? offset, message: 'the key __proto__ is not allowed: every object has it already; choose another' });
          }
          children.push(pair.key, pair.value);
        }
      } else for (const item of n.items) children.push(item);
    }
    // An alias inside its own anchored node would repeat it forever: the anchor counts after the node.
    if (n.anchor) stack.push({ anchor: n.anchor });
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], depth: depth + 1 });
  }
  return out;
}

function findFirstAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
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

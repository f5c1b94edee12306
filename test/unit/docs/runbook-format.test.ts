/**
 * The docs cannot drift from the code: every field the runbook schema has is in a field table
 * of docs/runbook-format.md and every field in those tables is in the schema; every shipped
 * runbook and piece is described. The field lists come from the generated JSON Schema, so a
 * new field (or a new nested object) without docs fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIPPED_RUNBOOKS } from '../../../src/runbook/library.js';
import { runbookJsonSchema } from '../../../src/runbook/json-schema.js';
import { ROOT } from '../../helpers/cli.js';

type Node = { [key: string]: unknown };

interface SchemaObject {
  /** Where it sits, e.g. `Runbook.defaults.retry`, `Runbook.vars.*`, `Step.rollback`. */
  path: string;
  /** The field that holds it (or the definition's name: Runbook, Step). */
  name: string;
  fields: string[];
}

/** Every object with named fields in the runbook JSON Schema, whatever union or record it sits in. */
function schemaObjects(): SchemaObject[] {
  const root = runbookJsonSchema();
  const definitions = root.definitions as Record<string, Node>;
  const found: SchemaObject[] = [];
  const visited = new Set<string>();
  const walk = (node: Node | undefined, path: string, name: string): void => {
    if (!node) return;
    if (typeof node.$ref === 'string') {
      const def = node.$ref.replace('#/definitions/', '');
      if (!visited.has(def)) {
        visited.add(def);
        walk(definitions[def], def, def);
      }
      return;
    }
    const properties = node.properties as Record<string, Node> | undefined;
    if (properties) {
      found.push({ path, name, fields: Object.keys(properties).sort() });
      for (const [key, sub] of Object.entries(properties)) walk(sub, `${path}.${key}`, key);
    }
    for (const alt of [...((node.anyOf ?? []) as Node[]), ...((node.oneOf ?? []) as Node[]), ...((node.allOf ?? []) as Node[])]) walk(alt, path, name);
    if (typeof node.items === 'object') walk(node.items as Node, `${path}[]`, name);
    if (typeof node.additionalProperties === 'object') walk(node.additionalProperties as Node, `${path}.*`, name);
  };
  walk(root, '', '');
  return found;
}

interface Section {
  heading: string;
  /** Backticked names in the first column of the tables in this section, by the header of that column. */
  tables: { column: string; names: string[] }[];
}

/** Sections (## and ### headings) of a markdown file, with their tables' first columns; code blocks skipped. */
function sections(markdown: string): Section[] {
  const out: Section[] = [{ heading: '', tables: [] }];
  let fenced = false;
  let table: Section['tables'][number] | null = null;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{2,3} (.+)$/.exec(line);
    if (heading) out.push({ heading: heading[1]!, tables: [] });
    if (!line.startsWith('|')) {
      table = null;
      continue;
    }
    const first = line.split('|')[1]!.trim();
    if (!table) {
      table = { column: first, names: [] };
      out.at(-1)!.tables.push(table);
    } else if (!/^-+$/.test(first)) {
      table.names.push(...[...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    }
  }
  return out;
}

const doc = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('docs/runbook-format.md documents exactly the schema', () => {
  const objects = schemaObjects();
  const fieldTables = sections(doc('docs/runbook-format.md')).filter((s) => s.tables.some((t) => t.column === 'field'));
  const documented = (s: Section) => s.tables.filter((t) => t.column === 'field').flatMap((t) => t.names);
  /** The top level and the steps have their own headings; a nested object is under a heading naming its field. */
  const sectionOf = (o: SchemaObject) =>
    fieldTables.filter((s) => (o.name === 'Runbook' ? s.heading === 'Top level' : o.name === 'Step' ? s.heading === 'Steps' : s.heading.includes(`\`${o.name}\``)));

  it('finds the objects of the schema (the walk works)', () => {
    const names = new Set(objects.map((o) => o.name));
    for (const name of ['Runbook', 'Step', 'vars', 'defaults', 'window', 'objectives', 'retry', 'rollback']) expect(names).toContain(name);
    expect(objects.find((o) => o.path === 'Step.rollback')?.fields).toContain('manual');
  });

  it.each(objects.map((o) => [o.path, o]))('%s: one field table, with exactly its fields', (_path, object) => {
    const matching = sectionOf(object);
    expect(matching.map((s) => s.heading), `a "## ..." or "### \`${object.name}\`" section with a field table`).toHaveLength(1);
    expect([...new Set(documented(matching[0]!))].sort()).toEqual(object.fields);
  });

  it('has no field table for an object the schema does not have', () => {
    const orphans = fieldTables.filter((s) => !objects.some((o) => sectionOf(o).includes(s)));
    expect(orphans.map((s) => s.heading)).toEqual([]);
  });
});

describe('the shipped runbooks are described', () => {
  const files = readdirSync(SHIPPED_RUNBOOKS).filter((f) => /\.ya?ml$/.test(f));
  const names = (pieces: boolean) => files.filter((f) => f.startsWith('_') === pieces).map((f) => f.replace(/^_/, '').replace(/\.ya?ml$/, '')).sort();
  const tableNames = (markdown: string, column: string) =>
    [...new Set(sections(markdown).flatMap((s) => s.tables.filter((t) => t.column === column).flatMap((t) => t.names)))].sort();

  it('finds runbooks and pieces', () => {
    expect(names(false)).toContain('daily');
    expect(names(true)).toContain('http-health');
  });

  it('every runbook in docs/runbooks.md, and only those', () => {
    expect(tableNames(doc('docs/runbooks.md'), 'runbook')).toEqual(names(false));
  });

  it('every piece in docs/runbooks.md, and only those', () => {
    expect(tableNames(doc('docs/runbooks.md'), 'piece')).toEqual(names(true));
  });

  it('every runbook in README.md "Shipped runbooks", and only those', () => {
    const readme = doc('README.md');
    const section = readme.slice(readme.indexOf('## Shipped runbooks'), readme.indexOf('\n## ', readme.indexOf('## Shipped runbooks') + 1));
    expect(tableNames(section, 'runbook')).toEqual(names(false));
  });
});

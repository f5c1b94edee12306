/**
 * Which names an expression reads, found by walking the parsed AST. Used by
 * runbook validation to report undefined vars and steps that do not exist
 * or run later.
 */
import type { ASTNode } from '@marcbachmann/cel-js';

/** Names read by an expression. */
export interface References {
  /** Free top-level identifiers (`stdout`, `vars`, ...), without comprehension or `cel.bind` variables. */
  roots: Set<string>;
  /** Step ids read as `steps.X` or `steps["X"]`. */
  steps: Set<string>;
  /** Var names read as `vars.X` or `vars["X"]`. */
  vars: Set<string>;
}

/** Create an empty {@link References}. */
export function emptyReferences(): References {
  return { roots: new Set(), steps: new Set(), vars: new Set() };
}

// Library constants: namespaces, not inputs a runbook provides.
const CONSTANTS = new Set(['cel', 'google']);
// Macros whose first argument names a variable bound in the others.
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** Add what `ast` reads to `into`. */
export function collectReferences(ast: ASTNode, into: References): void {
  walk(ast, new Set(), into);
}

function walk(node: ASTNode, bound: ReadonlySet<string>, refs: References): void {
  switch (node.op) {
    case 'id':
      if (!bound.has(node.args) && !CONSTANTS.has(node.args)) refs.roots.add(node.args);
      return;
    case 'value':
      return;
    case '.':
    case '.?': {
      const [target, field] = node.args;
      noteMember(target, field, bound, refs);
      walk(target, bound, refs);
      return;
    }
    case '[]':
    case '[?]': {
      const [target, index] = node.args;
      if (index.op === 'value' && typeof index.args === 'string') noteMember(target, index.args, bound, refs);
      walk(target, bound, refs);
      walk(index, bound, refs);
      return;
    }
    case 'call':
      for (const arg of node.args[1]) walk(arg, bound, refs);
      return;
    case 'rcall': {
      const [name, receiver, args] = node.args;
      walk(receiver, bound, refs);
      const [first, ...rest] = args;
      const isBind = name === 'bind' && receiver.op === 'id' && receiver.args === 'cel' && args.length === 3;
      if (first?.op === 'id' && (isBind || (COMPREHENSIONS.has(name) && args.length >= 2))) {
        // cel.bind(v, init, body): `init` is outside the binding.
        if (isBind && rest[0]) walk(rest[0], bound, refs);
        const inner = new Set(bound).add(first.args);
        for (const arg of isBind ? rest.slice(1) : rest) walk(arg, inner, refs);
        return;
      }
      for (const arg of args) walk(arg, bound, refs);
      return;
    }
    case 'map':
      for (const [key, value] of node.args) {
        walk(key, bound, refs);
        walk(value, bound, refs);
      }
      return;
    case 'list':
    case '?:':
    case '||':
    case '&&':
      for (const arg of node.args) walk(arg, bound, refs);
      return;
    case '!_':
    case '-_':
      walk(node.args, bound, refs);
      return;
    default:
      // Binary operators.
      for (const arg of node.args) walk(arg, bound, refs);
  }
}

function noteMember(target: ASTNode, member: string, bound: ReadonlySet<string>, refs: References): void {
  if (target.op !== 'id' || bound.has(target.args)) return;
  if (target.args === 'steps') refs.steps.add(member);
  else if (target.args === 'vars') refs.vars.add(member);
}

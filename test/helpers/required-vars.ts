/**
 * Which required vars a runbook lacks in a given environment, read from its YAML independently of
 * maint: the expectation the newcomer matrix holds maint's diagnostics to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** A required var that nothing sets. */
export interface MissingVar {
  /** The var's name in the file that declares it. */
  name: string;
  /** The environment variable that would set it, when the declaration names one. */
  env?: string;
  /** The runbook file (in the runbooks folder) that declares it. */
  file: string;
  /** Declared by the runbook the user named (so `--var name=` sets it), not by an include. */
  root: boolean;
}

type Decl = Record<string, unknown>;
type Doc = { vars?: Record<string, unknown>; steps?: unknown[]; finally?: unknown[] };

/** The runbook a step's `runbook:` names: `<name>.yaml`, or the piece `_<name>.yaml`. */
function pieceFile(dir: string, name: string): string {
  return existsSync(join(dir, `${name}.yaml`)) ? `${name}.yaml` : `_${name}.yaml`;
}

/** Every step object, groups and `finally` included. */
function allSteps(list: unknown[] | undefined, out: Decl[] = []): Decl[] {
  for (const step of list ?? []) {
    if (typeof step !== 'object' || step === null) continue;
    const s = step as Decl;
    out.push(s);
    for (const key of ['steps', 'parallel', 'finally']) if (Array.isArray(s[key])) allSteps(s[key] as unknown[], out);
  }
  return out;
}

/**
 * The required vars of `file` (in `dir`) that neither a default, the environment `env`, nor (for
 * an included runbook) the including step's `vars:` set; includes are followed to any depth.
 */
export function missingVars(dir: string, file: string, env: Record<string, string>, given: string[] = [], root = true, depth = 0): MissingVar[] {
  const doc = parse(readFileSync(join(dir, file), 'utf8')) as Doc;
  const missing: MissingVar[] = [];
  for (const [name, raw] of Object.entries(doc.vars ?? {})) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) continue; // a bare default
    const decl = raw as Decl;
    const envName = typeof decl.env === 'string' ? decl.env : undefined;
    if (decl.required !== true || 'default' in decl || given.includes(name)) continue;
    if (envName && env[envName] !== undefined) continue;
    missing.push({ name, file, root, ...(envName ? { env: envName } : {}) });
  }
  if (depth > 8) return missing;
  for (const step of allSteps([...(doc.steps ?? []), ...(doc.finally ?? [])])) {
    if (typeof step.runbook !== 'string') continue;
    const passed = Object.keys((step.vars as Record<string, unknown> | undefined) ?? {});
    missing.push(...missingVars(dir, pieceFile(dir, step.runbook), env, passed, false, depth + 1));
  }
  return missing;
}

/**
 * The three patch formats kubectl sends: JSON Patch (rollout undo), JSON merge patch
 * (`--type=merge`, apply to custom resources) and strategic merge patch (set image, scale,
 * apply, plain `kubectl patch`).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export class PatchError extends Error {}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function applyPatch(contentType: string, target: Json, patch: Json): Json {
  if (contentType.startsWith('application/json-patch+json')) return jsonPatch(target, patch);
  if (contentType.startsWith('application/merge-patch+json')) return mergePatch(target, patch);
  if (contentType.startsWith('application/strategic-merge-patch+json')) return strategicMergePatch(target, patch);
  throw new PatchError(`unsupported patch type ${contentType}`);
}

/** RFC 6902 add/remove/replace/test; like the API server, remove/replace need the path to exist. */
export function jsonPatch(doc: Json, ops: Json[]): Json {
  if (!Array.isArray(ops)) throw new PatchError('JSON patch must be an array of operations');
  const root = { doc: structuredClone(doc) };
  for (const { op, path, value } of ops) {
    const keys = ['doc', ...String(path).split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))];
    const last = keys.pop()!;
    const parent = keys.reduce<Json>((o, k) => (o == null ? undefined : o[k]), root);
    if (parent == null || typeof parent !== 'object') throw new PatchError(`${op} ${path}: parent path does not exist`);
    const exists = Array.isArray(parent) ? Number(last) < parent.length : last in parent;
    if ((op === 'remove' || op === 'replace' || op === 'test') && !exists) throw new PatchError(`${op} ${path}: path does not exist`);
    if (op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(value)) throw new PatchError(`test ${path} failed`);
    } else if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      parent.splice(i, op === 'add' ? 0 : 1, ...(op === 'remove' ? [] : [value]));
    } else if (op === 'remove') {
      delete parent[last];
    } else if (op === 'add' || op === 'replace') {
      parent[last] = value;
    } else {
      throw new PatchError(`unsupported JSON patch operation ${op}`);
    }
  }
  return root.doc;
}

/** RFC 7386: objects merge recursively, null deletes, everything else (lists too) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// Strategic merge patch: lists of objects that Kubernetes declares with a patch merge key are
// merged element by element on that key; other lists are replaced. This table covers the
// fields kubectl patches in workloads and services.
const MERGE_KEYS: Record<string, (el: Json) => string> = {
  containers: () => 'name',
  initContainers: () => 'name',
  ephemeralContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  imagePullSecrets: () => 'name',
  volumeMounts: () => 'mountPath',
  conditions: () => 'type',
  hostAliases: () => 'ip',
  // Container ports merge on containerPort, Service ports on port.
  ports: (el) => (isObject(el) && 'containerPort' in el ? 'containerPort' : 'port'),
};

/** Directives: `$patch` (replace/delete/merge), `$retainKeys`, `$deleteFromPrimitiveList/f`; `$setElementOrder/f` is only an ordering hint. */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return strategicMergePatch(undefined, { ...patch, $patch: undefined });
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/') || v === undefined) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      out[field] = (out[field] ?? []).filter((x: Json) => !v.includes(x));
    } else if (v === null || (isObject(v) && v.$patch === 'delete')) {
      delete out[k];
    } else {
      out[k] = Array.isArray(v) ? mergeList(k, out[k], v) : strategicMergePatch(out[k], v);
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k)) delete out[k];
  }
  return out;
}

function mergeList(field: string, target: Json, patch: Json[]): Json[] {
  const fresh = (els: Json[]): Json[] => els.filter((e) => !(isObject(e) && e.$patch)).map((e) => strategicMergePatch(undefined, e));
  const key = MERGE_KEYS[field]?.(patch[0]);
  if (!key || !Array.isArray(target) || patch.some((e) => isObject(e) && e.$patch === 'replace')) return fresh(patch);
  const out = [...target];
  for (const el of patch) {
    const i = out.findIndex((o) => isObject(o) && o[key] === el[key]);
    if (el.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) {
      out[i] = strategicMergePatch(out[i], el);
    } else {
      out.push(strategicMergePatch(undefined, el));
    }
  }
  return out;
}

/**
 * Object storage with one global resourceVersion counter and watch streams, plus the label and
 * field selectors lists and watches filter by.
 */
import { randomUUID } from 'node:crypto';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = any;
export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj }
type Listener = (e: WatchEvent) => void;

/** JSON with sorted keys and without null/empty values, so objects compare as the Go types would. */
export function canonical(v: Obj): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const entries = Object.keys(v).sort()
    .filter((k) => v[k] != null && !(typeof v[k] === 'object' && Object.keys(v[k]).length === 0))
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`);
  return `{${entries.join(',')}}`;
}

const keyOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;

export class Store {
  private rv = 1;
  private readonly objects = new Map<string, Map<string, Obj>>(); // plural → "ns/name" → object
  private readonly history: { plural: string; rv: number; event: WatchEvent }[] = [];
  private readonly listeners = new Map<Listener, string>(); // listener → plural

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(plural: string): Map<string, Obj> {
    let b = this.objects.get(plural);
    if (!b) this.objects.set(plural, (b = new Map()));
    return b;
  }

  /** The stored object itself (callers that hand it out copy it). */
  get(plural: string, ns: string | undefined, name: string): Obj | undefined {
    return this.bucket(plural).get(keyOf(ns, name));
  }

  /** Sorted by namespace and name, as etcd returns them. */
  list(plural: string, ns?: string, match: (o: Obj) => boolean = () => true): Obj[] {
    return [...this.bucket(plural)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => o)
      .filter((o) => (!ns || o.metadata.namespace === ns) && match(o));
  }

  /** Stores a copy with a new resourceVersion (uid and creationTimestamp on first save) and notifies watchers. */
  save(plural: string, obj: Obj): Obj {
    const m = obj.metadata;
    const old = this.get(plural, m.namespace, m.name);
    const stored = structuredClone(obj);
    stored.metadata = {
      ...stored.metadata,
      uid: old?.metadata.uid ?? m.uid ?? randomUUID(),
      creationTimestamp: old?.metadata.creationTimestamp ?? m.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      resourceVersion: String(++this.rv),
    };
    this.bucket(plural).set(keyOf(m.namespace, m.name), stored);
    this.emit(plural, { type: old ? 'MODIFIED' : 'ADDED', object: stored });
    return stored;
  }

  delete(plural: string, ns: string | undefined, name: string): Obj | undefined {
    const old = this.get(plural, ns, name);
    if (!old) return undefined;
    this.bucket(plural).delete(keyOf(ns, name));
    const gone = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.emit(plural, { type: 'DELETED', object: gone });
    return gone;
  }

  private emit(plural: string, event: WatchEvent): void {
    this.history.push({ plural, rv: this.rv, event });
    if (this.history.length > 10_000) this.history.shift();
    for (const [listener, p] of this.listeners) if (p === plural) listener(event);
  }

  /**
   * Streams changes to `plural`. From a resourceVersion: the changes after it, as the API server
   * does; without one: an ADDED event per current object first. Returns the unsubscribe function.
   */
  watch(plural: string, sinceRv: string | undefined, listener: Listener): () => void {
    if (sinceRv && sinceRv !== '0') {
      for (const h of this.history) if (h.plural === plural && h.rv > Number(sinceRv)) listener(h.event);
    } else {
      for (const object of this.list(plural)) listener({ type: 'ADDED', object });
    }
    this.listeners.set(listener, plural);
    return () => this.listeners.delete(listener);
  }
}

// --- selectors (`?labelSelector=app=api,version in (blue,green)` and `?fieldSelector=metadata.name=api`)

/** Splits on commas outside parentheses. */
const requirements = (sel: string): string[] => sel.split(/,(?![^(]*\))/).map((s) => s.trim()).filter(Boolean);

export function labelMatcher(selector: string | null): (o: Obj) => boolean {
  const tests = requirements(selector ?? '').map(labelTest);
  return (o) => tests.every((t) => t(o.metadata.labels ?? {}));
}

/** One requirement: `k in (a,b)`, `k notin (a,b)`, `k=v`, `k==v`, `k!=v`, `k`, `!k`. */
function labelTest(req: string): (labels: Record<string, string>) => boolean {
  const set = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(req);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = list.split(',').map((v) => v.trim());
    return (l) => (op === 'in') === (key in l && values.includes(l[key]!));
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(req);
  if (eq) {
    const [, key = '', op, value] = eq;
    return (l) => (op === '!=') !== (l[key] === value);
  }
  if (req.startsWith('!')) return (l) => !(req.slice(1).trim() in l);
  return (l) => req in l;
}

export function fieldMatcher(selector: string | null): (o: Obj) => boolean {
  const tests = requirements(selector ?? '').map((req) => {
    const [, path, op, value] = /^([^=!]+)(==|=|!=)(.*)$/.exec(req) ?? [];
    if (!path) throw new Error(`invalid field selector ${req}`);
    return (o: Obj): boolean => {
      const actual = String(path.split('.').reduce((v, k) => v?.[k], o) ?? '');
      return (op === '!=') !== (actual === value);
    };
  });
  return (o) => tests.every((t) => t(o));
}

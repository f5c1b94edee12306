/**
 * kubectl 1.32's typed clients (`kubectl create namespace`, `create configmap`, …) send bodies as
 * Kubernetes protobuf, not JSON. Decoding needs the generated schemas, so this reads just the
 * envelope and ObjectMeta — all a Namespace carries; other kinds get 415 from the caller.
 */
import type { Obj } from './store.js';

type Fields = Map<number, (bigint | Buffer)[]>;

/** Field number → values (varints as bigint, length-delimited as Buffer; fixed-width skipped). */
function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const [field, wire] = [tag >> 3, tag & 7];
    let value: bigint | Buffer | undefined;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(i, (i += len));
    } else if (wire === 1 || wire === 5) i += wire === 1 ? 8 : 4;
    else throw new Error(`protobuf wire type ${wire} unsupported`);
    if (value !== undefined) out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

const str = (f: Fields, n: number): string | undefined => f.get(n)?.[0]?.toString() || undefined;
const msg = (f: Fields, n: number): Fields => fields((f.get(n)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
const map = (f: Fields, n: number): Record<string, string> | undefined => {
  const entries = (f.get(n) ?? []).map((e) => fields(e as Buffer)).map((e) => [str(e, 1) ?? '', str(e, 2) ?? '']);
  return entries.length ? Object.fromEntries(entries) : undefined;
};

/** The kind and metadata of a `k8s\0`-framed protobuf object. */
export function decodeMetadata(body: Buffer): Obj {
  if (body.subarray(0, 4).toString('latin1') !== 'k8s\0') throw new Error('not a Kubernetes protobuf body');
  const unknown = fields(body.subarray(4));
  const typeMeta = msg(unknown, 1);
  const meta = msg(msg(unknown, 2), 1);
  const metadata = { name: str(meta, 1), generateName: str(meta, 2), namespace: str(meta, 3), labels: map(meta, 11), annotations: map(meta, 12) };
  return { apiVersion: str(typeMeta, 1), kind: str(typeMeta, 2), metadata: JSON.parse(JSON.stringify(metadata)) };
}

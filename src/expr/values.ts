/**
 * Conversions between plain JavaScript values (parsed JSON, YAML vars, step
 * results) and the values the CEL library computes with.
 *
 * The library represents CEL `int` as bigint, `double` as number, `uint` as
 * UnsignedInt, `timestamp` as Date and `duration` as its Duration class.
 */
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { Optional } from '@marcbachmann/cel-js';

/** The library's CEL `duration` value, as held in {@link ExprContext}'s `duration`. */
export type CelDuration = Duration;

/**
 * Base of the typed records registered with the CEL environment. Field access
 * on them is type-checked, so `steps.disk.stdot` is an error at check time.
 */
export abstract class CelRecord {}

/** What an expression sees as `steps.<id>`: registered as CEL type `maint.Step`. */
export class CelStep extends CelRecord {
  declare outputs?: Record<string, unknown>;
  declare stdout?: string;
  declare stderr?: string;
  declare exit_code?: bigint;
  declare status?: string;
}

/** What an expression sees as `runbook`: registered as CEL type `maint.Runbook`. */
export class CelRunbook extends CelRecord {
  declare name?: string;
  declare run_id?: string;
}

const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

/** Build the CEL `duration` value for a span of `ms` milliseconds. */
export function celDuration(ms: number): CelDuration {
  return Duration.fromMilliseconds(ms);
}

/**
 * Convert plain JS input into CEL values: integral numbers become bigint
 * (CEL `int`, so `json.count > 5` compares int with int), other numbers stay
 * double, arrays and plain objects are converted recursively (into
 * prototype-less objects, so a JSON key `__proto__` stays data), `undefined`
 * object entries are dropped (so `has()` reports them absent). Dates,
 * bigints, bytes and library values are kept as they are.
 */
export function toCel(value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX ? BigInt(value) : value;
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      // Functions and symbols have no CEL counterpart.
      return String(value);
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(toCel);
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of value) if (v !== undefined) out.set(toCel(k), toCel(v));
    return out;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toCel(v);
    return out;
  }
  return value; // Date, Duration, Uint8Array, UnsignedInt, CelRecord, ...
}

/**
 * Convert a CEL result into a plain JSON-able value: int/uint → number when
 * it is a safe integer, else its decimal string; timestamp → ISO 8601
 * string; duration → text such as `"1m30s"` or `"1h30m"` (see
 * {@link formatDuration}); bytes → UTF-8 text; lists, maps and records
 * recursively.
 */
export function toPlain(value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return bigintToPlain(value);
    case 'number':
    case 'string':
    case 'boolean':
      return value;
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      return String(value);
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Duration) return formatDuration(value);
  if (value instanceof UnsignedInt) return bigintToPlain(value.valueOf());
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value instanceof Optional) return value.hasValue() ? toPlain(value.value()) : null;
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) defineEntry(out, String(toPlain(k)), toPlain(v));
    return out;
  }
  if (isPlainObject(value) || value instanceof CelRecord) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) defineEntry(out, k, toPlain(v));
    return out;
  }
  // A CEL type value from type(x); its class is not exported by the library.
  const name: unknown = (value as { name?: unknown }).name;
  return typeof name === 'string' && value.constructor?.name === 'Type' ? name : String(value);
}

/**
 * Text of a CEL value for insertion into a template: strings as they are,
 * numbers and bools as text, null → empty, timestamp → ISO 8601, duration →
 * e.g. `1h30m`, lists and maps → JSON.
 */
export function toText(value: unknown): string {
  const plain = toPlain(value);
  switch (typeof plain) {
    case 'string':
      return plain;
    case 'number':
    case 'boolean':
      return String(plain);
    default:
      return plain === null ? '' : JSON.stringify(plain);
  }
}

/**
 * Go-style text of a duration, without zero units: `0s`, `250ms`, `1.5s`,
 * `1m30s`, `1h30m`, `-2h`. It parses back with CEL's `duration()`.
 */
export function formatDuration(d: { seconds: bigint; nanos: number }): string {
  let total = d.seconds * 1_000_000_000n + BigInt(d.nanos);
  if (total === 0n) return '0s';
  const sign = total < 0n ? '-' : '';
  if (total < 0n) total = -total;
  if (total < 1_000n) return `${sign}${total}ns`;
  if (total < 1_000_000n) return `${sign}${decimal(total, 1_000n)}us`;
  if (total < 1_000_000_000n) return `${sign}${decimal(total, 1_000_000n)}ms`;
  const hours = total / 3_600_000_000_000n;
  const minutes = (total / 60_000_000_000n) % 60n;
  const secondsNanos = total % 60_000_000_000n;
  let out = sign;
  if (hours) out += `${hours}h`;
  if (minutes) out += `${minutes}m`;
  if (secondsNanos) out += `${decimal(secondsNanos, 1_000_000_000n)}s`;
  return out;
}

/** CEL type name of a runtime value, for error messages (`int`, `list`, ...). */
export function celTypeName(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return 'null';
  }
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'timestamp';
  if (value instanceof Duration) return 'duration';
  if (value instanceof UnsignedInt) return 'uint';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof CelStep) return 'maint.Step';
  if (value instanceof CelRunbook) return 'maint.Runbook';
  if (value instanceof Map || isPlainObject(value)) return 'map';
  return (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
}

function bigintToPlain(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

// `n / unit` as a decimal without trailing zeros: decimal(1500n, 1000n) → "1.5".
function decimal(n: bigint, unit: bigint): string {
  const whole = n / unit;
  const frac = n % unit;
  if (frac === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${frac.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Assignment would turn a `__proto__` key into a prototype change.
function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

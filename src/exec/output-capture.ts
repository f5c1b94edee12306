/**
 * Bounded capture of a child's output stream.
 *
 * A step may print gigabytes (a `pg_dump` to stdout, a chatty `restic`); maint only needs the
 * beginning for expressions and the log, so memory must stay O(limit), not O(output).
 */

/**
 * Keeps the first `limit` bytes pushed into it and drops the rest (while remembering that it did).
 * Bytes rather than decoded text are kept so the limit is exact; decoding happens once, at the end.
 */
export class BoundedCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private readonly limit: number;
  /** True once any byte had to be dropped. */
  truncated = false;

  /** @param limit maximum number of bytes kept; negative or NaN means 0. */
  constructor(limit: number) {
    this.limit = limit > 0 ? Math.floor(limit) : 0;
  }

  /** Appends a raw chunk, keeping only what still fits under the limit. */
  push(chunk: Buffer): void {
    const room = this.limit - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0 || chunk.length === 0) return;
    // Copy a partial slice: a subarray would pin the whole (up to 64 KiB) read buffer.
    const part = chunk.length > room ? Buffer.from(chunk.subarray(0, room)) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  /** The kept bytes as UTF-8 text; when truncated, a character cut in half at the limit is dropped. */
  text(): string {
    const buf = Buffer.concat(this.chunks, this.kept);
    const end = this.truncated ? utf8SafeEnd(buf) : buf.length;
    return buf.toString('utf8', 0, end);
  }
}

/**
 * Length of the longest prefix of `buf` that does not end inside a multi-byte UTF-8 sequence.
 * Only the last (at most 4) bytes are inspected; invalid input is left for the decoder to replace.
 */
export function utf8SafeEnd(buf: Uint8Array): number {
  const end = buf.length;
  // Walk back over continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  let lead = end - 1;
  while (lead >= 0 && lead > end - 4 && ((buf[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return end;
  const b = buf[lead] ?? 0;
  const needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return end - lead >= needed ? end : lead;
}

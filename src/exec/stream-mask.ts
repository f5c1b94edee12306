/**
 * Masking for output that arrives in chunks (a child's stdout/stderr): masking each chunk on its own
 * leaks a secret that a pipe read happens to split (`...s3c` | `r3t...`).
 */
import { maskSpan, type Masker, type MaskState } from './mask.js';

/**
 * Masks a stream delivered in arbitrary chunks. The concatenation of every {@link push} result and the
 * final {@link flush} is exactly `masker.mask(wholeInput)`, for every way of chunking the input: nothing
 * is lost, duplicated or left unmasked.
 *
 * How: a position can only be judged once the longest form that could start there fits in what has
 * arrived, so the last `maxFormLength - 1` characters are held back (one more if that would split a
 * surrogate pair) and the masked prefix before them is emitted. Whether a character is covered depends
 * on nothing beyond that window, and {@link MaskState} carries over a mask run that reaches into the
 * held-back text, so a secret straddling the boundary is masked when the next chunk arrives.
 *
 * Holding back is not bounded by newlines: a secret (a PEM key, say) may contain one.
 * With nothing to mask, `push` returns its chunk unchanged and holds nothing back.
 */
export class StreamMasker {
  private readonly masker: Masker;
  private pending = '';
  private readonly state: MaskState = { carry: 0, prevCovered: false };

  constructor(masker: Masker) {
    this.masker = masker;
  }

  /** Takes the next chunk; returns the output that is now safe to print (possibly empty). */
  push(chunk: string): string {
    if (this.masker.empty) return chunk;
    const text = this.pending + chunk;
    let safe = Math.max(0, text.length - (this.masker.maxFormLength - 1));
    // Never end an emitted piece between the halves of a surrogate pair: written on its own, each half
    // would be encoded as U+FFFD.
    if (safe > 0 && isHighSurrogate(text.charCodeAt(safe - 1))) safe--;
    return this.emit(text, safe);
  }

  /** Ends the stream: returns whatever was held back, masked. The masker can then be reused for a new stream. */
  flush(): string {
    if (this.masker.empty) return '';
    const out = this.emit(this.pending, this.pending.length);
    this.state.carry = 0;
    this.state.prevCovered = false;
    return out;
  }

  private emit(text: string, safe: number): string {
    const { out } = maskSpan(this.masker, text, safe, this.state);
    this.pending = text.slice(safe);
    return out;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Replaces secret values with `***` in anything that could be printed or written. */
export class Masker {
  private readonly secrets: string[];

  /** Values shorter than this are not masked: masking `1` or `ab` would garble all output. */
  static readonly MIN_LENGTH = 4;

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = [...new Set(secrets)].filter((s) => s.length >= Masker.MIN_LENGTH).sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }

  get empty(): boolean {
    return this.secrets.length === 0;
  }
}

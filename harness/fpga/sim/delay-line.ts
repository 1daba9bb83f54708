/** `length` registers in a row: what enters in cycle t leaves in cycle t + length. */
export class DelayLine<T> {
  private readonly regs: (T | undefined)[];
  private head = 0;

  constructor(readonly length: number) {
    this.regs = new Array<T | undefined>(length).fill(undefined);
  }

  /** One clock: `x` enters; returns what entered `length` cycles ago (`x` itself for length 0). */
  shift(x: T | undefined): T | undefined {
    if (this.length === 0) return x;
    const out = this.regs[this.head];
    this.regs[this.head] = x;
    this.head = (this.head + 1) % this.length;
    return out;
  }
}

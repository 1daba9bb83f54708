/**
 * The ping-pong weight buffer of engine (a) and its loader (the weight loader of
 * splitconv-clock.ts). `word(tile, k)` is what the loader fetches: the P_o * W * L weights of
 * word k (= tap * T_c + channel tile) of output tile.
 */
export class WeightPingPong {
  active: number[][];
  private shadow: number[][] = [];
  private loading: number | undefined;
  private loaded = 0;
  private timer = 0;

  constructor(
    private readonly word: (tile: number, k: number) => number[],
    private readonly words: number,
    private readonly tiles: number,
    private readonly wordCycles: number,
  ) {
    this.active = Array.from({ length: words }, (_, k) => word(0, k));
  }

  /** Tile k may start: its words are the active half (tile 0) or a complete shadow half. */
  ready(tile: number): boolean {
    return tile === 0 || (this.loading === tile && this.loaded === this.words);
  }

  /** The first issue of `tile`: swap halves, start loading tile + 1. */
  start(tile: number): void {
    if (tile > 0) this.active = this.shadow;
    this.shadow = [];
    this.loading = tile + 1 < this.tiles ? tile + 1 : undefined;
    this.loaded = 0;
    this.timer = 0;
  }

  /** One clock of the loader. */
  tick(): void {
    if (this.loading === undefined || this.loaded === this.words) return;
    if (++this.timer < this.wordCycles) return;
    this.shadow[this.loaded] = this.word(this.loading, this.loaded);
    this.loaded++;
    this.timer = 0;
  }
}

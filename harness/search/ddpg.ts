/**
 * A DDPG agent in the spirit of Wang et al.'s HAQ (CVPR 2019) and He et al.'s AMC (ECCV 2018):
 * it walks the model layer by layer and takes a continuous action per layer, learned from the
 * reward of the whole compressed model. Our formulation, small enough to need no ML framework:
 *
 *  - Episode = one candidate. Step t < T-1 is convolution t, step T-1 the engine. The state is
 *    the layer's description (position, log2 input and output channels / 10, kernel / 7, share
 *    of the MACs, prunable or not, whether this is the engine step), the previous action, and the
 *    episode's scalarisation weights (objectives.ts, / 0.064): one agent learns all trade-offs,
 *    the episode's weights cycling through SCALARIZATIONS.
 *  - Action = 3 numbers in [0, 1]: (prune ratio, weight bits, activation bits) genes of the
 *    layer, or (L, Pp, Po) of the engine (space.ts decodes them).
 *  - Actor mu(s): s -> 64 -> 64 -> 3, ReLU, sigmoid output. Critic Q(s, a): [s, a] -> 64 -> 64 -> 1.
 *    Weights uniform in +-1/sqrt(fan-in) from the seeded Rng; Adam (actor 1e-4... see LR_*).
 *  - Reward R = -s_k(candidate) (objectives.ts scalarize), -1 when infeasible, given to every
 *    step of the episode (AMC: gamma = 1 and the episode's reward for every transition, a moving
 *    average baseline b subtracted): the critic regresses Q(s_t, a_t) on R - b, the actor ascends
 *    dQ/da * da/dtheta on replayed states.
 *  - Exploration: the first WARMUP episodes (a tenth of the budget, at least one batch) take
 *    uniform actions; then mu(s) plus truncated normal noise whose sigma starts at 0.5 and decays
 *    geometrically to 0.05 at the end of the budget (AMC: 0.5, decay 0.95 per episode).
 *  - After every batch, (batch * T) / 2 updates on minibatches of 64 transitions from a replay
 *    buffer of the last 4096. Everything is deterministic for a seed.
 */
import { Rng, gaussian } from '../util/rng.ts';
import { SCALARIZATIONS, scalarize } from './objectives.ts';
import type { SearchSpace } from './space.ts';
import type { Proposal, Scored, Strategy } from './strategy.ts';

const HIDDEN = 64;
const LR_ACTOR = 3e-4;
const LR_CRITIC = 1e-3;
const MINIBATCH = 64;
const REPLAY = 4096;

/** A dense layer with Adam state. */
class Dense {
  readonly w: Float64Array;
  readonly b: Float64Array;
  readonly gw: Float64Array;
  readonly gb: Float64Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(readonly nIn: number, readonly nOut: number, rng: Rng) {
    const s = 1 / Math.sqrt(nIn);
    this.w = Float64Array.from({ length: nIn * nOut }, () => (2 * rng.next() - 1) * s);
    this.b = Float64Array.from({ length: nOut }, () => (2 * rng.next() - 1) * s);
    this.gw = new Float64Array(this.w.length);
    this.gb = new Float64Array(nOut);
    this.m = new Float64Array(this.w.length + nOut);
    this.v = new Float64Array(this.w.length + nOut);
  }

  forward(x: Float64Array): Float64Array {
    const y = Float64Array.from(this.b);
    for (let o = 0; o < this.nOut; o++) {
      let s = y[o]!;
      const row = o * this.nIn;
      for (let i = 0; i < this.nIn; i++) s += this.w[row + i]! * x[i]!;
      y[o] = s;
    }
    return y;
  }

  /** Accumulates the gradients for input x and output gradient gy; returns the input gradient. */
  backward(x: Float64Array, gy: Float64Array, accumulate: boolean): Float64Array {
    const gx = new Float64Array(this.nIn);
    for (let o = 0; o < this.nOut; o++) {
      const g = gy[o]!;
      if (g === 0) continue;
      const row = o * this.nIn;
      if (accumulate) this.gb[o] = this.gb[o]! + g;
      for (let i = 0; i < this.nIn; i++) {
        if (accumulate) this.gw[row + i] = this.gw[row + i]! + g * x[i]!;
        gx[i] = gx[i]! + g * this.w[row + i]!;
      }
    }
    return gx;
  }

  /** One Adam step on the accumulated gradient (descent), then clears it. */
  step(lr: number, scale: number): void {
    this.t++;
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const n = this.w.length;
    for (let i = 0; i < n + this.nOut; i++) {
      const g = (i < n ? this.gw[i]! : this.gb[i - n]!) * scale;
      this.m[i] = b1 * this.m[i]! + (1 - b1) * g;
      this.v[i] = b2 * this.v[i]! + (1 - b2) * g * g;
      const d = (lr * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + eps);
      if (i < n) this.w[i] = this.w[i]! - d;
      else this.b[i - n] = this.b[i - n]! - d;
    }
    this.gw.fill(0);
    this.gb.fill(0);
  }
}

/** in -> HIDDEN -> HIDDEN -> out, ReLU between, `sigmoid` or linear output. */
class Mlp {
  private readonly layers: Dense[];

  constructor(nIn: number, nOut: number, private readonly sigmoid: boolean, rng: Rng) {
    this.layers = [new Dense(nIn, HIDDEN, rng), new Dense(HIDDEN, HIDDEN, rng), new Dense(HIDDEN, nOut, rng)];
  }

  /** The output and every layer's input (for backward). */
  forward(x: Float64Array): { y: Float64Array; inputs: Float64Array[] } {
    const inputs: Float64Array[] = [];
    let h = x;
    this.layers.forEach((l, i) => {
      inputs.push(h);
      const z = l.forward(h);
      h = i < this.layers.length - 1 ? z.map((v) => (v > 0 ? v : 0)) : this.sigmoid ? z.map((v) => 1 / (1 + Math.exp(-v))) : z;
    });
    return { y: h, inputs };
  }

  /** Backpropagates gy (gradient at the output); accumulates parameter gradients when asked. */
  backward(f: { y: Float64Array; inputs: Float64Array[] }, gy: Float64Array, accumulate: boolean): Float64Array {
    let g = this.sigmoid ? gy.map((v, i) => v * f.y[i]! * (1 - f.y[i]!)) : gy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      g = this.layers[i]!.backward(f.inputs[i]!, g, accumulate);
      if (i > 0) g = g.map((v, k) => (f.inputs[i]![k]! > 0 ? v : 0));
    }
    return g;
  }

  step(lr: number, scale: number): void {
    for (const l of this.layers) l.step(lr, scale);
  }
}

interface Transition {
  s: Float64Array;
  a: Float64Array;
  target: number;
}

export class DdpgAgent implements Strategy {
  readonly name = 'ddpg';
  private readonly rng: Rng;
  private readonly gauss: () => number;
  private readonly actor: Mlp;
  private readonly critic: Mlp;
  private readonly steps: number;
  private readonly stateDim: number;
  private readonly warmup: number;
  private readonly decay: number;
  private episodes = 0;
  private baseline: number | undefined;
  private readonly replay: Transition[] = [];
  /** The states of the episodes of the batch asked last (by tag). */
  private pending = new Map<number, Float64Array[]>();

  constructor(private readonly space: SearchSpace, seed: number, budget: number, private readonly batch: number) {
    this.rng = new Rng(seed);
    this.gauss = gaussian(this.rng);
    this.steps = space.layers.length + 1;
    this.stateDim = 13;
    this.actor = new Mlp(this.stateDim, 3, true, this.rng);
    this.critic = new Mlp(this.stateDim + 3, 1, false, this.rng);
    this.warmup = Math.max(batch, Math.round(budget / 10));
    this.decay = Math.pow(0.1, 1 / Math.max(1, budget - this.warmup));
  }

  private state(t: number, prev: ArrayLike<number>, k: number): Float64Array {
    const l = this.space.layers[t];
    const w = SCALARIZATIONS[k]!;
    return Float64Array.from([
      t / (this.steps - 1), l ? 0 : 1,
      l ? Math.log2(l.inC) / 10 : 0, l ? Math.log2(l.outC) / 10 : 0, l ? l.kernel / 7 : 0, l ? l.macShare : 0, l?.prunable ? 1 : 0,
      prev[0]!, prev[1]!, prev[2]!,
      w.lat / 0.064, w.dsp / 0.064, w.size / 0.064,
    ]);
  }

  ask(): Proposal[] {
    const out: Proposal[] = [];
    this.pending = new Map();
    for (let i = 0; i < this.batch; i++) {
      const e = this.episodes + i;
      const k = e % SCALARIZATIONS.length;
      const sigma = 0.5 * this.decay ** Math.max(0, e - this.warmup);
      const x = new Float64Array(this.space.dim);
      const states: Float64Array[] = [];
      let prev: ArrayLike<number> = [0, 0, 0];
      for (let t = 0; t < this.steps; t++) {
        const s = this.state(t, prev, k);
        states.push(s);
        const mu = this.actor.forward(s).y;
        const a = Float64Array.from(mu, (m) => {
          if (e < this.warmup) return this.rng.next();
          // Truncated normal around mu in [0, 1]: redraw (a few times) outside it, then clip.
          for (let tries = 0; tries < 8; tries++) {
            const v = m + sigma * this.gauss();
            if (v >= 0 && v < 1) return v;
          }
          return Math.min(1 - 1e-9, Math.max(0, m));
        });
        x.set(a, 3 * t);
        prev = a;
      }
      this.pending.set(e, states);
      out.push({ x, tag: e });
    }
    return out;
  }

  tell(scored: readonly Scored[], reference: Scored['result']): void {
    for (const s of scored) {
      const k = s.tag % SCALARIZATIONS.length;
      const score = scalarize(s.result, SCALARIZATIONS[k]!, reference);
      const r = Number.isFinite(score) ? Math.max(-1, -score) : -1;
      this.baseline = this.baseline === undefined ? r : 0.95 * this.baseline + 0.05 * r;
      const states = this.pending.get(s.tag)!;
      states.forEach((st, t) => this.replay.push({ s: st, a: s.x.slice(3 * t, 3 * t + 3), target: r - this.baseline! }));
    }
    while (this.replay.length > REPLAY) this.replay.shift();
    this.episodes += scored.length;
    if (this.episodes < this.warmup) return;
    const updates = Math.ceil((scored.length * this.steps) / 2);
    for (let u = 0; u < updates; u++) this.update();
  }

  private update(): void {
    const n = Math.min(MINIBATCH, this.replay.length);
    const picks = Array.from({ length: n }, () => this.replay[Math.floor(this.rng.next() * this.replay.length)]!);
    // Critic: mean squared error to the target.
    for (const p of picks) {
      const f = this.critic.forward(concat(p.s, p.a));
      this.critic.backward(f, Float64Array.of(2 * (f.y[0]! - p.target)), true);
    }
    this.critic.step(LR_CRITIC, 1 / n);
    // Actor: ascend Q(s, mu(s)); the critic's input gradient gives dQ/da.
    for (const p of picks) {
      const fa = this.actor.forward(p.s);
      const fq = this.critic.forward(concat(p.s, fa.y));
      const gin = this.critic.backward(fq, Float64Array.of(1), false);
      const ga = gin.slice(this.stateDim).map((v) => -v);
      this.actor.backward(fa, ga, true);
    }
    this.actor.step(LR_ACTOR, 1 / n);
  }
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

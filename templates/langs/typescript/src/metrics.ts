// Prometheus metrics, hand-written: counters, gauges and histograms kept
// in memory and rendered in the text exposition format (version 0.0.4)
// that Prometheus scrapes from /metrics. No dependency, and nothing is
// pushed anywhere: Prometheus pulls.
// The metric names are the platform's (docs/golden-paths.md): the
// dashboards and alerts in observability/ query exactly these.

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Prometheus client libraries' default buckets, in seconds; 0.5 is one,
 * which the p99-over-500-ms alert needs. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra !== undefined) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

abstract class Metric<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";
  readonly #series = new Map<string, { values: string[]; state: S }>();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") {
        throw new Error(`${name}: bad label name "${l}"`);
      }
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  protected abstract initial(): S;
  protected abstract samples(labels: (extra?: [string, string]) => string, state: S): string[];

  // The series of these label values, created on first use. Labels must
  // be exactly the declared ones: a typo would otherwise be a new series
  // that no dashboard shows.
  protected series(labels: Labels | undefined): S {
    const given = labels ?? {};
    for (const k of Object.keys(given)) {
      if (!this.labelNames.includes(k)) throw new Error(`${this.name}: unknown label "${k}"`);
    }
    const values = this.labelNames.map((n) => {
      const v = given[n];
      if (v === undefined) throw new Error(`${this.name}: label "${n}" is missing`);
      return v;
    });
    const key = values.join("\u0000");
    let s = this.#series.get(key);
    if (s === undefined) {
      s = { values, state: this.initial() };
      this.#series.set(key, s);
    }
    return s.state;
  }

  render(): string {
    const help = this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
    const lines = [`# HELP ${this.name} ${help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.#series.values()) {
      lines.push(...this.samples((extra) => labelText(this.labelNames, values, extra), state));
    }
    return lines.join("\n") + "\n";
  }
}

export class Counter extends Metric<{ value: number }> {
  readonly type = "counter";

  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames);
    // a metric without labels exists from the start (0), so that rate()
    // sees the first increment
    if (labelNames.length === 0) this.series(undefined);
  }

  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up`);
    this.series(labels).value += by;
  }

  get(labels?: Labels): number {
    return this.series(labels).value;
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }

  protected samples(labels: () => string, s: { value: number }): string[] {
    return [`${this.name}${labels()} ${formatNumber(s.value)}`];
  }
}

export class Gauge extends Metric<{ value: number }> {
  readonly type = "gauge";

  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames);
    if (labelNames.length === 0) this.series(undefined);
  }

  set(value: number, labels?: Labels): void {
    this.series(labels).value = value;
  }

  get(labels?: Labels): number {
    return this.series(labels).value;
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }

  protected samples(labels: () => string, s: { value: number }): string[] {
    return [`${this.name}${labels()} ${formatNumber(s.value)}`];
  }
}

interface HistogramState {
  counts: number[]; // per bucket, not cumulative
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramState> {
  readonly type = "histogram";
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[] = [], buckets = DEFAULT_BUCKETS) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || b === sorted[i - 1])) {
      throw new Error(`${name}: buckets must be distinct finite numbers`);
    }
    this.buckets = sorted;
    if (labelNames.length === 0) this.series(undefined);
  }

  observe(value: number, labels?: Labels): void {
    const s = this.series(labels);
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  /** How many observations a series has (for tests and logs). */
  count(labels?: Labels): number {
    return this.series(labels).count;
  }

  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  protected samples(labels: (extra?: [string, string]) => string, s: HistogramState): string[] {
    const out: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += s.counts[i] ?? 0;
      out.push(`${this.name}_bucket${labels(["le", formatNumber(b)])} ${cumulative}`);
    });
    out.push(`${this.name}_bucket${labels(["le", "+Inf"])} ${s.count}`);
    out.push(`${this.name}_sum${labels()} ${formatNumber(s.sum)}`);
    out.push(`${this.name}_count${labels()} ${s.count}`);
    return out;
  }
}

/** The metrics of one process, rendered together for /metrics. */
export class Registry {
  readonly #metrics = new Map<string, { render(): string }>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets = DEFAULT_BUCKETS): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  render(): string {
    return [...this.#metrics.values()].map((m) => m.render()).join("");
  }

  #add<M extends { name: string; render(): string }>(m: M): M {
    if (this.#metrics.has(m.name)) throw new Error(`metric "${m.name}" is registered twice`);
    this.#metrics.set(m.name, m);
    return m;
  }
}

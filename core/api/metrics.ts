/**
 * A named group of monitoring values, e.g. `pipeline`, `output`, `process@quark`.
 * Numbers appear in `/stats` (nested by the dots in the key) and in `/metrics`
 * (as `procbeat_<namespace>_<key>` with dots and @ turned into `_`);
 * strings appear in `/stats` and as an info-style gauge label in `/metrics`.
 */
export interface MetricsNamespace {
  readonly name: string;
  inc(key: string, by?: number): void;
  set(key: string, value: number | string): void;
  get(key: string): number | string | undefined;
}

export interface MetricsRegistry {
  /** Returns the namespace with this name, creating it on first use. */
  namespace(name: string): MetricsNamespace;
}

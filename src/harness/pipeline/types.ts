/** One alert as the harness stores it after normalising the pipeline's response. */
export interface Alert {
  id: string;
  service: string;
  /** The signal or metric that fired, for example `http_p99_ms` or `error_rate`. */
  signal: string;
  severity: string;
  /** Fire time on the pipeline's clock, unix milliseconds. */
  firedAtMs: number;
  summary: string;
  observed?: number;
  expected?: number;
}

/** A group of alerts the pipeline believes share one cause. */
export interface Cluster {
  id: string;
  alertIds: string[];
  services: string[];
}

/** The pipeline's root-cause answer for one cluster. */
export interface RcaAnswer {
  rootService: string | null;
  /** Between 0 and 1. */
  confidence: number;
  evidence: unknown[];
  /** Candidate roots, best first, where the pipeline gives them. */
  ranked?: { service: string; score: number }[];
}

/** A failed, slow or malformed pipeline call, recorded against the experiment. */
export interface PipelineError {
  stage: 'alerts' | 'correlate' | 'rca' | 'health';
  message: string;
  /** The start of the response body, or empty when there was none. */
  excerpt: string;
  atMs: number;
}

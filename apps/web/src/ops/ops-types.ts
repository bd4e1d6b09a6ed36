/** The supervisor API's answers, as the console reads them (apps/cli/src/supervisor-api). */
export interface ProcessInfo {
  name: string;
  state: string;
  pid: number | null;
  url: string;
  restarts: number;
  started_at: number | null;
  last_exit: { at: number; code: number | null; signal: string | null } | null;
}

export interface RedPoint {
  t: number;
  rate: number;
  error_pct: number;
  p50_ms: number | null;
  p99_ms: number | null;
  messages_rate: number;
}

export interface ServiceFigures {
  service: string;
  up: boolean;
  series: RedPoint[];
  latest: {
    requests: number;
    errors: number;
    breakers: { dependency: string; state: number; opened: number }[];
    outboxBacklog: number | null;
    consumerLag: { group: string; messages: number }[];
    readModelLag: { read_model: string; generation: string; events: number; seconds: number }[];
    heapBytes: number | null;
    eventLoopUtilization: number | null;
  } | null;
}

export interface TraceSummary {
  trace_id: string;
  root_service: string;
  root_name: string;
  start_ms: number;
  duration_ms: number;
  span_count: number;
  services: string[];
  error: boolean;
  error_services: string[];
  correlation_ids: string[];
  kept_because: string;
}

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: string;
  startMs: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; timeMs: number; attributes: Record<string, string | number | boolean> }[];
}

export interface TraceDetail {
  summary: TraceSummary;
  spans: Span[];
  critical_path: { spanId: string; startMs: number; endMs: number }[];
}

export interface LogLine {
  seq: number;
  time_ms: number;
  level: string;
  service: string;
  message: string;
  trace_id: string | null;
  correlation_id: string | null;
  line: string;
}

export const breakerStates = ['closed', 'open', 'half-open'];

/** One instance in the supervisor's registry (`GET /admin/registry`). */
export interface RegistryInstance {
  instance: string;
  http: string;
  grpc: string | null;
  pid: number | null;
  version: string;
  ready: boolean;
  draining: boolean;
  weight: number;
  canary: boolean;
  role: 'active' | 'standby';
}

export interface RegistrySnapshot {
  revision: number;
  services: Record<string, RegistryInstance[]>;
}

/** A step of a release or rollback (`GET /admin/releases`), newest first. */
export interface ReleaseStep {
  /** Grows with each step of the run: a stable key. */
  seq: number;
  service: string;
  at: string;
  at_ms: number;
  step: string;
  instance?: string;
  version?: string;
  message: string;
}

import { z } from 'zod';
import type { Alert, Cluster, RcaAnswer } from './types.ts';

/** Our field name to the pipeline's field name (a dot path), per kind of object. */
export interface FieldMap {
  alert?: Record<string, string>;
  cluster?: Record<string, string>;
  rca?: Record<string, string>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function pick(source: Json, path: string): unknown {
  let current: unknown = source;
  for (const part of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** Returns the first defined value among the mapped field and the aliases. */
function firstOf(source: Json, mapped: string | undefined, aliases: string[]): unknown {
  for (const path of mapped === undefined ? aliases : [mapped, ...aliases]) {
    const value = pick(source, path);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/**
 * Converts a time to unix milliseconds: numbers above 1e11 are milliseconds, others seconds
 * (fractions allowed); numeric strings likewise; other strings are parsed as ISO 8601.
 */
export function toUnixMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return toUnixMs(Number(trimmed));
    const parsed = Date.parse(trimmed);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  // 1e11 seconds is the year 5138 and 1e11 milliseconds is 1973: the two ranges never overlap.
  return value >= 1e11 ? Math.round(value) : Math.round(value * 1_000);
}

/** Unwraps a bare list or a list inside an object (`{alerts: [...]}`, `{data: [...]}`). */
export function unwrapList(body: unknown, keys: string[]): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (!isObject(body)) return undefined;
  for (const key of [...keys, 'data', 'items', 'results']) {
    const value = body[key];
    if (Array.isArray(value)) return value;
    if (isObject(value)) {
      const inner = unwrapList(value, keys);
      if (inner) return inner;
    }
  }
  return undefined;
}

const timeMs = z.unknown().transform((value, ctx) => {
  const ms = toUnixMs(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'a time as unix seconds, milliseconds or ISO 8601',
      input: value,
    });
    return z.NEVER;
  }
  return ms;
});

const alertSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  service: z.string().min(1),
  signal: z.string().default('unknown'),
  severity: z.string().default('unknown'),
  firedAtMs: timeMs,
  summary: z.string().default(''),
  observed: z.number().optional(),
  expected: z.number().optional(),
});

/** Normalises one alert of any common shape; throws a ZodError when a required field is missing. */
export function normalizeAlert(raw: unknown, map: Record<string, string> = {}): Alert {
  const source = isObject(raw) ? raw : {};
  const service = firstOf(source, map.service, [
    'service',
    'svc',
    'source',
    'labels.service',
    'labels.job',
  ]);
  const signal = firstOf(source, map.signal, [
    'signal',
    'metric',
    'alertname',
    'name',
    'labels.alertname',
  ]);
  const firedAt = firstOf(source, map.firedAt, [
    'fired_at',
    'firedAt',
    'timestamp',
    'startsAt',
    'starts_at',
    'time',
    'ts',
  ]);
  const id =
    firstOf(source, map.id, ['id', 'alert_id', 'alertId', 'fingerprint']) ??
    `${String(service)}/${String(signal)}/${String(firedAt)}`;
  return alertSchema.parse({
    id,
    service,
    signal: signal === undefined ? undefined : String(signal),
    severity: firstOf(source, map.severity, ['severity', 'level', 'labels.severity']),
    firedAtMs: firedAt,
    summary: firstOf(source, map.summary, [
      'summary',
      'message',
      'description',
      'annotations.summary',
    ]),
    observed: firstOf(source, map.observed, ['observed', 'value']),
    expected: firstOf(source, map.expected, ['expected', 'threshold', 'baseline']),
  });
}

const clusterSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  alertIds: z.array(z.union([z.string(), z.number()]).transform(String)),
  services: z.array(z.string()),
});

/** Normalises one cluster; alert ids may be given as ids or as alert objects. */
export function normalizeCluster(
  raw: unknown,
  map: Record<string, string> = {},
  index = 0,
): Cluster {
  const source = isObject(raw) ? raw : {};
  const members = firstOf(source, map.alertIds, ['alert_ids', 'alertIds', 'alerts', 'members']);
  const alertObjects = Array.isArray(members) ? members.filter(isObject) : [];
  const alertIds = Array.isArray(members)
    ? members.map((member) =>
        isObject(member) ? firstOf(member, undefined, ['id', 'alert_id', 'alertId']) : member,
      )
    : members;
  const services = firstOf(source, map.services, ['services', 'svcs', 'affected_services']) ?? [
    ...new Set(
      alertObjects
        .map((alert) => firstOf(alert, undefined, ['service', 'svc', 'source']))
        .filter((value) => typeof value === 'string'),
    ),
  ];
  return clusterSchema.parse({
    id: firstOf(source, map.id, ['id', 'cluster_id', 'clusterId']) ?? `cluster-${index}`,
    alertIds,
    services,
  });
}

const rcaSchema = z.object({
  rootService: z.string().nullable(),
  confidence: z.number().min(0).max(1),
  evidence: z.array(z.unknown()),
  ranked: z.array(z.object({ service: z.string(), score: z.number() })).optional(),
});

/** Normalises an RCA answer; `root_service`, `rootService`, `root` and `service` are accepted. */
export function normalizeRca(raw: unknown, map: Record<string, string> = {}): RcaAnswer {
  const source = isObject(raw) && isObject(raw.result) ? raw.result : isObject(raw) ? raw : {};
  const root = firstOf(source, map.rootService, ['root_service', 'rootService', 'root', 'service']);
  const ranked = firstOf(source, map.ranked, ['ranked', 'candidates', 'ranking']);
  const evidence = firstOf(source, map.evidence, ['evidence', 'reasons']);
  let evidenceList: unknown[] = [];
  if (Array.isArray(evidence)) evidenceList = evidence;
  else if (evidence !== undefined) evidenceList = [evidence];
  return rcaSchema.parse({
    rootService: typeof root === 'string' && root !== '' ? root : null,
    confidence: Number(
      firstOf(source, map.confidence, ['confidence', 'score', 'probability']) ?? 0,
    ),
    evidence: evidenceList,
    ranked: Array.isArray(ranked)
      ? ranked.filter(isObject).map((entry) => ({
          service: String(firstOf(entry, undefined, ['service', 'svc', 'name'])),
          score: Number(firstOf(entry, undefined, ['score', 'confidence']) ?? 0),
        }))
      : undefined,
  });
}

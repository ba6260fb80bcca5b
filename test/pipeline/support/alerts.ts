import type { StoredAlert } from '../../../fixtures/pipeline/detector.ts';
import type { SignalName } from '../../../fixtures/pipeline/signals.ts';
import { EPOCH_MS } from './run.ts';

let sequence = 0;

/** Builds a stored alert by hand; times are seconds after EPOCH_MS. */
export function makeAlert(fields: {
  service: string;
  signal: SignalName;
  peer?: string;
  onsetS: number;
  firedS?: number;
  resolvedS?: number;
}): StoredAlert {
  sequence += 1;
  const firedS = fields.firedS ?? fields.onsetS + 3;
  return {
    id: `hand-${String(sequence).padStart(4, '0')}`,
    service: fields.service,
    signal: fields.peer === undefined ? fields.signal : `${fields.signal}{peer="${fields.peer}"}`,
    baseSignal: fields.signal,
    ...(fields.peer === undefined ? {} : { peer: fields.peer }),
    severity: 'warning',
    onsetAtMs: EPOCH_MS + fields.onsetS * 1000,
    firedAtMs: EPOCH_MS + firedS * 1000,
    ...(fields.resolvedS === undefined ? {} : { resolvedAtMs: EPOCH_MS + fields.resolvedS * 1000 }),
    summary: `${fields.service} ${fields.signal}`,
    observed: 1,
    expected: 0,
    peak: 1,
  };
}

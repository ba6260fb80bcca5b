import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignContext } from '../campaign.ts';
import { formatDuration } from '../duration.ts';
import { createLogger } from '../log.ts';
import { createPipelineClient, type PipelineClient } from '../pipeline/client.ts';
import type { Alert } from '../pipeline/types.ts';
import { RECORD_SCHEMA_VERSION, type BaselineWindowRecord } from '../record.ts';
import { defaultProgress } from './context.ts';
import { campaignFromGlobalSetup } from './describe.ts';

const log = createLogger('experiment');

export interface BaselineWindowOptions {
  /** Length of the window in ms; default the profile's false-alarm baseline window. */
  durationMs?: number;
  campaign?: CampaignContext;
  pipeline?: PipelineClient;
  /** Interval of `/alerts` polls; default 1000 ms. */
  pollIntervalMs?: number;
  /** Alerts the test tolerates before it fails; default 0. */
  maxFalseAlarms?: number;
  onProgress?: (text: string) => void;
}

async function watchWindow(
  pipeline: PipelineClient,
  durationMs: number,
  options: BaselineWindowOptions,
): Promise<BaselineWindowRecord> {
  const progress = options.onProgress ?? defaultProgress('baseline window');
  const offset = await pipeline.estimateClockOffset({ samples: 3 });
  const offsetMs = offset?.offsetMs ?? 0;
  const startedAtMs = Date.now();
  const endMs = startedAtMs + durationMs;
  const alerts = new Map<string, Alert>();
  const errors = [];
  while (Date.now() < endMs) {
    const result = await pipeline.alerts(startedAtMs + offsetMs);
    if (result.ok) {
      for (const alert of result.value) {
        if (alert.firedAtMs >= startedAtMs + offsetMs)
          alerts.set(alert.id, { ...alert, firedAtMs: alert.firedAtMs - offsetMs });
      }
    } else errors.push(result.error);
    progress(
      `watching: ${alerts.size} alert(s), ${Math.round((endMs - Date.now()) / 1_000)}s left`,
    );
    await new Promise((resolve) =>
      setTimeout(
        resolve,
        Math.max(0, Math.min(options.pollIntervalMs ?? 1_000, endMs - Date.now())),
      ),
    );
  }
  log(
    'baseline window of %s: %d alert(s), %d pipeline error(s)',
    formatDuration(durationMs),
    alerts.size,
    errors.length,
  );
  return {
    kind: 'baseline_window',
    schemaVersion: RECORD_SCHEMA_VERSION,
    startedAtMs,
    endedAtMs: Date.now(),
    alerts: [...alerts.values()],
    pipelineErrors: errors,
  };
}

/**
 * Declares the false-alarm baseline window as a `describe` block: it waits the window with no
 * fault, collects every alert fired inside it, stores a `BaselineWindowRecord` in the block's
 * meta under `chaos`, and asserts that at most `maxFalseAlarms` alerts fired.
 */
export function describeBaselineWindow(options: BaselineWindowOptions = {}): void {
  const campaign = options.campaign ?? campaignFromGlobalSetup();
  const durationMs = options.durationMs ?? campaign?.profile.baselineWindowMs ?? 300_000;
  describe('baseline window', () => {
    let record: BaselineWindowRecord | undefined;
    beforeAll(
      // Vitest requires a destructuring pattern as the first argument of a hook.
      // eslint-disable-next-line no-empty-pattern
      async ({}, suite) => {
        const pipeline =
          options.pipeline ??
          (campaign
            ? createPipelineClient({
                baseUrl: campaign.pipelineUrl,
                timeoutMs: campaign.pipeline?.timeoutMs,
              })
            : undefined);
        if (!pipeline)
          throw new Error(
            'No pipeline: run the chaos project with its globalSetup, or pass options.pipeline.',
          );
        record = await watchWindow(pipeline, durationMs, options);
        suite.meta.chaos = record;
      },
      durationMs + 60_000,
    );

    afterAll(
      // Vitest requires a destructuring pattern as the first argument of a hook.
      // eslint-disable-next-line no-empty-pattern
      ({}, suite) => {
        if (record) suite.meta.chaos = structuredClone(record);
      },
    );

    it('raises no false alarm', async ({ annotate }) => {
      if (!record) throw new Error('The baseline window did not run.');
      await annotate(
        `${record.alerts.length} alert(s) in ${formatDuration(record.endedAtMs - record.startedAtMs)}`,
        'chaos',
      );
      const services = record.alerts.map((alert) => `${alert.signal} on ${alert.service}`);
      expect(services.length, `false alarms: ${services.join(', ')}`).toBeLessThanOrEqual(
        options.maxFalseAlarms ?? 0,
      );
    });
  });
}

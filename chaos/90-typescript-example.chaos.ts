// An experiment written in TypeScript instead of YAML: the same schema, the same lifecycle.
// It pauses notification-svc (SIGSTOP, then SIGCONT on rollback) and expects the pipeline to
// notice that the gateway's calls to it hang. It is not part of the ten-experiment catalog, so
// it runs only when CHAOS_EXAMPLES=1 is set.
import { describe } from 'vitest';
import { describeExperiment } from '../src/harness/index.ts';

if (process.env.CHAOS_EXAMPLES === '1') {
  describeExperiment({
    id: 101,
    name: 'notification_pause',
    hypothesis: {
      text:
        'With notification-svc paused, the gateway calls to it hang until they time out; ' +
        'the pipeline alerts within 60s and RCA names notification-svc.',
      expect: { detected: true, mttd_max: '60s', rca: 'notification-svc' },
    },
    fault: { type: 'process_pause', target: 'notification-svc' },
    blast_radius: { target: '1 instance of notification-svc', traffic: '100%', duration: '60s' },
    rollback: { automatic: true, method: 'SIGCONT the paused process' },
    measurement: {
      metrics: ['probe_pass_rate', 'http_p99_ms'],
      capture_window: { before: '5m', after: '10m' },
    },
    abort_conditions: ['probe_pass_rate < 1% for 50s'],
    ground_truth: { root_service: 'notification-svc', also_correct: [], must_not_pick: [] },
  });
} else {
  describe.skip('TypeScript example (set CHAOS_EXAMPLES=1 to run it)', () => {});
}

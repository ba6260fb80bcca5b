import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, it } from 'vitest';
import { resultsFileSchema, type ResultsFile } from '../../src/reporters/index.ts';
import { detected, experiment } from './fixtures/records.ts';
import {
  childEnv,
  collectOutput,
  FIXTURE_CONFIG,
  prepareScenario,
  removeTempDirs,
  runFixture,
  scoreboardOf,
  startVitest,
} from './run-fixture.ts';
import { mixedScenario } from './scenarios.ts';

function readResults(resultsDir: string): ResultsFile | undefined {
  const path = join(resultsDir, 'chaos_results.json');
  if (!existsSync(path)) return undefined;
  return resultsFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

afterAll(removeTempDirs);

describe.concurrent('ScoreboardReporter under failure', () => {
  it('keeps finished experiments after SIGKILL', async ({ expect }) => {
    const slowSuites = ['1', '2', '3', '4'].map((id) => ({
      record: id === '2' ? experiment(id, 'auth-svc') : detected(id, 'payment-svc', 4000),
      delayMs: 1500,
    }));
    const { scenarioFile, resultsDir } = prepareScenario({ a: slowSuites });
    const env = childEnv({ CHAOS_FIXTURE: scenarioFile, CHAOS_RESULTS_DIR: resultsDir });
    const child = startVitest(['run', '--config', FIXTURE_CONFIG], env);
    const exited = collectOutput(child);

    let seen: ResultsFile | undefined;
    for (let attempt = 0; attempt < 300 && (seen?.experiments.length ?? 0) < 2; attempt += 1) {
      await sleep(50);
      seen = readResults(resultsDir);
    }
    process.kill(-child.pid!, 'SIGKILL');
    const { signal } = await exited;

    expect(signal).toBe('SIGKILL');
    const file = readResults(resultsDir);
    expect(file?.complete).toBe(false);
    expect(file?.experiments.map((e) => e.record.id)).toEqual(['1', '2']);
    expect(file?.summary.matrix).toEqual({
      truePositives: 1,
      falseNegatives: 1,
      falsePositives: 0,
      trueNegatives: 0,
    });
  });

  it('gives one scoreboard over merged shards', async ({ expect }) => {
    const scenario = mixedScenario();
    const single = await runFixture(scenario);
    const { dir, scenarioFile, resultsDir } = prepareScenario(scenario);
    const env = childEnv({ CHAOS_FIXTURE: scenarioFile, CHAOS_RESULTS_DIR: resultsDir });
    const blobDir = join(dir, 'blobs');
    for (const shard of ['1/2', '2/2']) {
      const blob = join(blobDir, `blob-${shard.replace('/', '-')}.json`);
      const args = [
        'run',
        '--config',
        FIXTURE_CONFIG,
        `--shard=${shard}`,
        '--reporter=blob',
        `--outputFile=${blob}`,
      ];
      const shardRun = await collectOutput(startVitest(args, env));
      expect(shardRun.stdout).not.toContain('Chaos Run');
    }
    const merged = await collectOutput(
      startVitest(['run', '--config', FIXTURE_CONFIG, '--merge-reports', blobDir], env),
    );

    expect(scoreboardOf({ ...merged, resultsDir })).toBe(scoreboardOf(single));
    expect(merged.exitCode).toBe(single.exitCode);
    expect(readResults(resultsDir)?.experiments).toHaveLength(7);
  });
});

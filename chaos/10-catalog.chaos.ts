// One experiment per entry of the YAML catalog (`CHAOS_CATALOG`, default
// fixtures/experiments.yaml). The whole file is validated before any fault is injected.
import { describeExperiment, loadCatalog, loadConfig } from '../src/harness/index.ts';

const catalog = loadCatalog(loadConfig().catalog);

for (const experiment of catalog.experiments) {
  describeExperiment(experiment);
}

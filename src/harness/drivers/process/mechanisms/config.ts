import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { findService } from '../../../stack-info.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { processError } from '../mechanism.ts';

/** What the corrupted file contains: JSON cut off mid-value, as a partial write leaves it. */
export const CORRUPTED_CONFIG = '{"workMs": 3, "maxAttempts": \n';

const schema = z.object({
  service: z.string(),
  configFile: z.string(),
  backupFile: z.string(),
});
type Data = z.infer<typeof schema>;

/**
 * Corrupts the config file the target reads (truncated JSON) after keeping a backup next to it;
 * rollback moves the backup back. A service that reloads its config sees the bad file at once,
 * and any service sees it on its next restart.
 */
export const configMechanism: ProcessMechanism<'config_corruption', Data> = {
  type: 'config_corruption',
  description: 'truncated config file, restored from a backup',
  schema,
  requirements: () => [],
  plan: (fault, context) => {
    const configFile = fault.path ?? findService(context.stack, fault.target).configFile;
    if (!configFile || !existsSync(configFile)) {
      throw processError(
        `No config file to corrupt for "${fault.target}" (${configFile ?? 'no configFile in the stack info'}).`,
        configFile ?? fault.target,
        'Give the fault a `path` to an existing file, or a configFile to the service in the stack info.',
      );
    }
    return {
      service: fault.target,
      configFile,
      backupFile: `${configFile}.vitest-chaos-${context.experimentKey}.bak`,
    };
  },
  apply: async (data) => {
    if (!existsSync(data.backupFile)) copyFileSync(data.configFile, data.backupFile);
    writeFileSync(data.configFile, CORRUPTED_CONFIG);
  },
  verify: async (data) => {
    const content = readFileSync(data.configFile, 'utf8');
    return {
      manifested: content === CORRUPTED_CONFIG && existsSync(data.backupFile),
      detail: `${data.configFile} ${content === CORRUPTED_CONFIG ? 'is corrupted' : 'is intact'}; backup at ${data.backupFile}`,
    };
  },
  rollback: async (data) => {
    if (existsSync(data.backupFile)) renameSync(data.backupFile, data.configFile);
  },
  inspect: async (data) => (existsSync(data.backupFile) ? 'active' : 'inactive'),
};

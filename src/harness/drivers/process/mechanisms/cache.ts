import { z } from 'zod';
import { findService } from '../../../stack-info.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { processError } from '../mechanism.ts';

/** Poisoned entries live this long unless rollback deletes them, in milliseconds. */
const POISON_TTL_MS = 30 * 60_000;
/** The value written into poisoned entries: the wrong shape for every reader. */
export const POISON_VALUE = { poisoned: true, stock: -1 };

const schema = z.object({
  service: z.string(),
  cacheUrl: z.string(),
  keys: z.array(z.string()),
});
type Data = z.infer<typeof schema>;

function keyUrl(data: Data, key: string): string {
  return `${data.cacheUrl}/cache/${encodeURIComponent(key)}`;
}

async function listKeys(cacheUrl: string): Promise<string[]> {
  const response = await fetch(`${cacheUrl}/keys`);
  const body = (await response.json()) as { keys?: unknown };
  if (!response.ok || !Array.isArray(body.keys)) {
    throw processError(
      `The cache at ${cacheUrl} did not list its keys (${response.status}).`,
      cacheUrl,
      'Check that the target is cache-svc of the embedded stack.',
    );
  }
  return body.keys.filter((key): key is string => typeof key === 'string').sort();
}

/**
 * Poisons a share of the cached entries of the target cache (cache-svc's HTTP API) with a value
 * of the wrong shape and a long TTL; rollback deletes exactly those keys.
 */
export const cacheMechanism: ProcessMechanism<'cache_poisoning', Data> = {
  type: 'cache_poisoning',
  description: 'wrong-shaped values written into the cache',
  schema,
  requirements: () => [],
  plan: async (fault, context) => {
    const cacheUrl = findService(context.stack, fault.target).url;
    const keys = await listKeys(cacheUrl);
    // Every key of the share is taken in sorted order, so the same cache gives the same plan.
    const count = Math.ceil(keys.length * fault.share);
    if (count === 0) {
      throw processError(
        `The cache ${fault.target} holds no entries to poison.`,
        cacheUrl,
        'Run the workload first so the cache fills.',
      );
    }
    return { service: fault.target, cacheUrl, keys: keys.slice(0, count) };
  },
  apply: async (data) => {
    for (const key of data.keys) {
      const response = await fetch(keyUrl(data, key), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value: POISON_VALUE, ttlMs: POISON_TTL_MS }),
      });
      await response.body?.cancel();
    }
  },
  verify: async (data) => {
    let poisoned = 0;
    for (const key of data.keys) {
      const response = await fetch(keyUrl(data, key));
      const body = (await response.json().catch(() => ({}))) as { value?: { poisoned?: boolean } };
      if (body.value?.poisoned === true) poisoned += 1;
    }
    return {
      manifested: poisoned === data.keys.length,
      detail: `${poisoned} of ${data.keys.length} keys of ${data.service} hold the poisoned value`,
    };
  },
  rollback: async (data) => {
    for (const key of data.keys) {
      const response = await fetch(keyUrl(data, key), { method: 'DELETE' }).catch(() => undefined);
      await response?.body?.cancel();
    }
  },
  inspect: async (data) => {
    const response = await fetch(keyUrl(data, data.keys[0] ?? '')).catch(() => undefined);
    if (!response) return 'unknown';
    const body = (await response.json().catch(() => ({}))) as { value?: { poisoned?: boolean } };
    return body.value?.poisoned === true ? 'active' : 'inactive';
  },
};

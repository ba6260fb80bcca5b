import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createDebug from 'debug';
import { ChaosError } from '../../harness/errors.ts';

const debug = createDebug('chaos:reporter');

/**
 * Writes a file atomically: the content goes to a temporary file in the same folder, which is
 * then renamed over the target, so readers never find a half-written file, even after a crash.
 */
export function writeFileAtomic(folder: string, fileName: string, content: string): string {
  const target = join(folder, fileName);
  const temporary = join(
    folder,
    `.${fileName}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  try {
    mkdirSync(folder, { recursive: true });
    writeFileSync(temporary, content);
    renameSync(temporary, target);
  } catch (error) {
    removeQuietly(temporary);
    const reason = error instanceof Error ? error.message : String(error);
    throw new ChaosError(`Writing ${target} failed: ${reason}.`, {
      value: folder,
      fix: 'Set CHAOS_RESULTS_DIR (or resultsDir in the config file) to a writable folder.',
      cause: error,
    });
  }
  debug('wrote %s (%d bytes)', target, content.length);
  return target;
}

/**
 * Rewrites one results file whenever `update` is called, at most once per `minIntervalMs`. An
 * update inside the interval is written when the interval ends, or by `flush`.
 *
 * NOTE: a crash inside that interval loses the updates not yet written. Experiments last seconds
 * at least, so with the default interval each one is written as it ends; only bursts coalesce.
 */
export class CoalescingWriter {
  #lastWriteMs = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #pending = false;

  constructor(
    private readonly writeNow: () => void,
    private readonly onError: (error: unknown) => void,
    private readonly minIntervalMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Marks the results as changed and writes them now unless a write happened just before. */
  update(): void {
    this.#pending = true;
    const waitMs = this.#lastWriteMs + this.minIntervalMs - this.now();
    if (waitMs <= 0) {
      this.flush();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, waitMs);
  }

  /** Drops pending changes and the scheduled write, for when the caller writes the final file. */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = false;
  }

  /** Writes pending changes now and cancels the scheduled write. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    this.#pending = false;
    this.#lastWriteMs = this.now();
    try {
      this.writeNow();
    } catch (error) {
      this.onError(error);
    }
  }
}

/** Removes a leftover temporary file; a failure here must not hide the original error. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (error) {
    debug('cannot remove %s: %O', path, error);
  }
}

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createDebug from 'debug';

const debug = createDebug('chaos:reporter');

/**
 * Writes a file atomically: the content goes to a temporary file in the same folder, which is
 * then renamed over the target, so readers never find a half-written file, even after a crash.
 */
export function writeFileAtomic(folder: string, fileName: string, content: string): string {
  mkdirSync(folder, { recursive: true });
  const target = join(folder, fileName);
  const temporary = join(
    folder,
    `.${fileName}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
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

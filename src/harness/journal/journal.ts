import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { JournalError } from '../errors.ts';
import type { FaultPlan } from '../faults/driver.ts';
import { createLogger } from '../log.ts';
import { stackInfoSchema, type StackInfo } from '../stack-info.ts';

const log = createLogger('journal');

/** Default journal folder, relative to the working folder. */
export const DEFAULT_JOURNAL_DIR = '.chaos/journal';

const planSchema = z.object({
  driver: z.string(),
  mechanism: z.string(),
  faultType: z.string(),
  target: z.string(),
  data: z.record(z.string(), z.unknown()),
});

export const journalEntrySchema = z.object({
  version: z.literal(1),
  id: z.string(),
  runId: z.string(),
  /** Pid of the process that injected the fault (a Vitest worker, usually). */
  pid: z.number().int(),
  /** Start time of that process in clock ticks since boot, to tell a reused pid apart. */
  pidStartTicks: z.number().optional(),
  createdAtMs: z.number(),
  experimentKey: z.string(),
  experimentId: z.string().optional(),
  plan: planSchema,
  /** A module that registers the plan's driver when imported, for recovery in a new process. */
  driverModule: z.string().optional(),
  stack: stackInfoSchema.optional(),
});

/** One active fault as written to the journal before it is applied. */
export type JournalEntry = Omit<z.infer<typeof journalEntrySchema>, 'plan' | 'stack'> & {
  plan: FaultPlan;
  stack?: StackInfo;
};

/** A journal file that could not be read or parsed. */
export interface UnreadableEntry {
  file: string;
  error: string;
}

/** Reads the fields of `/proc/<pid>/stat` after the command name, or undefined without /proc. */
function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces, so count fields after its closing bracket.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Returns the start time of a process in clock ticks since boot, from `/proc`, or undefined. */
export function processStartTicks(pid: number): number | undefined {
  const ticks = Number(procStatFields(pid)?.[19]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/** Tells whether the process that wrote an entry still runs (and is the same process). */
export function isOwnerAlive(entry: Pick<JournalEntry, 'pid' | 'pidStartTicks'>): boolean {
  try {
    process.kill(entry.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const fields = procStatFields(entry.pid);
  // A zombie has exited; it stays in the table when its new parent does not reap it.
  if (fields?.[0] === 'Z' || fields?.[0] === 'X') return false;
  if (entry.pidStartTicks === undefined || fields === undefined) return true;
  return Number(fields[19]) === entry.pidStartTicks;
}

/**
 * The fault journal: one JSON file per active fault in a folder (`.chaos/journal/` by default).
 * An entry is written, atomically, before the fault is applied and removed after its rollback,
 * so a crashed run leaves exactly the faults that may still be in place.
 */
export class Journal {
  readonly dir: string;
  readonly runId: string;

  constructor(dir: string = DEFAULT_JOURNAL_DIR, runId: string = randomUUID()) {
    this.dir = resolve(dir);
    this.runId = runId;
  }

  /** Writes an entry atomically (temporary file, fsync, rename) and returns it. */
  async write(
    fields: Omit<
      JournalEntry,
      'version' | 'id' | 'runId' | 'pid' | 'pidStartTicks' | 'createdAtMs'
    >,
  ): Promise<JournalEntry> {
    const entry: JournalEntry = {
      version: 1,
      id: `${Date.now()}-${randomUUID().slice(0, 8)}`,
      runId: this.runId,
      pid: process.pid,
      pidStartTicks: processStartTicks(process.pid),
      createdAtMs: Date.now(),
      ...fields,
    };
    const file = this.fileOf(entry.id);
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(temporary, 'w');
      try {
        await handle.writeFile(`${JSON.stringify(entry, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
    } catch (error) {
      throw new JournalError(file, `Writing the journal entry ${file} failed.`, {
        fix: 'Check that the journal folder is writable, or set journalDir in chaos.config.json.',
        cause: error,
      });
    }
    log(
      'wrote %s (%s on %s, driver %s)',
      entry.id,
      entry.plan.faultType,
      entry.plan.target,
      entry.plan.driver,
    );
    return entry;
  }

  /** Removes an entry; removing an entry that is gone already is not an error. */
  async remove(id: string): Promise<void> {
    await rm(this.fileOf(id), { force: true });
    log('removed %s', id);
  }

  /** Lists every entry, and the files that could not be read. */
  async list(): Promise<{ entries: JournalEntry[]; unreadable: UnreadableEntry[] }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { entries: [], unreadable: [] };
      throw new JournalError(this.dir, `Reading the journal folder ${this.dir} failed.`, {
        cause: error,
      });
    }
    const entries: JournalEntry[] = [];
    const unreadable: UnreadableEntry[] = [];
    for (const name of names.filter((candidate) => candidate.endsWith('.json')).sort()) {
      const file = join(this.dir, name);
      try {
        const parsed = journalEntrySchema.parse(JSON.parse(await readFile(file, 'utf8')));
        entries.push(parsed as JournalEntry);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        unreadable.push({ file, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return { entries, unreadable };
  }

  private fileOf(id: string): string {
    return join(this.dir, `${id}.json`);
  }
}

/** Creates a journal in `dir` (default `.chaos/journal`) for the run `runId` (default random). */
export function createJournal(options: { dir?: string; runId?: string } = {}): Journal {
  return new Journal(options.dir, options.runId);
}

import { DriverError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { StackInfo } from '../stack-info.ts';
import type { FaultDriver } from './driver.ts';
import type { Fault } from './spec.ts';

const log = createLogger('fault');

interface RegisteredDriver {
  driver: FaultDriver;
  /** A module that registers this driver when imported, written to the journal for recovery. */
  module: string | undefined;
}

// The registry lives on globalThis so that two copies of this module (for example one loaded
// by Vitest and one by tsx) share the registered drivers.
const REGISTRY_KEY = Symbol.for('vitest-chaos.driver-registry');
const globalStore = globalThis as typeof globalThis & {
  [REGISTRY_KEY]?: Map<string, RegisteredDriver>;
};

function registry(): Map<string, RegisteredDriver> {
  globalStore[REGISTRY_KEY] ??= new Map();
  return globalStore[REGISTRY_KEY];
}

/**
 * Registers a driver under its name, in registration order; `resolveDriver` tries drivers in
 * that order. `module` is a module (file URL or path) that registers the driver when imported,
 * so `vitest-chaos cleanup` and journal recovery can load it in a new process. Registering a
 * name again replaces the driver in its place. Returns a function that unregisters it.
 */
export function registerDriver(driver: FaultDriver, options: { module?: string } = {}): () => void {
  registry().set(driver.name, { driver, module: options.module });
  log('registered driver %s', driver.name);
  return () => {
    if (registry().get(driver.name)?.driver === driver) registry().delete(driver.name);
  };
}

/** Returns the driver registered under `name`, or undefined. */
export function getDriver(name: string): FaultDriver | undefined {
  return registry().get(name)?.driver;
}

/** Returns the module recorded for a driver at registration, or undefined. */
export function driverModuleOf(name: string): string | undefined {
  return registry().get(name)?.module;
}

/** Returns the names of the registered drivers, in the order `resolveDriver` tries them. */
export function listDrivers(): string[] {
  return [...registry().keys()];
}

/**
 * Picks the driver for a fault: `fault.driver` when the fault names one, else the first
 * registered driver whose `supports()` returns true. Throws a `DriverError` that lists the
 * registered drivers when none fits.
 */
export function resolveDriver(fault: Fault, stack: StackInfo): FaultDriver {
  const known = listDrivers();
  const knownText = known.length > 0 ? known.join(', ') : 'none';
  if (fault.driver !== undefined) {
    const driver = getDriver(fault.driver);
    if (!driver) {
      throw new DriverError(
        `Driver "${fault.driver}" named by the ${fault.type} fault on ${fault.target} is not registered.`,
        {
          value: fault.driver,
          code: 'DRIVER_NOT_FOUND',
          fix: `Registered drivers: ${knownText}. Register it with registerDriver() or remove the driver field.`,
        },
      );
    }
    return driver;
  }
  for (const { driver } of registry().values()) {
    if (driver.supports(fault, stack)) return driver;
  }
  throw new DriverError(
    `No registered driver supports the ${fault.type} fault on ${fault.target} for a ${stack.kind} stack.`,
    {
      value: fault.type,
      code: 'DRIVER_NOT_FOUND',
      fix: `Registered drivers: ${knownText}. Register a driver that supports it, or pick another target.`,
    },
  );
}

/**
 * Imports a module that registers drivers (for example the one recorded in a journal entry).
 * Returns the error message instead of throwing when the import fails.
 */
export async function loadDriverModule(specifier: string): Promise<string | undefined> {
  try {
    await import(specifier);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log('loading driver module %s failed: %s', specifier, message);
    return message;
  }
}

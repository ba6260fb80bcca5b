import { waitCooldown } from '../steady/cooldown.ts';
import { waitForSteadyState } from '../steady/gate.ts';
import { measureRecovery } from '../steady/recovery.ts';

/** The steady-state functions the experiment runner calls; tests may replace them. */
export interface SteadyFunctions {
  waitForSteadyState: typeof waitForSteadyState;
  measureRecovery: typeof measureRecovery;
  waitCooldown: typeof waitCooldown;
}

/** Returns the steady-state functions of the steady module. */
export async function loadSteadyFunctions(): Promise<SteadyFunctions> {
  return { waitForSteadyState, measureRecovery, waitCooldown };
}

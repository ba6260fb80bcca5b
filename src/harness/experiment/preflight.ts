import { parseEdge } from '../faults/spec.ts';
import type { StackInfo } from '../stack-info.ts';
import { conditionVariables } from '../steady/conditions.ts';
import type { Experiment } from './schema.ts';

const PER_SERVICE_VARIABLES = ['_p99', '_error_rate', '_up'];

/** Names a condition may use on this stack: `probe_pass_rate` and per-service variables. */
function knownVariables(stack: StackInfo): Set<string> {
  const names = new Set(['probe_pass_rate']);
  for (const service of stack.services) {
    const base = service.name.replace(/-/g, '_');
    for (const prefix of new Set([base, base.replace(/_svc$/, '')])) {
      for (const suffix of PER_SERVICE_VARIABLES) names.add(`${prefix}${suffix}`);
    }
  }
  return names;
}

function serviceVariablePrefixes(stack: StackInfo): Set<string> {
  return new Set(stack.services.map((service) => service.name.replace(/-/g, '_')));
}

/** Lists the fault's target services that the stack does not have. */
function unknownTargets(experiment: Experiment, stack: StackInfo): string[] {
  const { fault } = experiment;
  const edge = parseEdge(fault.target);
  const names = edge ? [edge.caller, edge.callee] : [fault.target];
  if (fault.type === 'network_partition' && fault.between) names.push(...fault.between);
  const known = new Set(stack.services.map((service) => service.name));
  return names.filter((name) => !known.has(name));
}

/**
 * Checks an experiment against the stack it is about to run on, before anything is injected:
 * the fault's target services exist, and every variable of `trigger_when` and
 * `abort_conditions` is one the stack provides. A misspelt service in a condition would
 * otherwise never trip, which silently disables the automatic rollback. Returns the problems.
 */
export function preflightProblems(experiment: Experiment, stack: StackInfo): string[] {
  const problems: string[] = [];
  const knownServices = stack.services.map((service) => service.name).join(', ');
  for (const name of unknownTargets(experiment, stack)) {
    problems.push(`fault target "${name}" is not a service of the stack (known: ${knownServices})`);
  }
  const known = knownVariables(stack);
  const gaugePrefixes = serviceVariablePrefixes(stack);
  const conditions = [...experiment.abortConditions];
  if (experiment.rollback.triggerWhen) conditions.push(experiment.rollback.triggerWhen);
  for (const { text, condition } of conditions) {
    for (const variable of conditionVariables(condition)) {
      const gaugeService = variable.includes(':') ? variable.split(':', 1)[0]! : undefined;
      if (known.has(variable) || (gaugeService && gaugePrefixes.has(gaugeService))) continue;
      problems.push(
        `condition "${text}" uses "${variable}", which no service of the stack provides ` +
          `(use probe_pass_rate or <service>_p99, <service>_error_rate, <service>_up for: ${knownServices})`,
      );
    }
  }
  return problems;
}

import type { EdgeInfo, StackInfo } from '../../stack-info.ts';
import { parseEdge } from '../../faults/spec.ts';
import { NetworkFaultError } from './errors.ts';

/**
 * Returns the edges a network fault acts on: for an edge target `caller->callee` that edge, for
 * a service target every edge into the service, and for `between: [a, b]` both directions
 * between a and b that exist. Throws a `NetworkFaultError` that lists the known edges when
 * nothing matches.
 */
export function resolveEdges(
  stack: StackInfo,
  target: string,
  between?: readonly [string, string],
): EdgeInfo[] {
  let edges: EdgeInfo[];
  if (between) {
    const [a, b] = between;
    edges = stack.edges.filter(
      (edge) =>
        (edge.caller === a && edge.callee === b) || (edge.caller === b && edge.callee === a),
    );
  } else {
    const edge = parseEdge(target);
    edges = edge
      ? stack.edges.filter((e) => e.caller === edge.caller && e.callee === edge.callee)
      : stack.edges.filter((e) => e.callee === target);
  }
  if (edges.length === 0) {
    const what = between ? `between ${between[0]} and ${between[1]}` : `for target "${target}"`;
    const known = stack.edges.map((e) => `${e.caller}->${e.callee}`).join(', ') || '(none)';
    throw new NetworkFaultError('target-invalid', `No edge of the stack ${what}.`, {
      value: between ?? target,
      fix: `Name a service that has callers or one of the edges: ${known}.`,
    });
  }
  return edges;
}

/** Returns the name Toxiproxy proxies and fault-layer routes use for an edge: `<caller>__<callee>`. */
export function edgeRouteName(edge: Pick<EdgeInfo, 'caller' | 'callee'>): string {
  return `${edge.caller}__${edge.callee}`;
}

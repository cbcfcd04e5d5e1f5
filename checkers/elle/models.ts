/**
 * Consistency models and the anomalies they forbid: Elle's lattice (jepsen-io/elle,
 * consistency_model.clj), as data. Two graphs carry it. `modelImplies` says which models a model
 * implies (a history that is serializable is also repeatable-read, …). `anomalyImplies` says which
 * anomalies an anomaly implies (G0 is also G1c; incompatible-order is a kind of G1a). Each model
 * directly forbids a few anomalies; it also forbids everything its weaker models forbid, and every
 * anomaly that implies a forbidden one. From a set of anomalies found we derive Elle's boundary:
 * `not`, the weakest models ruled out, and `alsoNot`, the stronger models that fall with them.
 *
 * Names are Elle's friendly names; Adya's PL-names and a few synonyms are accepted as aliases.
 */

const modelImplies: Readonly<Record<string, readonly string[]>> = {
  "causal-cerone": ["read-atomic"],
  "consistent-view": ["cursor-stability", "monotonic-view"],
  "cursor-stability": ["read-committed"],
  "forward-consistent-view": ["consistent-view"],
  "read-committed": ["read-uncommitted"],
  serializable: ["repeatable-read", "update-serializable", "snapshot-isolation", "view-serializable"],
  "update-serializable": ["forward-consistent-view"],
  "monotonic-atomic-view": ["read-committed"],
  "monotonic-view": ["read-committed"],
  "monotonic-snapshot-read": ["read-committed"],
  "parallel-snapshot-isolation": ["causal-cerone", "ROLA"],
  prefix: ["causal-cerone"],
  "read-atomic": ["monotonic-atomic-view"],
  "repeatable-read": ["cursor-stability", "monotonic-atomic-view"],
  ROLA: ["read-atomic"],
  "session-serializable": ["1SR"],
  "snapshot-isolation": [
    "forward-consistent-view",
    "monotonic-atomic-view",
    "monotonic-snapshot-read",
    "parallel-snapshot-isolation",
    "prefix",
  ],
  "strict-serializable": [
    "serializable",
    "linearizable",
    "snapshot-isolation",
    "strong-snapshot-isolation",
    "strong-session-serializable",
    "session-serializable",
  ],
  "strong-session-read-uncommitted": ["read-uncommitted"],
  "strong-session-read-committed": ["read-committed", "strong-session-read-uncommitted"],
  "strong-read-uncommitted": ["strong-session-read-uncommitted"],
  "strong-read-committed": ["strong-session-read-committed", "strong-read-uncommitted"],
  "strong-session-serializable": ["serializable", "strong-session-snapshot-isolation"],
  "strong-session-snapshot-isolation": ["snapshot-isolation", "strong-session-read-committed"],
  "strong-snapshot-isolation": ["strong-session-snapshot-isolation", "strong-read-committed"],
  linearizable: ["sequential"],
  sequential: ["causal"],
  causal: ["writes-follow-reads", "PRAM"],
  PRAM: ["monotonic-reads", "monotonic-writes", "read-your-writes"],
};

/** Other names of the same model (Adya's PL-names, Elle's synonyms) → the name used here. */
const modelAliases: Readonly<Record<string, string>> = {
  "PL-2+": "consistent-view",
  "PL-3": "serializable",
  "conflict-serializable": "serializable",
  "PL-CS": "cursor-stability",
  "PL-FCV": "forward-consistent-view",
  "PL-MSR": "monotonic-snapshot-read",
  "PL-2L": "monotonic-view",
  "PL-2": "read-committed",
  "PL-1": "read-uncommitted",
  "PL-2.99": "repeatable-read",
  "PL-SI": "snapshot-isolation",
  "PL-SS": "strict-serializable",
  "strong-serializable": "strict-serializable",
  "PL-3U": "update-serializable",
  "strong-session-PL-1": "strong-session-read-uncommitted",
  "strong-session-PL-2": "strong-session-read-committed",
  "strong-PL-1": "strong-read-uncommitted",
  "strong-PL-2": "strong-read-committed",
};

/** The anomalies each model forbids over and above the models it implies. */
const directlyForbids: Readonly<Record<string, readonly string[]>> = {
  "causal-cerone": ["internal", "G1a"],
  "cursor-stability": ["G1", "G-cursor", "lost-update"],
  "monotonic-view": ["G1", "G-monotonic"],
  "monotonic-snapshot-read": ["G1", "G-MSR"],
  "consistent-view": ["G1", "G-single"],
  "forward-consistent-view": ["G1", "G-SIb"],
  "parallel-snapshot-isolation": ["internal", "G1a"],
  serializable: ["G1", "G2", "internal"],
  "read-committed": ["G1"],
  // garbage-read is ours, not Elle's: a read of a value nobody wrote fits no Adya history at all.
  "read-uncommitted": ["G0", "duplicate-elements", "cyclic-versions", "garbage-read"],
  prefix: ["internal", "G1a"],
  "snapshot-isolation": ["internal", "G1", "G-SI", "G-nonadjacent"],
  "read-atomic": ["internal", "G1a", "future-read"],
  "repeatable-read": ["G1", "G2-item", "lost-update"],
  ROLA: ["lost-update"],
  "strict-serializable": ["G1", "G1c-realtime", "G2-realtime"],
  "strong-session-read-uncommitted": ["G0-process"],
  "strong-session-read-committed": ["G1c-process"],
  "strong-read-uncommitted": ["G0-realtime"],
  "strong-read-committed": ["G1c-realtime"],
  "strong-session-snapshot-isolation": ["internal", "G1-process", "G-nonadjacent-process"],
  "strong-snapshot-isolation": ["internal", "G1-realtime", "G-nonadjacent-realtime"],
  "strong-session-serializable": ["G1-process", "G2-process"],
  "update-serializable": ["G1", "G-update"],
};

/** Anomaly → the anomalies it implies (Elle's implied-anomalies, with our cycle names). */
const anomalyImplies: Readonly<Record<string, readonly string[]>> = {
  G0: ["G1c", "G0-process"],
  "G0-process": ["G1c-process", "G0-realtime"],
  "G0-realtime": ["G1c-realtime"],
  G1a: ["G1"],
  G1b: ["G1"],
  G1c: ["G1", "G1c-process"],
  "G1c-process": ["G1c-realtime", "G1-process"],
  "G1c-realtime": ["G1-realtime"],
  G1: ["G1-process"],
  "G1-process": ["G1-realtime"],
  "G-single-item": ["G-single", "G-single-item-process", "G-nonadjacent-item"],
  "G-single-item-process": ["G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"],
  "G-single-item-realtime": ["G-single-realtime", "G-nonadjacent-item-realtime"],
  "G-single": ["G-nonadjacent", "GSIb", "G-single-process"],
  "G-single-process": ["G-nonadjacent-process", "G-single-realtime"],
  "G-single-realtime": ["G-nonadjacent-realtime"],
  "G-nonadjacent-item": ["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
  "G-nonadjacent-item-process": ["G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"],
  "G-nonadjacent-item-realtime": ["G2-item-realtime", "G-nonadjacent-realtime"],
  "G-nonadjacent": ["G2", "G-nonadjacent-process"],
  "G-nonadjacent-process": ["G2-process", "G-nonadjacent-realtime"],
  "G-nonadjacent-realtime": ["G2-realtime"],
  G2: ["G2-process"],
  "G2-item": ["G2", "G2-item-process"],
  "G2-item-process": ["G2-process", "G2-item-realtime"],
  "G2-item-realtime": ["G2-realtime"],
  "G2-process": ["G2-realtime"],
  GSIa: ["GSI"],
  GSIb: ["GSI"],
  "incompatible-order": ["G1a"],
  "future-read": ["G1c"],
  "dirty-update": ["G1a"],
  "lost-update": ["write-skew", "G2-item"],
  "write-skew": ["G2"],
};

function invert(graph: Readonly<Record<string, readonly string[]>>): Map<string, string[]> {
  const inverse = new Map<string, string[]>();
  for (const [from, tos] of Object.entries(graph)) {
    for (const to of tos) {
      const list = inverse.get(to) ?? [];
      list.push(from);
      inverse.set(to, list);
    }
  }
  return inverse;
}

/** Everything reachable from `start` (included) along `next`; the graphs are small DAGs. */
function reach(start: Iterable<string>, next: (x: string) => readonly string[] | undefined): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    for (const y of next(x) ?? []) stack.push(y);
  }
  return seen;
}

const modelImpliedBy = invert(modelImplies);
const anomalyImpliedBy = invert(anomalyImplies);
const forbiddenBy = invert(directlyForbids);

const canonicalModels: readonly string[] = [
  ...new Set([...Object.keys(modelImplies), ...Object.values(modelImplies).flat()]),
].sort();

/** Every model name this checker accepts: the lattice's models and their aliases, sorted. */
export const modelNames: readonly string[] = [...canonicalModels, ...Object.keys(modelAliases)].sort();

/** The name used here for `model`, or undefined if it is not a model we know. */
export function canonicalModelName(model: string): string | undefined {
  const name = modelAliases[model] ?? model;
  return canonicalModels.includes(name) ? name : undefined;
}

/** Every anomaly that cannot occur in a history satisfying `model` (which must be canonical). */
export function anomaliesForbiddenBy(model: string): Set<string> {
  const models = reach([model], (m) => modelImplies[m]);
  const direct = [...models].flatMap((m) => directlyForbids[m] ?? []);
  return reach(direct, (a) => anomalyImpliedBy.get(a));
}

/** Every model that cannot hold in a history showing `anomalies`. */
export function modelsRuledOutBy(anomalies: Iterable<string>): Set<string> {
  const implied = reach(anomalies, (a) => anomalyImplies[a]);
  const direct = [...implied].flatMap((a) => forbiddenBy.get(a) ?? []);
  return reach(direct, (m) => modelImpliedBy.get(m));
}

/**
 * Elle's boundary: `not` holds the weakest models the anomalies rule out (no other ruled-out model
 * is weaker), `alsoNot` the stronger ones that fall with them. Both sorted.
 */
export function modelBoundary(anomalies: Iterable<string>): { not: string[]; alsoNot: string[] } {
  const impossible = modelsRuledOutBy(anomalies);
  const not: string[] = [];
  const alsoNot: string[] = [];
  for (const m of impossible) {
    const weaker = reach(modelImplies[m] ?? [], (x) => modelImplies[x]);
    if ([...weaker].some((w) => impossible.has(w))) alsoNot.push(m);
    else not.push(m);
  }
  return { not: not.sort(), alsoNot: alsoNot.sort() };
}

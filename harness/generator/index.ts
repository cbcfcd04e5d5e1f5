/**
 * Generators with Jepsen's semantics: the one import for workloads, nemeses and the runner. A
 * generator is a persistent value asked for ops in a context (time, free threads, thread → process)
 * and told of events; see `types.ts` for the contract, `sources.ts` for where ops come from,
 * `time.ts` for how ops are placed in time (and how a runner must treat an op timed in the future),
 * `threads.ts` for routing ops to threads, `control.ts` for ordering and reshaping, and
 * `simulate.ts` for a pure interpreter that tests drive generators with.
 *
 *     const writes = (c: GenContext) => ({ f: "w", value: c.random.int(5) });
 *     phases(
 *       clientsAndNemesis(
 *         timeLimit(30e9, stagger(1e8, mix([repeat({ f: "r" }), writes]))),
 *         cycle([sleep(5e9), { f: "start-partition" }, sleep(5e9), { f: "stop-partition" }]),
 *       ),
 *       nemesis({ f: "stop-partition" }),
 *       clients(eachThread(untilOk({ f: "read" }))),
 *     )
 */
export type { GenContext, GenStep, Generator, PlannedOp, Thread } from "./types.ts";
export { GeneratorError, restrictContext } from "./context.ts";
export {
  cycle,
  fromArray,
  fromFunction,
  isGenerator,
  limit,
  mix,
  nothing,
  once,
  op,
  repeat,
  sequence,
  toGenerator,
} from "./sources.ts";
export type { GenSource, OpSpec, OpSpecFn } from "./sources.ts";
export { delay, sleep, stagger, timeLimit } from "./time.ts";
export { clients, clientsAndNemesis, eachThread, nemesis, onThreads, reserve } from "./threads.ts";
export {
  any,
  defaultMaxRejectsPerAsk,
  fMap,
  filter,
  flipFlop,
  map,
  phases,
  synchronize,
  andThen,
  untilOk,
} from "./control.ts";

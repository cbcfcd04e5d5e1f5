/**
 * The control channel between the harness and a node's process (Node IPC, JSON messages): the
 * harness starts a node with `init`, answers its questions about routes, and sets its clock; the
 * node says when it listens and runs, what its program publishes, and the error it dies of.
 * The channel is also the node's lifeline: when it closes (the harness died), the node exits.
 */
import type { ClockSnapshot } from "../sim/clock.ts";

export interface InitMessage {
  readonly t: "init";
  readonly name: string;
  readonly incarnation: number;
  readonly seed: number;
  /** The harness's time origin, ms since the epoch (performance.timeOrigin + now): test time 0. */
  readonly originMs: number;
  /** The loopback port this node listens on (the same across restarts). */
  readonly port: number;
  /** The node's own folder: nodes/<node>/data/ in the run's store. */
  readonly dataDir: string;
  readonly program: { readonly moduleUrl: string; readonly exportName: string; readonly args: unknown };
  readonly clock: ClockSnapshot;
  /** Proxy ports already known: [to, port]. */
  readonly routes: readonly (readonly [string, number])[];
}

export interface RouteMessage {
  readonly t: "route";
  readonly to: string;
  /** The port of the proxy this node → `to`, or null when `to` listens nowhere. */
  readonly port: number | null;
}

export interface ClockMessage {
  readonly t: "clock";
  readonly clock: ClockSnapshot;
}

export type HarnessMessage = InitMessage | RouteMessage | ClockMessage;

export type NodeMessage =
  /** The node listens and its program has started. */
  | { readonly t: "started" }
  /** Which port reaches `to`? */
  | { readonly t: "route?"; readonly to: string }
  /** What the program published. */
  | { readonly t: "status"; readonly status: unknown }
  /** The program failed: the process exits right after (a node error of the system under test). */
  | { readonly t: "error"; readonly message: string }
  /** The node could not start (a port it cannot bind, a program it cannot load). */
  | { readonly t: "fatal"; readonly message: string };

/**
 * One engine node as a program: the control plane, a storage replica or a data node (writer,
 * standby or read replica), chosen by the node's name in the cluster's topology. The same
 * factory builds the program in the simulation (called in the harness's process) and in process
 * mode (called in the node's own OS process, from this module's URL and plain-JSON arguments).
 *
 * What the harness reads of a node, its board (role, readiness, epoch) and the control plane's
 * decisions, is published through the `StatusSink`: a function call in simulation, a message over
 * the node's control channel in process mode. The protocol never reads it back.
 */
import {
  siblingModuleUrl,
  type NodeProgram,
  type PortableProgram,
  type StatusSink,
} from "../../../harness/runtime/types.ts";
import { resolveConfig, type EngineClusterConfig } from "./config.ts";
import { ControlPlane, type ControlState } from "./controlPlane.ts";
import { DataNode } from "./dataNode.ts";
import type { NodeBoard } from "./protocol.ts";
import { StorageNode } from "./storageNode.ts";

export interface EngineNodeArgs {
  readonly config: EngineClusterConfig;
  readonly node: string;
}

/** A node's board as published (a copy), or the control plane's state. */
export type EngineNodeStatus = { readonly board: NodeBoard } | { readonly control: ControlState };

/** A board whose every change is published whole. */
function publishedBoard(publish: (board: NodeBoard) => void): NodeBoard {
  const board: NodeBoard = { role: "standby", ready: false, epoch: 0 };
  return new Proxy(board, {
    set(target, property, value) {
      (target as unknown as Record<string | symbol, unknown>)[property] = value;
      publish({ ...target });
      return true;
    },
  });
}

export function engineNodeProgram(args: unknown, publish: StatusSink): NodeProgram {
  const { config: clusterConfig, node } = args as EngineNodeArgs;
  const config = resolveConfig(clusterConfig);
  const spec = config.topology.nodes.find((n) => n.name === node);
  if (spec === undefined) throw new Error(`engine: no node named "${node}" in the topology`);
  return (rt) => {
    const board = publishedBoard((copy) => publish({ board: copy } satisfies EngineNodeStatus));
    if (spec.kind === "control") {
      const cp = new ControlPlane(rt, config, board, (state) =>
        publish({ control: { ...state } } satisfies EngineNodeStatus),
      );
      rt.spawn("start", () => cp.start());
    } else if (spec.kind === "storage") {
      const storage = new StorageNode(rt, config, board);
      rt.spawn("start", () => storage.start());
    } else {
      const data = new DataNode(rt, config, board);
      rt.spawn("start", () => data.start());
    }
  };
}

/** How another process builds `node`'s program (process mode). */
export function portableEngineNode(
  config: EngineClusterConfig,
  node: string,
  onStatus: (status: EngineNodeStatus) => void,
): PortableProgram {
  return {
    moduleUrl: siblingModuleUrl(import.meta.url, "nodeProgram"),
    exportName: "engineNodeProgram",
    args: { config, node } satisfies EngineNodeArgs,
    onStatus: (status) => onStatus(status as EngineNodeStatus),
  };
}

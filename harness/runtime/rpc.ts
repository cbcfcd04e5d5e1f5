/**
 * Request/response over a runtime's unreliable network: every request carries an id, the reply
 * echoes it, and a timeout on the runtime's own clock turns silence into `RpcTimeoutError` (the
 * caller cannot know whether the request took effect: an "info" outcome). Handlers are registered
 * by message type; a handler's thrown error travels back as `RpcRemoteError`. One-way messages
 * (`notify`) use the same handlers and get no reply. An `Rpc` takes over the endpoint's single
 * `onMessage` handler; messages that are not rpc envelopes go to `onOther`, if set.
 *
 * Works the same on the simulated and the real runtime: it touches only `Runtime`.
 */
import type { Runtime } from "./types.ts";

/** No reply arrived in time. The request may or may not have been handled. */
export class RpcTimeoutError extends Error {
  override readonly name = "RpcTimeoutError";
}

/** The remote handler threw, or no handler exists for the type. The request was not completed. */
export class RpcRemoteError extends Error {
  override readonly name = "RpcRemoteError";
}

export type RpcHandler = (body: unknown, from: string) => unknown;

/** The wire format, a plain JSON value. */
export type RpcEnvelope =
  | { readonly rpc: "request"; readonly id: number; readonly type: string; readonly body: unknown }
  | { readonly rpc: "notify"; readonly type: string; readonly body: unknown }
  | { readonly rpc: "reply"; readonly id: number; readonly body: unknown }
  | { readonly rpc: "error"; readonly id: number; readonly message: string };

export interface RpcOptions {
  /** Timeout of `request` when the call gives none, ns; default 1 s. */
  readonly defaultTimeoutNs?: number;
}

interface Pending {
  readonly to: string;
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly cancelTimer: () => void;
}

function isEnvelope(message: unknown): message is RpcEnvelope {
  if (typeof message !== "object" || message === null) return false;
  const rpc = (message as { rpc?: unknown }).rpc;
  return rpc === "request" || rpc === "notify" || rpc === "reply" || rpc === "error";
}

export class Rpc {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, RpcHandler>();
  private other: ((from: string, message: unknown) => void) | undefined;
  private readonly defaultTimeoutNs: number;

  constructor(
    private readonly rt: Runtime,
    options: RpcOptions = {},
  ) {
    this.defaultTimeoutNs = options.defaultTimeoutNs ?? 1e9;
    rt.net.onMessage((from, message) => this.receive(from, message));
  }

  /** Registers the handler for requests and notifications of `type` (replacing any earlier one). */
  handle(type: string, handler: RpcHandler): void {
    this.handlers.set(type, handler);
  }

  /** Receives every message that is not an rpc envelope. */
  onOther(handler: (from: string, message: unknown) => void): void {
    this.other = handler;
  }

  /** Requests still waiting for a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with the reply's body. Rejects with `RpcTimeoutError` after
   * `timeoutNs` of this endpoint's clock, or `RpcRemoteError` if the handler failed.
   */
  request(to: string, type: string, body: unknown, timeoutNs = this.defaultTimeoutNs): Promise<unknown> {
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const cancelTimer = this.rt.clock.setTimer(timeoutNs, () => {
        if (!this.pending.delete(id)) return;
        reject(
          new RpcTimeoutError(`${this.rt.name}: request "${type}" to ${to} timed out after ${timeoutNs} ns`),
        );
      });
      this.pending.set(id, { to, resolve, reject, cancelTimer });
      const envelope: RpcEnvelope = { rpc: "request", id, type, body };
      this.rt.net.send(to, envelope);
    });
  }

  /** Sends a one-way message to the handler of `type` at `to`; no reply, no delivery guarantee. */
  notify(to: string, type: string, body: unknown): void {
    const envelope: RpcEnvelope = { rpc: "notify", type, body };
    this.rt.net.send(to, envelope);
  }

  private receive(from: string, message: unknown): void {
    if (!isEnvelope(message)) {
      this.other?.(from, message);
      return;
    }
    switch (message.rpc) {
      case "request":
        this.serve(from, message.id, message.type, message.body);
        return;
      case "notify": {
        // A notify handler's error is a bug in the receiver: a thrown error propagates to the
        // runtime (which stops the simulation), a rejected promise is left unhandled, never hidden.
        this.handlers.get(message.type)?.(message.body, from);
        return;
      }
      case "reply":
      case "error": {
        const waiting = this.pending.get(message.id);
        // A late, duplicated or misaddressed reply is ignored.
        if (waiting === undefined || waiting.to !== from) return;
        this.pending.delete(message.id);
        waiting.cancelTimer();
        if (message.rpc === "reply") waiting.resolve(message.body);
        else waiting.reject(new RpcRemoteError(`${from}: ${message.message}`));
        return;
      }
    }
  }

  private async invoke(handler: RpcHandler, body: unknown, from: string): Promise<unknown> {
    return await handler(body, from);
  }

  private serve(from: string, id: number, type: string, body: unknown): void {
    const handler = this.handlers.get(type);
    if (handler === undefined) {
      const envelope: RpcEnvelope = { rpc: "error", id, message: `no handler for "${type}"` };
      this.rt.net.send(from, envelope);
      return;
    }
    this.invoke(handler, body, from).then(
      (result) => {
        const envelope: RpcEnvelope = { rpc: "reply", id, body: result === undefined ? null : result };
        this.rt.net.send(from, envelope);
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        const envelope: RpcEnvelope = { rpc: "error", id, message };
        this.rt.net.send(from, envelope);
      },
    );
  }
}

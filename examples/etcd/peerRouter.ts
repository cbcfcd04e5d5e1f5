/**
 * How one etcd member's traffic to its peers reaches the fault proxy of the right link.
 *
 * A partition must know who sends: "n2 drops n1" blocks n1 → n2 and nothing else. faultline's
 * proxy gives every link its own port, but etcd cannot use a different address for a peer per
 * sender: every member must list the same peer URLs, since member and cluster ids are hashed
 * from them. So each member advertises a label, `http://0.0.0.0:LABEL`, the same everywhere, and
 * sends its peer traffic through an HTTP proxy of its own (Go's `HTTP_PROXY`, which etcd's peer
 * transport honours; `0.0.0.0` is not a loopback address, so Go does proxy it). This router is
 * that HTTP proxy for one member: it reads the label of each request, and forwards the request to
 * the member behind the label through the link `from → to` of the `ProxyNetwork`, where the
 * nemesis's partitions, delays and resets act. It adds no fault of its own.
 *
 * Streams stay streams: etcd's raft streams are long-lived GETs whose bodies carry messages, so
 * requests and responses are piped, never buffered. A broken upstream breaks the downstream
 * connection too (etcd then reconnects, as it would over a real network), and the other way round.
 */
import {
  createServer,
  request,
  Agent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import { loopbackHost, type ProxyNetwork } from "faultline";

export class PeerRouter {
  private readonly sockets = new Set<Socket>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  /** The port the member's HTTP_PROXY names. */
  port = 0;

  private constructor(private readonly server: Server) {
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /**
   * A router for the member `from`; `labels` maps each peer's label port to its name, and
   * `network` gives the port of the link from → to.
   */
  static async open(
    from: string,
    labels: ReadonlyMap<number, string>,
    network: ProxyNetwork,
  ): Promise<PeerRouter> {
    const server = createServer();
    const router = new PeerRouter(server);
    server.on("request", (req: IncomingMessage, res: ServerResponse) =>
      router.forward(from, labels, network, req, res),
    );
    // Raft streams live as long as the cluster: no server-side timeouts.
    server.requestTimeout = 0;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, loopbackHost, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("peer router: no port");
    router.port = address.port;
    return router;
  }

  private forward(
    from: string,
    labels: ReadonlyMap<number, string>,
    network: ProxyNetwork,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end("absolute URL expected");
      return;
    }
    const to = labels.get(Number(target.port));
    if (to === undefined) {
      res.writeHead(502).end(`no member behind ${target.host}`);
      return;
    }
    void network.link(from, to).then(
      (port) => {
        if (port === undefined) {
          res.writeHead(502).end(`no link ${from} -> ${to}`);
          return;
        }
        const upstream = request(
          {
            host: loopbackHost,
            port,
            method: req.method,
            path: target.pathname + target.search,
            headers: req.headers,
            agent: this.agent,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            answer.on("error", () => res.destroy());
          },
        );
        upstream.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
        // The member hung up before the answer was through: the upstream request goes too.
        res.on("close", () => {
          if (!res.writableFinished) upstream.destroy();
        });
        req.pipe(upstream);
      },
      () => res.writeHead(502).end(),
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

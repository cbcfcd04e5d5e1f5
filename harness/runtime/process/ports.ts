/**
 * Free loopback ports, picked at run time. The operating system chooses: bind port 0, read the
 * port it gave, close. Another process could take the port between the close and its next bind
 * (a short race every harness that hands ports to external programs lives with); a program that
 * then fails to bind is reported as a node that failed to start, naming its log.
 */
import { createServer } from "node:net";

export const loopbackHost = "127.0.0.1";

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, loopbackHost, () => {
      const address = server.address();
      const port = address !== null && typeof address === "object" ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error("no port assigned")) : resolve(port)));
    });
  });
}

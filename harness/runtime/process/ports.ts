/**
 * Free loopback ports, picked at run time, for servers the harness starts (PostgreSQL, etcd, the
 * engine's nodes). A port is handed out free (bound and closed here a moment ago) and the server
 * binds it later; another program that takes it meanwhile makes the server fail to start.
 *
 * So ports are picked outside the kernel's ephemeral range (Linux: `ip_local_port_range`, 32768 to
 * 60999 by default), at random. Inside it, every outgoing connection and every `listen(0)` of any
 * process on the machine takes a port without asking, and a test suite makes thousands of them: a
 * CI run once lost an etcd cluster's setup that way. Outside it, only a program that names a port
 * takes it, and a port this process handed out recently is not handed out again. Where no range
 * is left outside the ephemeral one, the operating system chooses (bind port 0).
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

export const loopbackHost = "127.0.0.1";

/** The lowest port picked: above the well-known and most registered services' ports. */
const lowestPickedPort = 10_000;
/** The fewest ports a range outside the ephemeral one must have to be picked from. */
const smallestRange = 1_000;
/** How many random ports are tried before the operating system is left to choose. */
const maxPickTries = 64;
/** How many ports handed out last are not handed out again (a server may not have bound yet). */
const recentPortsKept = 4_096;

/** Ports handed out, oldest first (at most `recentPortsKept`). */
const handedOut: number[] = [];
const handedOutSet = new Set<number>();

/**
 * The range of ports to pick from, [low, high]: below the kernel's ephemeral range when at least
 * `smallestRange` ports are there, else above it; undefined when neither (or not Linux).
 */
export function pickedPortRange(
  ephemeralRangeText: string | undefined,
): readonly [number, number] | undefined {
  if (ephemeralRangeText === undefined) return undefined;
  const [low, high] = ephemeralRangeText.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high)) return undefined;
  if (low! - lowestPickedPort >= smallestRange) return [lowestPickedPort, low! - 1];
  if (65_535 - high! >= smallestRange) return [high! + 1, 65_535];
  return undefined;
}

/** The kernel's ephemeral port range, as /proc gives it ("32768\t60999"); undefined if not Linux. */
export function readEphemeralRange(): string | undefined {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
  } catch {
    return undefined;
  }
}

let range: readonly [number, number] | undefined | null = null;

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago, and not handed out lately. */
export async function freeLoopbackPort(): Promise<number> {
  if (range === null) range = pickedPortRange(readEphemeralRange());
  if (range !== undefined) {
    for (let tries = 0; tries < maxPickTries; tries++) {
      const port = randomInt(range[0], range[1] + 1);
      if (handedOutSet.has(port)) continue;
      if ((await bindAndClose(port)) !== undefined) return handOut(port);
    }
  }
  // The operating system's choice; one handed out lately is asked for again (bounded).
  for (let tries = 0; tries < maxPickTries; tries++) {
    const port = await bindAndClose(0);
    if (port !== undefined && !handedOutSet.has(port)) return handOut(port);
  }
  throw new Error(`no free loopback port found in ${2 * maxPickTries} tries`);
}

function handOut(port: number): number {
  handedOut.push(port);
  handedOutSet.add(port);
  if (handedOut.length > recentPortsKept) handedOutSet.delete(handedOut.shift()!);
  return port;
}

/** The port bound (`port`, or the one given for 0) and closed; undefined if it was taken. */
function bindAndClose(port: number): Promise<number | undefined> {
  return new Promise<number | undefined>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" || error.code === "EACCES" ? resolve(undefined) : reject(error),
    );
    server.listen({ port, host: loopbackHost, exclusive: true }, () => {
      const address = server.address();
      const bound = address !== null && typeof address === "object" ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

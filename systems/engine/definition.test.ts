/**
 * What an engine run refuses before it starts: a bug knob that cannot act with the options given
 * (the run would test nothing it names, and say valid as if the knob had been tried and caught
 * nothing), and replica reads under serializable.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { engineDefinition } from "./definition.ts";

type Config = Parameters<NonNullable<typeof engineDefinition.refuse>>[0];

const config = (over: Partial<Record<string, unknown>>): Config =>
  ({
    replication: "quorum",
    isolation: "serializable",
    readFrom: "writer",
    leases: false,
    bugs: [],
    systemOptions: {},
    ...over,
  }) as unknown as Config;
const refuse = (over: Partial<Record<string, unknown>>) => engineDefinition.refuse!(config(over));

describe("an engine bug knob that cannot act is refused, saying what it needs", () => {
  it("each knob where it is inert, and accepted where it acts (the matrix's own rows)", () => {
    expect(refuse({ bugs: ["lease-ignores-skew"] })).toMatch(/^--bug lease-ignores-skew needs --leases/);
    expect(refuse({ bugs: ["lease-ignores-skew"], leases: true })).toBeUndefined();
    for (const replication of ["sync", "async"]) {
      expect(refuse({ bugs: ["dp-skips-gap"], replication })).toMatch(/needs --replication quorum/);
      expect(refuse({ bugs: ["replica-read-past-durable-point"], replication })).toMatch(
        /needs --replication quorum/,
      );
    }
    expect(refuse({ bugs: ["dp-skips-gap"] })).toBeUndefined();
    expect(
      refuse({ bugs: ["replica-read-past-durable-point"], isolation: "snapshot", readFrom: "replicas" }),
    ).toBeUndefined();
    for (const bug of ["torn-page", "no-checksum"]) {
      expect(refuse({ bugs: [bug] })).toMatch(new RegExp(`^--bug ${bug} needs --replication async or sync`));
      for (const replication of ["sync", "async"])
        expect(refuse({ bugs: [bug], replication })).toBeUndefined();
    }
    for (const bug of ["promote-any-standby", "no-fencing"]) {
      expect(refuse({ bugs: [bug], replication: "async", nodes: 1 })).toMatch(
        new RegExp(`^--bug ${bug} needs a standby`),
      );
      expect(refuse({ bugs: [bug], replication: "sync" })).toBeUndefined();
      expect(refuse({ bugs: [bug], replication: "async" })).toBeUndefined(); // 3 nodes by default
    }
  });

  it("property: the knobs of the single-node layer act everywhere, so they are never refused", () => {
    const anywhere = ["ack-before-fsync", "dirty-read", "no-first-committer-wins", "skip-undo"];
    fc.assert(
      fc.property(
        fc.subarray(anywhere),
        fc.constantFrom("sync", "async", "quorum"),
        fc.boolean(),
        fc.constantFrom(1, 2, 3, 8),
        (bugs, replication, leases, nodes) => {
          expect(refuse({ bugs, replication, leases, nodes })).toBeUndefined();
        },
      ),
      { numRuns: 50 },
    );
  });
});

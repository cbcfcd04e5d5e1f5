import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyError } from "./errors.ts";

const serverError = (code: string, severity = "ERROR", message = "boom") =>
  Object.assign(new Error(message), { code, severity });

describe("classifyError", () => {
  it("fails serialization failures and deadlocks, before or at commit", () => {
    for (const commitSent of [false, true]) {
      expect(
        classifyError(serverError("40001", "ERROR", "could not serialize access"), commitSent),
      ).toMatchObject({
        type: "fail",
        error: expect.stringMatching(/^serialization-failure/),
        connectionLost: false,
      });
      expect(classifyError(serverError("40P01", "ERROR", "deadlock detected"), commitSent)).toMatchObject({
        type: "fail",
        error: expect.stringMatching(/^deadlock/),
      });
    }
  });

  it("fails a write refused by a read-only standby", () => {
    expect(classifyError(serverError("25006"), false)).toMatchObject({
      type: "fail",
      error: expect.stringMatching(/^read-only/),
    });
  });

  it("fails a lost connection before COMMIT was sent, and is unsure once it was", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
    expect(classifyError(reset, false)).toMatchObject({ type: "fail", connectionLost: true });
    expect(classifyError(reset, true)).toMatchObject({ type: "info", connectionLost: true });
    const terminated = new Error("Connection terminated unexpectedly");
    expect(classifyError(terminated, true)).toMatchObject({
      type: "info",
      error: expect.stringMatching(/^connection-lost/),
    });
  });

  it("is unsure of a FATAL while COMMIT waits (a sync-replication wait ended by shutdown commits locally)", () => {
    const fatal = serverError("57P01", "FATAL", "terminating connection due to administrator command");
    expect(classifyError(fatal, true)).toMatchObject({ type: "info", connectionLost: true });
    expect(classifyError(fatal, false)).toMatchObject({ type: "fail", connectionLost: true });
  });

  it("property: once COMMIT was sent, only an ERROR answered by the server is a fail", () => {
    fc.assert(
      fc.property(
        fc.option(fc.stringMatching(/^[0-9A-Z]{5}$/), { nil: undefined }),
        fc.option(fc.constantFrom("ERROR", "FATAL", "PANIC", "WARNING"), { nil: undefined }),
        fc.boolean(),
        (code, severity, commitSent) => {
          const error = Object.assign(new Error("x"), {
            ...(code !== undefined ? { code } : {}),
            ...(severity !== undefined ? { severity } : {}),
          });
          const outcome = classifyError(error, commitSent);
          const answeredError =
            code !== undefined && severity !== undefined && severity !== "FATAL" && severity !== "PANIC";
          const definite = ["40001", "40P01", "25006"].includes(code ?? "") && severity !== undefined;
          if (!commitSent) expect(outcome.type).toBe("fail");
          else expect(outcome.type).toBe(answeredError || definite ? "fail" : "info");
          // A lost connection is always replaced.
          if (severity === undefined || code === undefined) expect(outcome.connectionLost).toBe(true);
        },
      ),
    );
  });
});

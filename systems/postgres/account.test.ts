/**
 * Switching to the server user, run as root: a switch that cannot run at all is said as what it
 * is, not as a folder the postgres user cannot enter.
 */
import { describe, expect, it } from "vitest";
import { SystemUnavailableError } from "../../harness/system.ts";
import { checkServerUserSwitch, lookupUser, serverAccount, serverUserCanEnter } from "./account.ts";

const rootWithPostgresUser = process.getuid?.() === 0 && lookupUser("postgres") !== undefined;

describe.runIf(rootWithPostgresUser)("switching to the postgres user (as root)", () => {
  it("works here, and tells a folder it cannot enter from one it can", () => {
    const account = serverAccount();
    expect(() => checkServerUserSwitch(account)).not.toThrow();
    expect(serverUserCanEnter(account, "/")).toBe(true);
    expect(serverUserCanEnter(account, "/root/.faultline-no-such")).toBe(false);
  });

  it("without runuser on the PATH: says so (it blamed / for being closed, mode 755)", () => {
    const account = serverAccount();
    const check = () => checkServerUserSwitch(account, { PATH: "/faultline-no-such-folder" });
    expect(check).toThrow(SystemUnavailableError);
    expect(check).toThrow(
      /switching to it failed: runuser \(util-linux\) is not on the PATH \(\/faultline-no-such-folder\)/,
    );
  });
});

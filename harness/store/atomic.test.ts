import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchFolders } from "../testkit.ts";
import { ArtifactLog, fileSystemReason, unwrittenSummary, writeFileAtomic } from "./atomic.ts";

const fresh = scratchFolders("atomic");

describe("writeFileAtomic", () => {
  it("replaces a file whole and leaves no temporary behind", () => {
    const dir = fresh();
    const path = join(dir, "results.json");
    writeFileSync(path, "old");
    writeFileAtomic(path, "new and longer");
    expect(readFileSync(path, "utf8")).toBe("new and longer");
    expect(readdirSync(dir)).toEqual(["results.json"]);
  });

  it("on failure leaves what was there and removes its temporary", () => {
    const dir = fresh();
    // The rename cannot replace a folder that holds a file: the write fails after the data.
    const path = join(dir, "results.json");
    mkdirSync(path);
    writeFileSync(join(path, "inside"), "old");
    expect(() => writeFileAtomic(path, "new")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readFileSync(join(path, "inside"), "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["results.json"]);
  });
});

describe("ArtifactLog", () => {
  it("records what the file system refuses and says it in one line", () => {
    const dir = fresh();
    const log = new ArtifactLog(join(dir, "missing-folder"));
    expect(log.write("report.html", "x")).toBe(false);
    expect(log.write("junit.xml", "x")).toBe(false);
    log.record({ file: "history.jsonl", reason: "no space left on device (ENOSPC)", cutShort: true });
    expect(log.unwritten().map((u) => u.file)).toEqual(["report.html", "junit.xml", "history.jsonl"]);
    expect(unwrittenSummary("store/x", log.unwritten())).toBe(
      "could not write report.html, junit.xml (no such file or folder (ENOENT)); " +
        "history.jsonl (cut short at a whole line: no space left on device (ENOSPC)) in store/x",
    );
    expect(unwrittenSummary("store/x", [])).toBeUndefined();
  });

  it("writes into a folder it may write, refuses one it may not (unless root)", () => {
    const dir = fresh();
    const log = new ArtifactLog(dir);
    expect(log.write("report.txt", "text")).toBe(true);
    expect(readFileSync(join(dir, "report.txt"), "utf8")).toBe("text");
    chmodSync(dir, 0o500);
    try {
      const root = process.getuid?.() === 0;
      expect(log.write("junit.xml", "x")).toBe(root);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it("fsyncs the folder after each file, or once after files written together", () => {
    const dir = fresh();
    const synced: string[] = [];
    const log = new ArtifactLog(dir, (folder) => synced.push(folder));
    log.write("test.json", "{}");
    expect(synced).toEqual([dir]);
    synced.length = 0;
    mkdirSync(join(dir, "elle"));
    log.together(() => {
      log.write("results.json", "{}");
      log.together(() => log.write("elle/G1c.txt", "cycle"));
      log.write("report.html", "<html>");
      expect(synced).toEqual([]);
    });
    expect(synced.sort()).toEqual([dir, join(dir, "elle")].sort());
    expect(readFileSync(join(dir, "report.html"), "utf8")).toBe("<html>");
    expect(readdirSync(dir).sort()).toEqual(["elle", "report.html", "results.json", "test.json"]);
    // A renderer's error still syncs what was written before it, and propagates.
    synced.length = 0;
    expect(() =>
      log.together(() => {
        log.write("junit.xml", "<x/>");
        throw new TypeError("render");
      }),
    ).toThrow(TypeError);
    expect(synced).toEqual([dir]);
  });

  it("overlaps the fsyncs of files written together: each renamed into place after them, the folder fsynced once after the renames", async () => {
    const dir = fresh();
    const synced: string[] = [];
    const log = new ArtifactLog(dir, (folder) => synced.push(folder));
    writeFileSync(join(dir, "test.json"), "old");
    const done = log.togetherOverlapping(() => {
      log.write("test.json", "new");
      log.together(() => log.write("results.json", "{}"));
      log.write("report.html", "<html>");
    });
    // Written, not yet in place: the temporaries wait for their fsyncs.
    expect(readFileSync(join(dir, "test.json"), "utf8")).toBe("old");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toHaveLength(3);
    expect(synced).toEqual([]);
    await done;
    expect(readFileSync(join(dir, "test.json"), "utf8")).toBe("new");
    expect(readFileSync(join(dir, "report.html"), "utf8")).toBe("<html>");
    expect(readdirSync(dir).sort()).toEqual(["report.html", "results.json", "test.json"]);
    expect(synced).toEqual([dir]);
    expect(log.unwritten()).toEqual([]);
  });

  it("records the files of an overlapping batch that fail in the order they were written, and finishes the rest", async () => {
    const dir = fresh();
    const synced: string[] = [];
    const log = new ArtifactLog(dir, (folder) => synced.push(folder));
    // The rename cannot replace a folder that holds a file: that write fails after its data.
    mkdirSync(join(dir, "junit.xml"));
    writeFileSync(join(dir, "junit.xml", "inside"), "old");
    await expect(
      log.togetherOverlapping(() => {
        log.write("junit.xml", "<x/>");
        expect(log.write("missing/G1c.txt", "cycle")).toBe(false);
        log.write("report.txt", "text");
        throw new TypeError("render");
      }),
    ).rejects.toThrow(TypeError);
    expect(log.unwritten().map((u) => u.file)).toEqual(["junit.xml", "missing/G1c.txt"]);
    expect(readFileSync(join(dir, "report.txt"), "utf8")).toBe("text");
    expect(readdirSync(dir).sort()).toEqual(["junit.xml", "report.txt"]);
    expect(synced).toEqual([dir]);
  });

  it("names file-system errors in words with their code", () => {
    const error = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    expect(fileSystemReason(error)).toBe("no space left on device (ENOSPC)");
  });
});

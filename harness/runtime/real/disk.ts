/**
 * A node's disk as real files: one directory per node, one flat namespace of file names inside it.
 * `fsync` calls fsync(2) on the file, `fsyncDir` on the directory (what makes a creation, rename
 * or remove durable), as the `Disk` contract says; nothing more, so a program that forgets the
 * directory fsync is as exposed here as a real database on a real machine.
 *
 * A crash of the in-process node cannot drop the operating system's page cache, so in the real
 * runtime unsynced writes survive a simulated crash; only a machine crash would lose them. The
 * simulated disk and, in process mode, bufferedDisk.ts are where lost and torn writes are exercised.
 */
import { constants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import type { Disk } from "../types.ts";

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

export class FileDisk implements Disk {
  private readyPromise: Promise<void> | undefined;

  constructor(readonly directory: string) {}

  /** Creates the directory (durably) on first use, so endpoints that never touch the disk leave none. */
  private get ready(): Promise<void> {
    this.readyPromise ??= mkdir(this.directory, { recursive: true }).then(() => this.syncDirectory());
    return this.readyPromise;
  }

  private path(file: string): string {
    if (file.length === 0 || file.includes("/") || file.includes("\\") || file === "." || file === "..") {
      throw new RangeError(`bad file name "${file}": need a plain name without path separators`);
    }
    return join(this.directory, file);
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.directory, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async read(file: string): Promise<Uint8Array | undefined> {
    const path = this.path(file);
    await this.ready;
    try {
      return new Uint8Array(await readFile(path));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async write(file: string, offsetBytes: number, data: Uint8Array): Promise<void> {
    const path = this.path(file);
    if (!Number.isInteger(offsetBytes) || offsetBytes < 0) {
      throw new RangeError(`write(${file}): offset must be a non-negative integer, got ${offsetBytes}`);
    }
    await this.ready;
    const handle = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    try {
      let written = 0;
      // Positional writes may be short; loop until every byte is written (bounded by data.length).
      while (written < data.length) {
        const { bytesWritten } = await handle.write(
          data,
          written,
          data.length - written,
          offsetBytes + written,
        );
        if (bytesWritten <= 0) throw new Error(`write(${file}): no progress at byte ${written}`);
        written += bytesWritten;
      }
    } finally {
      await handle.close();
    }
  }

  async append(file: string, data: Uint8Array): Promise<void> {
    const path = this.path(file);
    await this.ready;
    const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o644);
    try {
      await handle.appendFile(data);
    } finally {
      await handle.close();
    }
  }

  async truncate(file: string, sizeBytes: number): Promise<void> {
    const path = this.path(file);
    await this.ready;
    await truncate(path, sizeBytes);
  }

  async fsync(file: string): Promise<void> {
    const path = this.path(file);
    await this.ready;
    const handle = await open(path, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async fsyncDir(): Promise<void> {
    await this.ready;
    await this.syncDirectory();
  }

  async size(file: string): Promise<number | undefined> {
    const path = this.path(file);
    await this.ready;
    try {
      return (await stat(path)).size;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(): Promise<string[]> {
    await this.ready;
    return (await readdir(this.directory)).sort();
  }

  async rename(from: string, to: string): Promise<void> {
    const fromPath = this.path(from);
    const toPath = this.path(to);
    await this.ready;
    await rename(fromPath, toPath);
  }

  async remove(file: string): Promise<void> {
    const path = this.path(file);
    await this.ready;
    await rm(path);
  }
}

/** A stand-in for process.stdout in the live views' tests: records what is written. */
import { EventEmitter } from "node:events";

export class FakeStdout extends EventEmitter {
  readonly chunks: string[] = [];
  columns = 120;
  rows = 40;
  constructor(readonly isTTY: boolean) {
    super();
  }
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    this.chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }
  get text(): string {
    return this.chunks.join("");
  }
  asWriteStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream;
  }
}

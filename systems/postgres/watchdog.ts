/**
 * The watchdog: what stops the servers when the harness cannot. A PostgreSQL postmaster started
 * by `pg_ctl` is its own session leader, reparented away from the harness: if the harness is
 * killed with SIGKILL, nothing of the harness runs again, and the servers would live on.
 *
 * So each run starts one small `sh` process in its own process group, reading lines from a pipe
 * whose other end only the harness holds: `data DIR` (a data folder whose postmaster must die),
 * `tmp DIR` (a folder to remove), `forget DIR`. When the pipe closes (the harness exited, however
 * it ended), the watchdog kills with SIGKILL every live postmaster of a registered data folder and
 * every process it started (stopped first, so it starts no more; paused children die too), in a few passes half a second apart (so a server `pg_ctl` was starting
 * at that moment dies too), then removes the registered folders. A postmaster is recognised by
 * its `postmaster.pid` *and* by being a `postgres` process whose working folder is that data folder,
 * so a pid reused by another process is never killed. A harness that stopped everything itself
 * leaves the watchdog nothing to do; it exits as soon as the pipe closes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";

const script = [
  "datas=''",
  "tmps=''",
  "nl='",
  "'",
  "while IFS= read -r line; do",
  '  case "$line" in',
  "    'data '*) datas=\"$datas${line#data }$nl\" ;;",
  "    'tmp '*) tmps=\"$tmps${line#tmp }$nl\" ;;",
  "    'forget '*)",
  "      d=${line#forget }",
  '      datas=$(printf \'%s\' "$datas" | grep -vxF -- "$d"; true)',
  '      [ -n "$datas" ] && datas="$datas$nl"',
  '      tmps=$(printf \'%s\' "$tmps" | grep -vxF -- "$d"; true)',
  '      [ -n "$tmps" ] && tmps="$tmps$nl" ;;',
  "  esac",
  "done",
  'if [ -n "$datas" ]; then',
  "  for pass in 1 2 3 4; do",
  "    printf '%s' \"$datas\" | while IFS= read -r d; do",
  '      [ -n "$d" ] || continue',
  '      [ -f "$d/postmaster.pid" ] || continue',
  '      p=$(head -n 1 "$d/postmaster.pid" 2>/dev/null)',
  "      case \"$p\" in ''|*[!0-9]*) continue ;; esac",
  '      [ "$(cat /proc/$p/comm 2>/dev/null)" = postgres ] || continue',
  '      [ "$(readlink /proc/$p/cwd 2>/dev/null)" = "$(readlink -f "$d")" ] || continue',
  '      kill -STOP "$p" 2>/dev/null',
  "      for s in /proc/[0-9]*/stat; do",
  '        read -r c _ _ pp _ < "$s" 2>/dev/null || continue',
  '        [ "$pp" = "$p" ] && { kill -KILL -- "-$c" 2>/dev/null; kill -KILL "$c" 2>/dev/null; }',
  "      done",
  '      kill -KILL "$p" 2>/dev/null',
  "    done",
  "    sleep 0.5",
  "  done",
  "fi",
  "printf '%s' \"$tmps\" | while IFS= read -r d; do",
  '  [ -n "$d" ] && rm -rf -- "$d"',
  "done",
  "exit 0",
].join("\n");

export class Watchdog {
  private readonly child: ChildProcess;
  private closed = false;

  private constructor() {
    this.child = spawn("sh", ["-c", script], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    // The watchdog must not keep the harness alive, nor die with the harness's process group.
    this.child.unref();
    const stdin = this.child.stdin as Socket | null;
    stdin?.on("error", () => undefined);
    stdin?.unref();
  }

  static start(): Watchdog {
    return new Watchdog();
  }

  /** The watchdog's own pid (tests look for it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private send(line: string): void {
    if (this.closed) return;
    if (line.includes("\n")) throw new Error(`watchdog: a path with a newline cannot be registered: ${line}`);
    this.child.stdin?.write(line + "\n");
  }

  /** Kill the postmaster of this data folder if the harness dies. */
  watchDataDir(dir: string): void {
    this.send(`data ${dir}`);
  }

  /** Remove this folder if the harness dies. */
  watchTemporaryDir(dir: string): void {
    this.send(`tmp ${dir}`);
  }

  forget(dir: string): void {
    this.send(`forget ${dir}`);
  }

  /** Closes the pipe: the watchdog does what is still registered, then exits. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.stdin?.end();
  }
}

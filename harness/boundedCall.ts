/**
 * A hard time bound on a call into code faultline does not own (a user's model, a plugin's
 * checker), and a safety net under faultline's own checkers.
 *
 * Budgets bound faultline's own loops: they count steps and read the clock between them. A user's
 * function that never returns is a loop no budget sees, and `--time-limit-ms` then held nothing:
 * the process ran until killed. V8 can still stop it: `vm`'s `timeout` runs the call under a
 * watchdog thread that terminates whatever JavaScript is executing once the time is up, and the
 * call throws. The call runs in this realm as before (only its first frame is in another context),
 * so its objects, errors and `instanceof` checks are unchanged. One context and one compiled script
 * serve every call: a call then costs about 0.1 ms (the watchdog's thread), where a fresh context
 * cost about 2 ms. A promise the call returns is awaited against a timer (`settledWithin`).
 */
import { createContext, Script, type Context } from "node:vm";

/** The call ran past its time bound and was stopped, or its promise did not settle within it. */
export class CallTimedOut extends Error {
  override name = "CallTimedOut";
  constructor(readonly timeoutMs: number) {
    super(`did not return within ${timeoutMs} ms`);
  }
}

/** vm's timeout is an unsigned 32-bit count of milliseconds; setTimeout's a signed one. */
const longestTimeoutMs = 2 ** 31 - 1;

let shared: { readonly context: Context; readonly script: Script } | undefined;

/**
 * Runs `call` and returns what it returns; throws `CallTimedOut` once it has run `timeoutMs` (a
 * bound beyond 24 days, or an infinite one, runs it plainly). Only its synchronous work is bounded.
 */
export function callWithin<T>(call: () => T, timeoutMs: number): T {
  if (!(timeoutMs < longestTimeoutMs)) return call();
  const bound = Math.max(1, Math.ceil(timeoutMs));
  shared ??= { context: createContext({ call: undefined }), script: new Script("call()") };
  (shared.context as { call: unknown }).call = call;
  try {
    return shared.script.runInContext(shared.context, { timeout: bound }) as T;
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT")
      throw new CallTimedOut(bound);
    throw error;
  } finally {
    (shared.context as { call: unknown }).call = undefined;
  }
}

/** The value `result` settles to, or `CallTimedOut` once `timeoutMs` passed without it settling. */
export async function settledWithin<T>(result: T | Promise<T>, timeoutMs: number): Promise<T> {
  if (!(result instanceof Promise) || !(timeoutMs < longestTimeoutMs)) return await result;
  const bound = Math.max(1, Math.ceil(timeoutMs));
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      result,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CallTimedOut(bound)), bound);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether an option's value names a module file (a plugin) rather than a built-in. Its own module,
 * so that a command can tell without loading the plugin machinery and, through it, every built-in
 * system and workload (`faultline check` starts faster for it).
 */

/** True when a `--system`, `--workload` or `--model` value names a module file rather than a built-in. */
export function isModulePath(value: string): boolean {
  return /^(\.{1,2}[/\\]|\/)/.test(value) || /\.(m|c)?(ts|js)x?$/.test(value);
}

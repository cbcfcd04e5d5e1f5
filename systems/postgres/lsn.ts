/**
 * PostgreSQL write-ahead-log positions (`pg_lsn`, printed `16/B374D848`): parsing and comparing,
 * so the control plane can tell which standby received the most of the primary's log.
 */
export function parseLsn(text: unknown): bigint | undefined {
  if (typeof text !== "string") return undefined;
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (match === null) return undefined;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

// The nftables driver's inputs and set elements: every value is checked here (a coded
// error naming it) before anything is built, and the element commands the driver batches
// are built here. Pure functions; nft.ts runs them.
import type { ParsedIp } from './nft-address.ts';
import { NftErrors } from './nft-errors.ts';
import { addElements, deleteElements, type SetElement, type SetRef } from './nft-ruleset.ts';

export interface NftBan {
  ip: string;
  reason: string;
  /** The ttl the ban was set with; 0 = until lifted. */
  ttlSeconds: number;
  /** Seconds left as the kernel reports them; null for a ban without expiry. */
  expiresInSeconds: number | null;
}

/** Ten years: longer is a typo, and "forever" is ttl 0. */
export const MAX_TTL_SECONDS = 315_360_000;
/** nft keeps element comments up to 128 bytes (NFTNL_UDATA_COMMENT_MAXLEN). */
export const MAX_REASON_BYTES = 127;
/** Elements per batch in bulk operations: keeps one nft invocation's memory bounded. */
export const BULK_CHUNK = 10_000;

export function checkTtl(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
    throw new NftErrors.TG_NFT_BAD_TTL(String(ttl), MAX_TTL_SECONDS);
  }
  return ttl;
}

export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.length === 0) {
    throw new NftErrors.TG_NFT_BAD_REASON(
      String(reason).slice(0, 40),
      'must be a non-empty string',
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(reason)) {
    throw new NftErrors.TG_NFT_BAD_REASON(
      JSON.stringify(reason).slice(0, 60),
      'control characters',
    );
  }
  // Truncate on a character boundary: a long reason must not make a ban fail.
  let out = reason;
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}

export function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NftErrors.TG_NFT_BAD_PORT(String(port));
  }
  return port;
}

export function checkInteger(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new NftErrors.TG_NFT_BAD_LIMIT(what, String(value), `${min}..${max}`);
  }
  return value;
}

export function checkInterface(name: unknown): string {
  // IFNAMSIZ is 16 including the NUL; '/' and whitespace are never valid in a name.
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) {
    throw new NftErrors.TG_NFT_BAD_INTERFACE(
      String(name).slice(0, 40),
      'expected 1-15 of [A-Za-z0-9_.:@-]',
    );
  }
  return name;
}

export function banElement(ip: ParsedIp, ttl: number, reason: string): SetElement {
  return {
    elem:
      ttl > 0 ? { val: ip.text, timeout: ttl, comment: reason } : { val: ip.text, comment: reason },
  };
}

/**
 * "add, delete, add" in one batch: the first add makes the delete safe when the element is
 * new, the delete clears an old timeout, and the last add sets the new one. nft 1.0.6 has no
 * `destroy`, and a plain add of an existing element keeps its old timeout.
 */
export function replaceElementCommands(
  set: SetRef,
  plain: string[],
  elements: SetElement[],
): object[] {
  return [addElements(set, plain), deleteElements(set, plain), addElements(set, elements)];
}

/** "add, delete": removes the element whether or not it is present. */
export function removeElementCommands(set: SetRef, plain: string[]): object[] {
  return [addElements(set, plain), deleteElements(set, plain)];
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function parseBanElement(raw: unknown): NftBan | undefined {
  if (typeof raw === 'string')
    return { ip: raw, reason: '', ttlSeconds: 0, expiresInSeconds: null };
  if (typeof raw !== 'object' || raw === null || !('elem' in raw)) return undefined;
  const elem = (raw as { elem: Record<string, unknown> }).elem;
  if (typeof elem.val !== 'string') return undefined;
  const timeout = typeof elem.timeout === 'number' ? elem.timeout : 0;
  return {
    ip: elem.val,
    reason: typeof elem.comment === 'string' ? elem.comment : '',
    ttlSeconds: timeout,
    expiresInSeconds: timeout > 0 && typeof elem.expires === 'number' ? elem.expires : null,
  };
}

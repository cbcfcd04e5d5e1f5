/**
 * Pages and the buffer pool.
 *
 * The heap lives in fixed-size pages in the file `pages` (page `i` at byte `i * pageSizeBytes`).
 * A page holds the version chains of some keys. Layout: `[crc32 u32][bodyBytes u32]` then the
 * body: `[pageId u32][pageLsn f64][tupleCount u32]` and per tuple `[tupleBytes u32][JSON [key,
 * versions]]`, zero-padded. The checksum covers the body, page id included, so an image is never
 * taken for another page's. A flush writes only the image's used part, in whole sectors (pages
 * hold a few KB of their 32 KiB), plus zeros over whatever longer image it last wrote there, so the
 * file holds what whole-page writes would leave; a crash can tear that shorter write as any other.
 * `pageLsn` is the LSN of the last log record applied to the page; redo applies a record only to a
 * page whose `pageLsn` is below it, which makes redo idempotent.
 *
 * Every page stays cached (the pool never evicts; the model is a small database). Each dirty page
 * has a `recLsn` in the dirty page table: the first record that dirtied it since its last flush,
 * so redo can start at the smallest recLsn. Flushing obeys the write-ahead rule (the log up to
 * the page's `pageLsn` is fsynced first) and survives torn writes with a double-write slot
 * (`dwb`): the page image is written and fsynced there before the in-place write, so a torn
 * in-place page (its checksum fails) is restored from the slot at open. A page whose checksum
 * fails with no newer image in the slot (rot at rest) is never served: `load` leaves it out and
 * reports it, and recovery rebuilds it from the log (which is never cut at its head).
 *
 * Bug `no-checksum`: pages are written as usual but read without verifying their checksum
 * (leniently, as below), so a page rotted at rest is served as data.
 *
 * Bug `torn-page`: pages are written with no checksum and no double write, and read leniently, so
 * a write torn by a crash reads back as data: a new header (and pageLsn) over old or half-written
 * tuples, which redo then skips. It must lose or corrupt committed writes after a crash.
 */
import type { Key } from "../../harness/history/op.ts";
import { crc32, utf8Decoder, utf8Encoder, utf8Length } from "./checksum.ts";
import type { Durability } from "./durability.ts";

/** One version of a key: created by `xmin`, replaced by `xmax` (0 while it is the newest). */
export interface Version {
  readonly xmin: number;
  xmax: number;
  readonly value: unknown;
}

export interface Tuple {
  readonly key: Key;
  /** Oldest first; the last one is the newest. */
  versions: Version[];
  /** Encoded size in bytes, kept current so page fullness is cheap to check. */
  encodedBytes: number;
  /**
   * The tuple's bytes in a page image, kept from its last encoding until it changes, so a flush
   * re-encodes only the tuples changed since the last one. Whoever changes `versions` (or a
   * version's `xmax`) clears it, as it updates `encodedBytes` (heap.ts: `touch`).
   */
  image?: Uint8Array | undefined;
}

export interface Page {
  readonly id: number;
  pageLsn: number;
  readonly tuples: Map<string, Tuple>;
  /** Sum of the tuples' encoded sizes plus their length prefixes. */
  tupleBytes: number;
}

export const PAGE_HEADER_BYTES = 8 + 4 + 8 + 4;
const PAGES_FILE = "pages";
const DWB_FILE = "dwb";
/** Attempts to catch a page whose log is durable before giving up on flushing it this time. */
const MAX_WAL_RULE_ROUNDS = 8;

export class PageCorruptionError extends Error {
  override name = "PageCorruptionError";
}

/** Whole-number keys below this have their ids made once and handed out again (`keyId`). */
const cachedKeyIds = 1 << 16;
/** Made whole (filled) at once: an array filled out of order would turn into a dictionary. */
const numberKeyIds = new Array<string | undefined>(cachedKeyIds).fill(undefined);

/**
 * A key's identity in maps: `1` and `"1"` are different keys. A whole-number key below
 * `cachedKeyIds` (every workload's) gets the same string each time: a string made anew must be
 * built and hashed at every map lookup, and the heap, the vacuum's round robin, redo and every
 * statement look keys up by id many times per record.
 */
export function keyId(key: Key): string {
  if (typeof key === "number") {
    // -0 too: its id is `n0`, as 0's.
    if (key >= 0 && key < cachedKeyIds && Number.isInteger(key)) {
      return (numberKeyIds[key] ??= `n${key}`);
    }
    return `n${key}`;
  }
  return `s${key}`;
}

export function encodeTuple(key: Key, versions: readonly Version[]): Uint8Array {
  return utf8Encoder.encode(tupleJson(key, versions));
}

/**
 * `JSON.stringify([key, versions.map((v) => [v.xmin, v.xmax, v.value])])`, built from each
 * version's cached JSON: a page flush re-encodes every tuple of the page, and a long chain (or a
 * long list value) would otherwise be stringified again at every flush.
 */
function tupleJson(key: Key, versions: readonly Version[]): string {
  let text = `[${JSON.stringify(key)},[`;
  for (let i = 0; i < versions.length; i++) text += (i === 0 ? "" : ",") + cachedVersion(versions[i]!).json;
  return text + "]]";
}

/** A version's JSON, its encoded size, and the `xmax` they were made for (see `versionCache`). */
interface VersionJson {
  xmax: number;
  json: string;
  bytes: number;
  readonly valueJson: string;
  readonly valueBytes: number;
}

/**
 * Each version's JSON (`[xmin,xmax,value]`) and its encoded size, cached per version until its
 * `xmax` changes (a version's `xmin` and `value` never change). The value's JSON is kept apart, so
 * a changed `xmax` (a version is superseded once) rebuilds the line around it without walking the
 * value again: a list's value is the whole list. The entry is rebuilt in place then (a version's
 * own, never shared), not replaced: every update supersedes a version, and a weak map's insertion
 * costs several times its lookup.
 */
const versionCache = new WeakMap<Version, VersionJson>();

export function versionSize(xmin: number, xmax: number, value: unknown): number {
  return utf8Length(JSON.stringify([xmin, xmax, value]));
}

function cachedVersion(v: Version): { readonly json: string; readonly bytes: number } {
  const cached = versionCache.get(v);
  if (cached !== undefined) {
    if (cached.xmax !== v.xmax) {
      const xmin = String(v.xmin);
      const xmax = String(v.xmax);
      cached.xmax = v.xmax;
      cached.json = `[${xmin},${xmax},${cached.valueJson}]`;
      cached.bytes = 4 + xmin.length + xmax.length + cached.valueBytes;
    }
    return cached;
  }
  // As an array element, so an undefined value is `null` as in JSON.stringify([xmin, xmax, value]).
  const valueJson = JSON.stringify([v.value]).slice(1, -1);
  return cacheVersion(v, valueJson, utf8Length(valueJson));
}

/** Caches `v`'s JSON around its value's (`valueJson`, `valueBytes` long in UTF-8). */
function cacheVersion(
  v: Version,
  valueJson: string,
  valueBytes: number,
): { readonly json: string; readonly bytes: number } {
  // xmin and xmax are transaction ids (whole numbers), whose JSON is their decimal digits.
  const xmin = String(v.xmin);
  const xmax = String(v.xmax);
  const entry: VersionJson = {
    xmax: v.xmax,
    json: `[${xmin},${xmax},${valueJson}]`,
    bytes: 4 + xmin.length + xmax.length + valueBytes,
    valueJson,
    valueBytes,
  };
  versionCache.set(v, entry);
  return entry;
}

/**
 * Tells the cache that `v`'s value is `base`'s value, a list, with `element` appended (the caller
 * vouches for it): its JSON is then `base`'s value's JSON with the element's added before the
 * closing bracket, instead of the whole list stringified again. An append workload's value is
 * its whole list, and every replica and storage replica redoes every append. Does nothing when
 * `base`'s value JSON is not cached or its value is not a plain list (then the JSON is made from
 * scratch when asked, as for any version).
 */
export function cacheAppendedValue(v: Version, base: Version, element: unknown): void {
  const list = base.value;
  const cached = versionCache.get(base);
  if (cached === undefined || !Array.isArray(list) || Object.getPrototypeOf(list) !== Array.prototype) return;
  if ("toJSON" in list) return;
  // As an array element: an undefined element is `null`, as in the list's JSON. A number's JSON is
  // its decimal string (-0 writes 0), or null when not finite, without JSON.stringify's own cost.
  const elementJson =
    typeof element === "number"
      ? Number.isFinite(element)
        ? String(element)
        : "null"
      : JSON.stringify([element]).slice(1, -1);
  const elementBytes = utf8Length(elementJson);
  // The list's JSON less its closing bracket, then the element's: slicing the base's text makes it
  // flat (V8 copies a joined string out once when it is sliced), which costs far less than
  // stringifying the list, and keeps each version's text one copy deep, so a flush encodes flat
  // pieces instead of walking a chain of every append's (a chain of joins kept from version to
  // version made flushes slower than the stringifying it saved).
  const valueJson =
    list.length === 0 ? `[${elementJson}]` : `${cached.valueJson.slice(0, -1)},${elementJson}]`;
  const valueBytes = list.length === 0 ? 2 + elementBytes : cached.valueBytes + 1 + elementBytes;
  cacheVersion(v, valueJson, valueBytes);
}

/** Bytes of one version's JSON (`[xmin,xmax,value]`) as it stands, from the cache `tupleSize` uses. */
export function versionBytes(v: Version): number {
  return cachedVersion(v).bytes;
}

/**
 * Bytes a tuple takes in a page (length prefix included): exactly `4 + encodeTuple(...).length`,
 * computed from cached version sizes, so a write to a long chain does not re-encode the chain.
 */
export function tupleSize(key: Key, versions: readonly Version[]): number {
  let sum = 0;
  for (const v of versions) sum += cachedVersion(v).bytes;
  // `[` key `,[` v1 `,` v2 … `]]`
  return 4 + utf8Length(JSON.stringify(key)) + 5 + Math.max(0, versions.length - 1) + sum;
}

/** `tupleSize` after `xid` replaces the newest version and adds one holding `value`. */
export function grownTupleSize(key: Key, versions: readonly Version[], xid: number, value: unknown): number {
  let size = tupleSize(key, versions) + versionSize(xid, 0, value) + (versions.length > 0 ? 1 : 0);
  const newest = versions.at(-1);
  if (newest !== undefined && newest.xmax === 0) size += String(xid).length - 1;
  return size;
}

export function emptyPage(id: number): Page {
  return { id, pageLsn: -1, tuples: new Map(), tupleBytes: 0 };
}

/**
 * The page's image. Into `reuse` when given (a buffer of the page size, overwritten whole): a
 * pool flushes one page at a time and reuses one buffer, rather than allocating (and zeroing) a
 * page-sized buffer for every flush.
 */
export function encodePage(
  page: Page,
  pageSizeBytes: number,
  withChecksum: boolean,
  reuse?: Uint8Array,
): Uint8Array {
  if (reuse !== undefined && reuse.length !== pageSizeBytes) {
    throw new RangeError(`encodePage: a buffer to reuse must be a whole page of ${pageSizeBytes} bytes`);
  }
  const out = reuse ?? new Uint8Array(pageSizeBytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(8, page.id);
  view.setFloat64(12, page.pageLsn);
  view.setUint32(20, page.tuples.size);
  let at = PAGE_HEADER_BYTES;
  for (const t of page.tuples.values()) {
    // A tuple that does not fit whole is an overflow.
    const image = (t.image ??= utf8Encoder.encode(tupleJson(t.key, t.versions)));
    if (at + 4 + image.length > pageSizeBytes) {
      throw new PageCorruptionError(`page ${page.id} overflows ${pageSizeBytes} bytes`);
    }
    view.setUint32(at, image.length);
    out.set(image, at + 4);
    at += 4 + image.length;
  }
  // The header and the tuples wrote every byte below `at`; a reused buffer's rest still holds an
  // earlier image.
  if (reuse !== undefined) out.fill(0, at);
  view.setUint32(4, at - 8);
  view.setUint32(0, withChecksum ? crc32(out, 8, at) : 0);
  return out;
}

/** Sector size that a page's used part is rounded up to when it is written. */
const SECTOR_BYTES = 512;

/**
 * The part of an encoded page image (as `encodePage` made it) that a write must cover: the header
 * and the tuples, rounded up to whole sectors; the rest of the image is zeros.
 */
export function usedBytes(image: Uint8Array, pageSizeBytes: number): number {
  const used = 8 + new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(4);
  return Math.min(pageSizeBytes, Math.ceil(used / SECTOR_BYTES) * SECTOR_BYTES);
}

/** How far past `from` the bytes `[from, to)` hold one that is not zero (0 when none does). */
function nonZeroExtent(bytes: Uint8Array, from: number, to: number): number {
  let end = to;
  while (end > from && bytes[end - 1] === 0) end--;
  return end - from;
}

/**
 * Decodes one page image. Strict: undefined for an all-zero page (never written), a
 * `PageCorruptionError` for a bad checksum or shape or for another page's image (when `id` is
 * given). Lenient (`torn-page` bug): no checksum, and decoding stops quietly at the first tuple
 * that does not parse.
 */
export function decodePage(id: number | undefined, bytes: Uint8Array, strict: boolean): Page | undefined {
  if (bytes.length < PAGE_HEADER_BYTES || bytes.every((b) => b === 0)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bodyBytes = view.getUint32(4);
  if (strict) {
    if (8 + bodyBytes > bytes.length || crc32(bytes, 8, 8 + bodyBytes) !== view.getUint32(0)) {
      throw new PageCorruptionError(`page ${id}: checksum mismatch (torn or corrupt write)`);
    }
  }
  const storedId = view.getUint32(8);
  if (strict && id !== undefined && storedId !== id) {
    throw new PageCorruptionError(`page ${id}: holds the image of page ${storedId}`);
  }
  const page = emptyPage(id ?? storedId);
  page.pageLsn = view.getFloat64(12);
  const count = view.getUint32(20);
  let at = PAGE_HEADER_BYTES;
  for (let i = 0; i < count && at + 4 <= bytes.length; i++) {
    const len = view.getUint32(at);
    try {
      if (at + 4 + len > bytes.length) throw new PageCorruptionError("tuple runs past the page");
      const [key, raw] = JSON.parse(utf8Decoder.decode(bytes.subarray(at + 4, at + 4 + len))) as [
        Key,
        [number, number, unknown][],
      ];
      if ((typeof key !== "string" && typeof key !== "number") || !Array.isArray(raw)) {
        throw new PageCorruptionError("bad tuple shape");
      }
      const versions = raw.map(([xmin, xmax, value]) => ({ xmin, xmax, value }));
      page.tuples.set(keyId(key), { key, versions, encodedBytes: 4 + len });
      page.tupleBytes += 4 + len;
    } catch (error) {
      if (strict) throw new PageCorruptionError(`page ${id}: tuple ${i}: ${String(error)}`);
      break;
    }
    at += 4 + len;
  }
  return page;
}

export interface PagePoolOptions {
  readonly pageSizeBytes: number;
  /** The torn-page bug: no checksums, no double write, lenient reads. */
  readonly tornPageBug: boolean;
  /** The no-checksum bug: checksums and double writes as usual, lenient reads. */
  readonly noChecksumBug?: boolean;
}

/** What loading the pages found. */
export interface LoadedPages {
  /** Torn pages restored from the double-write slot. */
  readonly repairedPages: number[];
  /** Pages whose checksum failed with no newer image in the slot: left out, to rebuild from the log. */
  readonly corruptPages: number[];
}

/**
 * The buffer pool: every page cached, a dirty page table, and flushing that obeys the WAL rule.
 */
export class PagePool {
  readonly pages = new Map<number, Page>();
  /** pageId → recLsn. */
  readonly dirty = new Map<number, number>();
  /** For a page being flushed: the recLsn of the first change made after its image was taken. */
  private readonly redirtiedDuringFlush = new Map<number, number>();
  private flushingPage: number | undefined;
  /**
   * The buffer every flush encodes its page image into. One page is flushed at a time, and a
   * flush awaits both writes of the image before it ends, so no write ever sees it change.
   */
  private imageBuffer: Uint8Array | undefined;
  /**
   * Per page of `pages`, and for the double-write slot: how far from its start the file may hold
   * bytes that are not zero, as this pool last wrote it. A flush writes the image's used part
   * (whole sectors), and zeros up to this extent where an earlier, longer image lay, so what the
   * file holds is what a whole-page write would leave. `load` finds them in the files (a page
   * past the file's end has none); before it, they are taken to be the whole page.
   */
  private readonly pageExtents = new Map<number, number>();
  private slotExtent: number | undefined;
  private extentsLoaded = false;

  private pageExtent(id: number): number {
    return this.pageExtents.get(id) ?? (this.extentsLoaded ? 0 : this.options.pageSizeBytes);
  }
  pagesWritten = 0;

  constructor(
    private readonly durability: Durability,
    readonly options: PagePoolOptions,
  ) {}

  private get disk(): Durability["disk"] {
    return this.durability.disk;
  }

  /**
   * Loads every page (creating the files durably if they are new), repairing a torn in-place page
   * from the double-write slot and leaving out (and reporting) a page rotted at rest.
   */
  async load(): Promise<LoadedPages> {
    const size = this.options.pageSizeBytes;
    const strict = !this.options.tornPageBug && this.options.noChecksumBug !== true;
    await this.durability.ensureFiles(this.options.tornPageBug ? [PAGES_FILE] : [PAGES_FILE, DWB_FILE]);
    const file = (await this.disk.read(PAGES_FILE)) ?? new Uint8Array(0);
    const repairedPages: number[] = [];
    const corruptPages: number[] = [];
    let slot: Page | undefined;
    if (strict) {
      const dwb = await this.disk.read(DWB_FILE);
      this.slotExtent = dwb === undefined ? 0 : nonZeroExtent(dwb, 0, dwb.length);
      if (dwb !== undefined && dwb.length >= PAGE_HEADER_BYTES) {
        // The slot holds the used part of the last image written (pages.ts: flushPage).
        const slotBytes = new Uint8Array(size);
        slotBytes.set(dwb.subarray(0, Math.min(size, dwb.length)));
        try {
          slot = decodePage(undefined, slotBytes, true);
        } catch {
          slot = undefined; // A torn slot: the in-place page was not touched yet.
        }
      }
    }
    const count = Math.ceil(file.length / size);
    this.pageExtents.clear();
    for (let id = 0; id < count; id++) {
      this.pageExtents.set(id, nonZeroExtent(file, id * size, Math.min(file.length, (id + 1) * size)));
    }
    this.extentsLoaded = true;
    for (let id = 0; id < count; id++) {
      const bytes = new Uint8Array(size);
      bytes.set(file.subarray(id * size, Math.min(file.length, (id + 1) * size)));
      let page: Page | undefined;
      let corrupt = false;
      try {
        page = decodePage(id, bytes, strict);
      } catch {
        page = undefined;
        corrupt = slot === undefined || slot.id !== id;
      }
      if (corrupt) corruptPages.push(id);
      // The slot is newer than the page in place (or the page is torn): the slot wins, and is
      // written in place below before any later flush can reuse the slot.
      if (slot !== undefined && slot.id === id && (page === undefined || page.pageLsn < slot.pageLsn)) {
        repairedPages.push(id);
        page = slot;
      }
      if (page !== undefined) this.pages.set(id, page);
    }
    if (slot !== undefined && !this.pages.has(slot.id)) {
      this.pages.set(slot.id, slot);
      repairedPages.push(slot.id);
    }
    // Rewrite repaired pages in place now, before any later flush reuses the double-write slot.
    for (const id of repairedPages) {
      const image = encodePage(this.pages.get(id)!, size, true);
      await this.disk.write(PAGES_FILE, id * size, image);
      this.pageExtents.set(id, usedBytes(image, size));
      await this.durability.fsync(PAGES_FILE);
    }
    return { repairedPages, corruptPages };
  }

  page(id: number): Page {
    let page = this.pages.get(id);
    if (page === undefined) {
      page = emptyPage(id);
      this.pages.set(id, page);
    }
    return page;
  }

  /** Records that the record at `lsn` changed page `id`. */
  markDirty(id: number, lsn: number): void {
    if (!this.dirty.has(id)) this.dirty.set(id, lsn);
    if (this.flushingPage === id && !this.redirtiedDuringFlush.has(id))
      this.redirtiedDuringFlush.set(id, lsn);
  }

  /** Dirty pages, oldest recLsn first. */
  dirtyByAge(): number[] {
    return [...this.dirty.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  }

  /**
   * Writes one page durably. `logFlushed(lsn)` must make the log durable past `lsn` first (the
   * WAL rule). One page is flushed at a time (there is one double-write slot).
   */
  async flushPage(id: number, logFlushed: (lsn: number) => Promise<void>): Promise<boolean> {
    if (this.flushingPage !== undefined) return false;
    const page = this.pages.get(id);
    if (page === undefined || !this.dirty.has(id)) return false;
    this.flushingPage = id;
    try {
      // The page may change while the log flushes; the image taken must be covered by durable log.
      let covered = false;
      for (let round = 0; round < MAX_WAL_RULE_ROUNDS && !covered; round++) {
        const lsn = page.pageLsn;
        await logFlushed(lsn);
        covered = page.pageLsn === lsn;
      }
      if (!covered) return false;
      const size = this.options.pageSizeBytes;
      this.redirtiedDuringFlush.delete(id);
      this.imageBuffer ??= new Uint8Array(size);
      const image = encodePage(page, size, !this.options.tornPageBug, this.imageBuffer);
      const used = usedBytes(image, size);
      if (!this.options.tornPageBug) {
        await this.disk.write(DWB_FILE, 0, image.subarray(0, Math.max(used, this.slotExtent ?? size)));
        this.slotExtent = used;
        await this.durability.fsync(DWB_FILE);
      }
      await this.disk.write(PAGES_FILE, id * size, image.subarray(0, Math.max(used, this.pageExtent(id))));
      this.pageExtents.set(id, used);
      await this.durability.fsync(PAGES_FILE);
      this.pagesWritten++;
      const again = this.redirtiedDuringFlush.get(id);
      if (again === undefined) this.dirty.delete(id);
      else this.dirty.set(id, again);
      return true;
    } finally {
      this.redirtiedDuringFlush.delete(id);
      this.flushingPage = undefined;
    }
  }
}

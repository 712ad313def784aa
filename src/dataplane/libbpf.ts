// The only FFI in tollgate: libbpf (Debian libbpf1, libbpf.so.1, API 1.x) through koffi.
//
// Kept deliberately thin: each export is one libbpf call (or two that belong together), with
// buffers in and out as Uint8Array, errors turned into coded TollgateErrors that carry the
// kernel's reason. Policy (what a key means, which map holds what) lives in xdp.ts.
//
// libbpf 1.x conventions relied on: functions returning int give a negative errno on
// failure; functions returning a pointer give NULL and set errno.
import koffi, { type LibraryHandle } from 'koffi';
import { DataplaneErrors as E } from './errors.ts';

type Ptr = bigint;

const ENOENT = 2;
const E2BIG = 7;

/** XDP attach flags (linux/if_link.h). */
export const XDP_FLAGS = {
  UPDATE_IF_NOEXIST: 1,
  SKB_MODE: 2,
  DRV_MODE: 4,
  HW_MODE: 8,
  REPLACE: 16,
} as const;

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST for map updates. */
export const UPDATE_FLAGS = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

// struct bpf_prog_info (linux/bpf.h): `name` is at offset 64, the struct is 232 bytes in
// 6.1 uapi; the kernel accepts any length and fills what fits.
const PROG_INFO_SIZE = 232;
const PROG_INFO_NAME_OFFSET = 64;
const OBJ_NAME_LEN = 16;

// struct bpf_test_run_opts (bpf/bpf.h, libbpf 1.1): 80 bytes on 64-bit.
const TEST_RUN_OPTS_SIZE = 80;

function loadBindings() {
  let lib: LibraryHandle;
  let libc: LibraryHandle;
  try {
    lib = koffi.load('libbpf.so.1');
    libc = koffi.load('libc.so.6');
  } catch (err) {
    throw new E.TG_DP_LIBBPF_UNAVAILABLE((err as Error).message);
  }
  const sampleFn = koffi.proto('int tg_ring_buffer_sample_fn(void *ctx, void *data, size_t size)');
  const printFn = koffi.proto('int tg_libbpf_print_fn(int level, const char *format, void *args)');
  return {
    sampleFn,
    printFn,
    setPrint: lib.func('void *libbpf_set_print(tg_libbpf_print_fn *fn)'),
    // va_list arrives as a pointer on x86-64 (an array type decays), so it can be passed on.
    vsnprintf: libc.func(
      'int vsnprintf(_Out_ char *buf, size_t size, const char *format, void *args)',
    ),
    strerror: lib.func('int libbpf_strerror(int err, _Out_ char *buf, size_t size)'),
    numPossibleCpus: lib.func('int libbpf_num_possible_cpus(void)'),
    objectOpenFile: lib.func('void *bpf_object__open_file(const char *path, const void *opts)'),
    objectLoad: lib.func('int bpf_object__load(void *obj)'),
    objectClose: lib.func('void bpf_object__close(void *obj)'),
    findProgram: lib.func('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
    programFd: lib.func('int bpf_program__fd(void *prog)'),
    findMap: lib.func('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
    mapFd: lib.func('int bpf_map__fd(void *map)'),
    mapSetMaxEntries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t n)'),
    mapMaxEntries: lib.func('uint32_t bpf_map__max_entries(void *map)'),
    mapKeySize: lib.func('uint32_t bpf_map__key_size(void *map)'),
    mapValueSize: lib.func('uint32_t bpf_map__value_size(void *map)'),
    mapType: lib.func('int bpf_map__type(void *map)'),
    update: lib.func(
      'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)',
    ),
    lookup: lib.func('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    remove: lib.func('int bpf_map_delete_elem(int fd, const void *key)'),
    nextKey: lib.func('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
    updateBatch: lib.func(
      'int bpf_map_update_batch(int fd, const void *keys, const void *values, uint32_t *count, const void *opts)',
    ),
    testRun: lib.func('int bpf_prog_test_run_opts(int prog_fd, void *opts)'),
    xdpAttach: lib.func(
      'int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const void *opts)',
    ),
    xdpDetach: lib.func('int bpf_xdp_detach(int ifindex, uint32_t flags, const void *opts)'),
    xdpQueryId: lib.func('int bpf_xdp_query_id(int ifindex, int flags, uint32_t *prog_id)'),
    progFdById: lib.func('int bpf_prog_get_fd_by_id(uint32_t id)'),
    objInfoByFd: lib.func('int bpf_obj_get_info_by_fd(int fd, void *info, uint32_t *info_len)'),
    ringNew: lib.func(
      'void *ring_buffer__new(int map_fd, tg_ring_buffer_sample_fn *cb, void *ctx, const void *opts)',
    ),
    ringPoll: lib.func('int ring_buffer__poll(void *rb, int timeout_ms)'),
    ringConsume: lib.func('int ring_buffer__consume(void *rb)'),
    ringFree: lib.func('void ring_buffer__free(void *rb)'),
    close: libc.func('int close(int fd)'),
  };
}

let bindings: ReturnType<typeof loadBindings> | undefined;
function bpf(): ReturnType<typeof loadBindings> {
  bindings ??= loadBindings();
  return bindings;
}

/** True when libbpf.so.1 can be loaded (it says nothing about privileges). */
export function libbpfAvailable(): boolean {
  try {
    bpf();
    return true;
  } catch {
    return false;
  }
}

/** Text for a libbpf error code (negative or positive errno, or libbpf's own codes). */
export function errorText(code: number): string {
  const buf = Buffer.alloc(256);
  bpf().strerror(-Math.abs(code), buf, buf.length);
  const text = buf.toString('utf8', 0, buf.indexOf(0) < 0 ? buf.length : buf.indexOf(0));
  return `${text} (errno ${Math.abs(code)})`;
}

export type LibbpfLevel = 'warn' | 'info' | 'debug';
/** enum libbpf_print_level: LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG. */
const PRINT_LEVELS: readonly LibbpfLevel[] = ['warn', 'info', 'debug'];
const PRINT_LINE_MAX = 1024;
let printSink: ((level: LibbpfLevel, line: string) => void) | undefined;
let printCallback: Ptr | undefined;

/**
 * Sends libbpf's own messages (by default raw lines on stderr, between the daemon's JSON log
 * lines) to `sink` instead, one call per message with libbpf's level. Process-wide, as
 * libbpf_set_print is; a later call replaces the sink. The callback stays registered for
 * the life of the process: libbpf may print from any later call.
 */
export function routeLibbpfOutput(sink: (level: LibbpfLevel, line: string) => void): void {
  const b = bpf();
  printSink = sink;
  if (printCallback !== undefined) return;
  const buf = Buffer.alloc(PRINT_LINE_MAX);
  printCallback = koffi.register((level: number, format: string, args: Ptr) => {
    // Only x86-64 passes va_list as a plain pointer; elsewhere the unformatted text will do.
    const n: number = process.arch === 'x64' ? b.vsnprintf(buf, buf.length, format, args) : -1;
    const line = n >= 0 ? buf.toString('utf8', 0, Math.min(n, buf.length - 1)) : format;
    printSink?.(PRINT_LEVELS[level] ?? 'debug', line.trimEnd());
    return 0;
  }, koffi.pointer(b.printFn));
  b.setPrint(printCallback);
}

let possibleCpus: number | undefined;
/** Number of possible CPUs: the number of slots in a per-CPU map value. */
export function numPossibleCpus(): number {
  if (possibleCpus !== undefined) return possibleCpus;
  const n: number = bpf().numPossibleCpus();
  if (n <= 0) throw new E.TG_DP_MAP_OP('percpu', 'num_possible_cpus', errorText(n));
  possibleCpus = n;
  return n;
}

// enum bpf_map_type values that hold one value per CPU.
const PERCPU_MAP_TYPES = new Set([
  5 /* PERCPU_HASH */, 6 /* PERCPU_ARRAY */, 10 /* LRU_PERCPU_HASH */,
]);

/** A loaded map: fd plus the sizes needed to build keys and values. */
export class BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** For per-CPU maps: bytes per CPU slot (value size rounded up to 8). */
  readonly perCpuStride: number;
  readonly perCpu: boolean;

  constructor(name: string, handle: Ptr) {
    const b = bpf();
    this.name = name;
    this.fd = b.mapFd(handle);
    this.keySize = b.mapKeySize(handle);
    this.maxEntries = b.mapMaxEntries(handle);
    this.perCpu = PERCPU_MAP_TYPES.has(b.mapType(handle));
    const size = b.mapValueSize(handle);
    this.perCpuStride = Math.ceil(size / 8) * 8;
    this.valueSize = this.perCpu ? this.perCpuStride * numPossibleCpus() : size;
  }

  /** Inserts or replaces; throws TG_DP_MAP_FULL when a hash map has no room. */
  update(key: Uint8Array, value: Uint8Array, flags: number = UPDATE_FLAGS.ANY): void {
    this.checkSizes(key, value);
    const rc = bpf().update(this.fd, key, value, flags);
    if (rc === -E2BIG) throw new E.TG_DP_MAP_FULL(this.name, this.maxEntries);
    if (rc < 0) throw new E.TG_DP_MAP_OP(this.name, 'update', errorText(rc));
  }

  /** Fills `out` and returns true, or returns false when the key is absent. */
  lookup(key: Uint8Array, out: Uint8Array): boolean {
    this.checkSizes(key, out);
    const rc = bpf().lookup(this.fd, key, out);
    if (rc === -ENOENT) return false;
    if (rc < 0) throw new E.TG_DP_MAP_OP(this.name, 'lookup', errorText(rc));
    return true;
  }

  /** Returns false when the key was absent. */
  delete(key: Uint8Array): boolean {
    if (key.length !== this.keySize) throw new E.TG_DP_MAP_OP(this.name, 'delete', 'bad key size');
    const rc = bpf().remove(this.fd, key);
    if (rc === -ENOENT) return false;
    if (rc < 0) throw new E.TG_DP_MAP_OP(this.name, 'delete', errorText(rc));
    return true;
  }

  /** Every key, read with get_next_key (a snapshot; entries may change meanwhile). */
  keys(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(this.keySize);
      const rc = bpf().nextKey(this.fd, prev, next);
      if (rc === -ENOENT) return out;
      if (rc < 0) throw new E.TG_DP_MAP_OP(this.name, 'get_next_key', errorText(rc));
      out.push(next);
      prev = next;
    }
  }

  /**
   * Inserts `count` entries packed back to back in one syscall (BPF_MAP_UPDATE_BATCH).
   * Used for restoring large ban lists at start and by the benchmark.
   */
  updateBatch(keys: Uint8Array, values: Uint8Array, count: number): void {
    if (keys.length !== count * this.keySize || values.length !== count * this.valueSize)
      throw new E.TG_DP_MAP_OP(this.name, 'update_batch', 'bad buffer sizes');
    const n = new Uint32Array([count]);
    const rc = bpf().updateBatch(this.fd, keys, values, n, null);
    if (rc === -E2BIG) throw new E.TG_DP_MAP_FULL(this.name, this.maxEntries);
    if (rc < 0) throw new E.TG_DP_MAP_OP(this.name, 'update_batch', errorText(rc));
  }

  private checkSizes(key: Uint8Array, value: Uint8Array): void {
    if (key.length !== this.keySize || value.length !== this.valueSize)
      throw new E.TG_DP_MAP_OP(
        this.name,
        'access',
        `key/value of ${key.length}/${value.length} bytes, map wants ${this.keySize}/${this.valueSize}`,
      );
  }
}

/** An opened and loaded BPF object file. */
export class BpfObject {
  readonly path: string;
  private handle: Ptr | null;

  private constructor(path: string, handle: Ptr) {
    this.path = path;
    this.handle = handle;
  }

  /**
   * Opens and loads an object. `maxEntries` resizes maps before load (map name → entries),
   * so capacity is a runtime choice rather than a recompile.
   */
  static load(path: string, maxEntries: Record<string, number> = {}): BpfObject {
    const b = bpf();
    const handle = b.objectOpenFile(path, null) as Ptr | null;
    if (!handle) throw new E.TG_DP_OBJECT_OPEN(path, errorText(koffi.errno()));
    const obj = new BpfObject(path, handle);
    try {
      for (const [name, n] of Object.entries(maxEntries)) {
        const map = b.findMap(handle, name) as Ptr | null;
        if (!map) throw new E.TG_DP_NOT_FOUND(path, 'map', name);
        const rc = b.mapSetMaxEntries(map, n);
        if (rc < 0) throw new E.TG_DP_MAP_OP(name, 'set_max_entries', errorText(rc));
      }
      const rc = b.objectLoad(handle);
      if (rc < 0) throw new E.TG_DP_OBJECT_LOAD(path, errorText(rc));
    } catch (err) {
      obj.close();
      throw err;
    }
    return obj;
  }

  programFd(name: string): number {
    const prog = bpf().findProgram(this.live(), name) as Ptr | null;
    if (!prog) throw new E.TG_DP_NOT_FOUND(this.path, 'program', name);
    return bpf().programFd(prog);
  }

  map(name: string): BpfMap {
    const map = bpf().findMap(this.live(), name) as Ptr | null;
    if (!map) throw new E.TG_DP_NOT_FOUND(this.path, 'map', name);
    return new BpfMap(name, map);
  }

  /** Releases every fd of the object (programs stay attached only through their links). */
  close(): void {
    if (this.handle === null) return;
    bpf().objectClose(this.handle);
    this.handle = null;
  }

  private live(): Ptr {
    if (this.handle === null) throw new E.TG_DP_CLOSED();
    return this.handle;
  }
}

export interface TestRunResult {
  /** The program's return code (XDP_DROP = 1, XDP_PASS = 2, XDP_TX = 3, XDP_REDIRECT = 4). */
  retval: number;
  /** Average ns per run as measured by the kernel. */
  durationNs: number;
  /** The frame as the program left it (rewritten by a forward), when asked for. */
  dataOut?: Uint8Array;
}

export interface TestRunOptions {
  /** Also return the frame after the program ran (bytes). */
  dataOut?: boolean;
  /** struct xdp_md ingress_ifindex (default: the namespace's loopback). */
  ingressIfindex?: number;
}

/** sizeof(struct xdp_md) and the offset of ingress_ifindex in it (uapi linux/bpf.h). */
const XDP_MD_SIZE = 24;
const XDP_MD_INGRESS_IFINDEX = 12;
/** Room for a frame grown by the program (none today; the kernel refuses a short buffer). */
const DATA_OUT_SLACK = 256;

/**
 * BPF_PROG_TEST_RUN: runs the program `repeat` times on a copy of `packet`. The packet must
 * be at least 14 bytes (the kernel wants an Ethernet header for XDP).
 */
export function progTestRun(
  progFd: number,
  packet: Uint8Array,
  repeat = 1,
  options: TestRunOptions = {},
): TestRunResult {
  const b = bpf();
  const size = Math.max(packet.length, 1);
  const outSize = packet.length + DATA_OUT_SLACK;
  const dataIn = koffi.alloc('uint8_t', size) as Ptr;
  const dataOut = options.dataOut ? (koffi.alloc('uint8_t', outSize) as Ptr) : null;
  const ctxIn = options.ingressIfindex ? (koffi.alloc('uint8_t', XDP_MD_SIZE) as Ptr) : null;
  try {
    new Uint8Array(koffi.view(dataIn, size)).set(packet);
    const opts = Buffer.alloc(TEST_RUN_OPTS_SIZE);
    opts.writeBigUInt64LE(BigInt(TEST_RUN_OPTS_SIZE), 0); // sz
    opts.writeBigUInt64LE(dataIn, 8); // data_in
    opts.writeUInt32LE(packet.length, 24); // data_size_in
    if (dataOut !== null) {
      opts.writeBigUInt64LE(dataOut, 16); // data_out
      opts.writeUInt32LE(outSize, 28); // data_size_out
    }
    if (ctxIn !== null) {
      const md = new Uint8Array(koffi.view(ctxIn, XDP_MD_SIZE));
      md.fill(0);
      // data_end = frame length (the kernel checks it against data_size_in).
      new DataView(md.buffer, md.byteOffset).setUint32(4, packet.length, true);
      new DataView(md.buffer, md.byteOffset).setUint32(
        XDP_MD_INGRESS_IFINDEX,
        options.ingressIfindex ?? 0,
        true,
      );
      opts.writeBigUInt64LE(ctxIn, 32); // ctx_in
      opts.writeUInt32LE(XDP_MD_SIZE, 48); // ctx_size_in
    }
    opts.writeInt32LE(repeat, 60); // repeat
    const rc = b.testRun(progFd, opts);
    if (rc < 0) throw new E.TG_DP_TEST_RUN(errorText(rc));
    const result: TestRunResult = {
      retval: opts.readUInt32LE(56),
      durationNs: opts.readUInt32LE(64),
    };
    if (dataOut !== null) {
      const n = opts.readUInt32LE(28);
      result.dataOut = new Uint8Array(koffi.view(dataOut, n)).slice();
    }
    return result;
  } finally {
    koffi.free(dataIn);
    if (dataOut !== null) koffi.free(dataOut);
    if (ctxIn !== null) koffi.free(ctxIn);
  }
}

/** Attaches in the given mode; `replaceFd` makes it an atomic swap of that exact program. */
export function xdpAttach(
  ifindex: number,
  progFd: number,
  flags: number,
  replaceFd?: number,
): number {
  let opts: Buffer | null = null;
  if (replaceFd !== undefined) {
    opts = Buffer.alloc(16);
    opts.writeBigUInt64LE(16n, 0);
    opts.writeInt32LE(replaceFd, 8);
    flags |= XDP_FLAGS.REPLACE;
  }
  return bpf().xdpAttach(ifindex, progFd, flags, opts);
}

export function xdpDetach(ifindex: number, flags: number): number {
  return bpf().xdpDetach(ifindex, flags, null);
}

/** Id of the program attached in the given mode, 0 when none. */
export function xdpQueryId(ifindex: number, flags: number): number {
  const id = new Uint32Array(1);
  const rc = bpf().xdpQueryId(ifindex, flags, id);
  if (rc < 0) throw new E.TG_DP_MAP_OP('xdp', 'query', errorText(rc));
  return id[0]!;
}

/** An fd for a loaded program by id, with its name; the caller closes the fd. */
export function progById(id: number): { fd: number; name: string } | null {
  const b = bpf();
  const fd = b.progFdById(id);
  if (fd < 0) return null;
  const info = Buffer.alloc(PROG_INFO_SIZE);
  const len = new Uint32Array([PROG_INFO_SIZE]);
  const rc = b.objInfoByFd(fd, info, len);
  if (rc < 0) {
    b.close(fd);
    return null;
  }
  const raw = info.subarray(PROG_INFO_NAME_OFFSET, PROG_INFO_NAME_OFFSET + OBJ_NAME_LEN);
  const end = raw.indexOf(0);
  return { fd, name: raw.toString('utf8', 0, end < 0 ? raw.length : end) };
}

/** The kernel id of a loaded program (struct bpf_prog_info.id, offset 4). */
export function progIdOfFd(fd: number): number {
  const info = Buffer.alloc(PROG_INFO_SIZE);
  const len = new Uint32Array([PROG_INFO_SIZE]);
  const rc = bpf().objInfoByFd(fd, info, len);
  if (rc < 0) throw new E.TG_DP_MAP_OP('prog', 'get_info', errorText(rc));
  return info.readUInt32LE(4);
}

export function closeFd(fd: number): void {
  bpf().close(fd);
}

/**
 * A libbpf ring buffer whose samples are delivered to `onSample` on the main thread: the
 * callback runs inside poll()/consume(), which the owner calls from a timer. The sample
 * bytes are copied out before the callback returns (libbpf reuses the memory after).
 */
export class RingBuffer {
  private rb: Ptr | null;
  private readonly callback: bigint;

  constructor(mapFd: number, onSample: (data: Uint8Array) => void) {
    const b = bpf();
    this.callback = koffi.register((_ctx: Ptr, data: Ptr, size: number | bigint) => {
      const n = Number(size);
      const copy = new Uint8Array(n);
      copy.set(new Uint8Array(koffi.view(data, n)));
      try {
        onSample(copy);
      } catch {
        // A listener's bug must not stop libbpf from consuming the rest of the ring.
      }
      return 0;
    }, koffi.pointer(b.sampleFn));
    const rb = b.ringNew(mapFd, this.callback, null, null) as Ptr | null;
    if (!rb) {
      koffi.unregister(this.callback);
      throw new E.TG_DP_RINGBUF('new', errorText(koffi.errno()));
    }
    this.rb = rb;
  }

  /** Consumes what is ready without blocking; returns the number of samples. */
  consume(): number {
    if (this.rb === null) return 0;
    const n = bpf().ringConsume(this.rb);
    if (n < 0) throw new E.TG_DP_RINGBUF('consume', errorText(n));
    return n;
  }

  /** Waits up to timeoutMs (0 = do not wait) for samples; blocks the main thread meanwhile. */
  poll(timeoutMs: number): number {
    if (this.rb === null) return 0;
    const n = bpf().ringPoll(this.rb, timeoutMs);
    if (n < 0) throw new E.TG_DP_RINGBUF('poll', errorText(n));
    return n;
  }

  free(): void {
    if (this.rb === null) return;
    bpf().ringFree(this.rb);
    this.rb = null;
    koffi.unregister(this.callback);
  }
}

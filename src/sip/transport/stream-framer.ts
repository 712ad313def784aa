// Cuts a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3: Content-Length frames the
// body on streams), with bounded memory and linear work however the peer splits its writes:
//
// - bytes are appended to one growable buffer (no per-chunk concatenation);
// - the search for the blank line that ends the header block resumes where it stopped,
//   so a header dribbled in one byte per segment is scanned once;
// - once the header block is complete, the parser runs and, if the body is still short,
//   the framer waits for the announced Content-Length before parsing again;
// - more than `maxBuffered` bytes of one unfinished message is fatal, and so is any parse
//   reject: after a malformed message the framing is lost (RFC 4475 §3.3.9), so the
//   connection must be closed.
//
// Double-CRLF keepalive pings (RFC 5626 §3.5.1) between messages are reported so that the
// connection can answer them with a single CRLF pong; lone CRLFs are skipped (§7.5).
import {
  type ParseLimits,
  type ParseRejectReason,
  parseMessage,
  REJECT_INFO,
  type SipMessage,
} from '../message/index.ts';

export type FrameEvent =
  | { readonly kind: 'message'; readonly message: SipMessage }
  | { readonly kind: 'ping' }
  | {
      readonly kind: 'reject';
      readonly reason: ParseRejectReason;
      readonly detail: string;
      readonly status?: number;
      /** The unconsumed bytes, to salvage an error response from. */
      readonly raw: Buffer;
    };

/**
 * Until a connection sends something it holds no buffer: idle ones (thousands, in a
 * slowloris) cost no 4 KiB each, and a connection closed unheard leaves nothing to collect.
 */
const NOTHING = Buffer.alloc(0);
const INITIAL_BYTES = 4096;
const CR = 0x0d;
const LF = 0x0a;
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = /(?:^|\r\n)(?:content-length|l)[ \t]*:[ \t]*(\d{1,10})[ \t]*(?:\r\n|$)/i;

export class StreamFramer {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  /** Absolute offset where the search for the header end resumes. */
  private searchFrom = 0;
  /** Bytes from `start` needed before parsing again; 0 = header block not yet complete. */
  private needed = 0;
  /** Absolute offset of the blank line ending the current header block, once found. */
  private headEnd = 0;
  private dead = false;
  private readonly limits: ParseLimits;
  private readonly maxBuffered: number;

  constructor(limits: ParseLimits, maxBuffered: number) {
    this.limits = limits;
    this.maxBuffered = maxBuffered;
    this.buf = NOTHING;
  }

  /** Bytes of an unfinished message held now. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Whether part of a message is held: anything but the CRLFs of keepalives (a lone CRLF, or
   * the first half of a ping, waits here too and is not a message started).
   */
  get inMessage(): boolean {
    if (this.dead || this.start >= this.end) return false;
    const c = this.buf[this.start];
    return c !== CR && c !== LF;
  }

  /** Feeds a chunk; returns what it completed. After a reject, everything is ignored. */
  push(chunk: Buffer): FrameEvent[] {
    if (this.dead) return [];
    this.append(chunk);
    const out: FrameEvent[] = [];
    this.drain(out);
    this.compact();
    if (!this.dead && this.end - this.start > this.maxBuffered) {
      this.fail(out, 'message_too_large', `more than ${this.maxBuffered} octets buffered`);
    }
    return out;
  }

  private drain(out: FrameEvent[]): void {
    const buf = this.buf;
    while (this.start < this.end) {
      if (this.needed === 0) {
        let p = this.start;
        while (p < this.end && (buf[p] === CR || buf[p] === LF)) p++;
        const crlfs = p - this.start;
        if (p === this.end) {
          // Only CRLFs so far: a complete ping, or the start of one (wait for the rest).
          if (crlfs >= 4) {
            out.push({ kind: 'ping' });
            this.start = this.end;
          }
          return;
        }
        if (crlfs >= 4) out.push({ kind: 'ping' });
        this.start = p;
        if (this.searchFrom < p) this.searchFrom = p;
        const from = Math.max(this.start, this.searchFrom - 3);
        const headEnd = buf.subarray(0, this.end).indexOf(HEADER_END, from);
        if (headEnd < 0) {
          this.searchFrom = this.end;
          // The parser decides when a header block without its end is too long.
          if (this.end - this.start < this.limits.maxMessageBytes) return;
        } else this.headEnd = headEnd;
      } else if (this.end - this.start < this.needed) return;
      const r = parseMessage(buf.subarray(this.start, this.end), {
        transport: 'stream',
        limits: this.limits,
      });
      if (r.ok) {
        out.push({ kind: 'message', message: r.message });
        this.start += r.consumed;
        this.searchFrom = this.start;
        this.needed = 0;
        continue;
      }
      if (r.reason === 'incomplete') {
        // The body is short: wait for the announced Content-Length before parsing again. If
        // the hint cannot be read (a folded value, say) or was short, try on the next byte.
        const cl =
          this.needed === 0
            ? CONTENT_LENGTH.exec(buf.toString('latin1', this.start, this.headEnd))
            : null;
        const hint = cl === null ? 0 : this.headEnd + 4 - this.start + Number(cl[1]);
        this.needed = Math.max(hint, this.end - this.start + 1);
        return;
      }
      this.fail(out, r.reason, r.detail, r.status);
      return;
    }
  }

  private fail(out: FrameEvent[], reason: ParseRejectReason, detail: string, status?: number) {
    this.dead = true;
    const raw = Buffer.from(this.buf.subarray(this.start, this.end));
    const looksLikeRequest = raw.subarray(0, 4).toString('latin1').toUpperCase() !== 'SIP/';
    const s = status ?? (looksLikeRequest ? REJECT_INFO[reason].status : undefined);
    out.push(
      s === undefined
        ? { kind: 'reject', reason, detail, raw }
        : { kind: 'reject', reason, detail, status: s, raw },
    );
    this.start = this.end = 0;
  }

  private append(chunk: Buffer): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      let size = Math.max(this.buf.length, INITIAL_BYTES);
      while (size < live + chunk.length) size *= 2;
      const next = size === this.buf.length ? this.buf : Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, this.start, this.end);
      this.searchFrom -= this.start;
      this.buf = next;
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** Moves an unfinished message to the front once everything before it is consumed. */
  private compact(): void {
    if (this.start === this.end) {
      this.start = this.end = this.searchFrom = 0;
      // Give back a buffer grown for one large message.
      if (this.buf.length > 65536) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    } else if (this.start > 0 && this.start >= this.buf.length / 2) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.searchFrom -= this.start;
      this.end -= this.start;
      this.start = 0;
    }
  }
}

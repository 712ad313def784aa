// A parsed (or built) SIP message: start line, header fields in wire order, body.
// Header values are kept as unfolded latin1 strings exactly as received; typed views
// (views.ts) are parsed from them on demand and cached until a header is changed.
import { SipErrors } from '../errors.ts';
import { headerKey } from './header-names.ts';
import { DEFAULT_LIMITS, type ParseLimits } from './limits.ts';
import type { Uri } from './uri.ts';
import type { ViewResult } from './value-scan.ts';
import { VIEWS, type ViewName, type ViewTypes } from './views.ts';

export interface HeaderField {
  /** Name as received or given ("v", "VIA", "Via"). */
  readonly name: string;
  /** Lower-case long name: the lookup key ("via"). */
  readonly key: string;
  /** Unfolded value, surrounding whitespace trimmed. */
  readonly value: string;
}

const TOKEN_NAME = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** A header field, checked for injection (RFC 3261 §7.3: name is a token, no CR/LF). */
export function makeHeader(name: string, value: string): HeaderField {
  if (!TOKEN_NAME.test(name) || /[\r\n]/.test(value)) {
    throw new SipErrors.TG_SIP_HEADER_INJECTION(JSON.stringify(name));
  }
  return { name, key: headerKey(name), value };
}

abstract class SipMessageBase {
  protected fields: HeaderField[];
  body: Buffer;
  readonly limits: ParseLimits;
  private index: Map<string, string[]> | undefined;
  private cache: Map<ViewName, ViewResult<unknown>> | undefined;

  constructor(fields: HeaderField[], body: Buffer, limits: ParseLimits) {
    this.fields = fields;
    this.body = body;
    this.limits = limits;
  }

  /** All header fields in wire order. */
  get headers(): readonly HeaderField[] {
    return this.fields;
  }

  private lookup(): Map<string, string[]> {
    if (this.index === undefined) {
      const idx = new Map<string, string[]>();
      for (const f of this.fields) {
        const list = idx.get(f.key);
        if (list === undefined) idx.set(f.key, [f.value]);
        else list.push(f.value);
      }
      this.index = idx;
    }
    return this.index;
  }

  /** Values of every field with this name (any case, compact or long form), in order. */
  headerValues(name: string): readonly string[] {
    return this.lookup().get(headerKey(name)) ?? [];
  }

  /** Value of the first field with this name. */
  header(name: string): string | undefined {
    return this.lookup().get(headerKey(name))?.[0];
  }

  has(name: string): boolean {
    return this.lookup().has(headerKey(name));
  }

  /** A typed view, or why it cannot be had. Never throws. */
  tryView<K extends ViewName>(name: K): ViewResult<ViewTypes[K]> {
    let cached = this.cache?.get(name);
    if (cached === undefined) {
      const spec = VIEWS[name];
      cached = spec.parse(this.headerValues(spec.header), this.limits);
      this.cache ??= new Map();
      this.cache.set(name, cached);
    }
    return cached as ViewResult<ViewTypes[K]>;
  }

  /** A typed view; throws TG_SIP_MISSING_HEADER / TG_SIP_MALFORMED_HEADER. */
  view<K extends ViewName>(name: K): ViewTypes[K] {
    const r = this.tryView(name);
    if (r.ok) return r.value;
    const label = VIEWS[name].label;
    if (r.missing) throw new SipErrors.TG_SIP_MISSING_HEADER(label);
    throw new SipErrors.TG_SIP_MALFORMED_HEADER(label, r.detail);
  }

  // Shorthands for the views every layer needs.
  via(): ViewTypes['via'] {
    return this.view('via');
  }
  topVia(): ViewTypes['via'][number] | undefined {
    return this.view('via')[0];
  }
  from(): ViewTypes['from'] {
    return this.view('from');
  }
  to(): ViewTypes['to'] {
    return this.view('to');
  }
  cseq(): ViewTypes['cseq'] {
    return this.view('cseq');
  }
  callId(): string {
    return this.view('callId');
  }
  contact(): ViewTypes['contact'] {
    return this.view('contact');
  }

  private changed(): void {
    this.index = undefined;
    this.cache = undefined;
  }

  /** Appends a field. */
  addHeader(name: string, value: string): this {
    this.fields.push(makeHeader(name, value));
    this.changed();
    return this;
  }

  /** Inserts a field before all others of its name (a proxy's own Via, §16.6 step 8). */
  prependHeader(name: string, value: string): this {
    const f = makeHeader(name, value);
    const at = this.fields.findIndex((h) => h.key === f.key);
    this.fields.splice(at < 0 ? this.fields.length : at, 0, f);
    this.changed();
    return this;
  }

  /** Removes every field with this name; returns how many. */
  removeHeader(name: string): number {
    const key = headerKey(name);
    const before = this.fields.length;
    this.fields = this.fields.filter((h) => h.key !== key);
    this.changed();
    return before - this.fields.length;
  }

  /** Replaces every field with this name by one field (added where the first one was). */
  setHeader(name: string, value: string): this {
    const f = makeHeader(name, value);
    const at = this.fields.findIndex((h) => h.key === f.key);
    this.fields = this.fields.filter((h) => h.key !== f.key);
    this.fields.splice(at < 0 ? this.fields.length : at, 0, f);
    this.changed();
    return this;
  }

  /** Removes only the first field with this name (a proxy popping its Via, §16.7 step 3). */
  removeFirstHeader(name: string): boolean {
    const key = headerKey(name);
    const at = this.fields.findIndex((h) => h.key === key);
    if (at < 0) return false;
    this.fields.splice(at, 1);
    this.changed();
    return true;
  }
}

export class SipRequest extends SipMessageBase {
  readonly kind = 'request' as const;
  method: string;
  /** Request-URI as on the wire. */
  uriText: string;
  /** Parsed Request-URI. */
  uri: Uri;

  constructor(
    method: string,
    uriText: string,
    uri: Uri,
    fields: HeaderField[],
    body: Buffer,
    limits: ParseLimits = DEFAULT_LIMITS,
  ) {
    super(fields, body, limits);
    this.method = method;
    this.uriText = uriText;
    this.uri = uri;
  }
}

export class SipResponse extends SipMessageBase {
  readonly kind = 'response' as const;
  status: number;
  /** Reason phrase as on the wire (latin1); see reasonText for the UTF-8 decoding. */
  reason: string;

  constructor(
    status: number,
    reason: string,
    fields: HeaderField[],
    body: Buffer,
    limits: ParseLimits = DEFAULT_LIMITS,
  ) {
    super(fields, body, limits);
    this.status = status;
    this.reason = reason;
  }

  /** Reason-Phrase decoded as UTF-8 (RFC 3261 §25.1 allows UTF-8 text there). */
  get reasonText(): string {
    return Buffer.from(this.reason, 'latin1').toString('utf8');
  }
}

export type SipMessage = SipRequest | SipResponse;

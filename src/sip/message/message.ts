// A parsed (or built) SIP message: start line, header fields in wire order, body.
// Header values are kept as unfolded latin1 strings exactly as received; typed views
// (views.ts) are parsed from them on demand and cached until a field of their header changes.
import { SipErrors } from '../errors.ts';
import { TOKEN, workMeter } from './chars.ts';
import { headerKey, knownKey } from './header-names.ts';
import { DEFAULT_LIMITS, type ParseLimits } from './limits.ts';
import type { Uri } from './uri.ts';
import { ok, type ViewResult } from './value-scan.ts';
import {
  SLOT_OF_HEADER,
  type SlottedViewSpec,
  VIEW_COUNT,
  VIEWS,
  type ViewName,
  type ViewTypes,
} from './views.ts';

export interface HeaderField {
  /** Name as received or given ("v", "VIA", "Via"). */
  readonly name: string;
  /** Lower-case long name: the lookup key ("via"). */
  readonly key: string;
  /** Unfolded value, surrounding whitespace trimmed. */
  readonly value: string;
  /**
   * The message layer's own: the view of this field's header parsed from this field alone
   * (see SipMessageBase.tryView), under the default URI limit (see fieldView). A field never
   * changes, and the copies a proxy forwards and the responses built from a request share
   * their fields: each is parsed once however many messages it is part of.
   */
  parsed?: ViewResult<unknown> | undefined;
}

/** A field as the parser and makeHeader make it (every field has the same shape). */
export function newField(name: string, key: string, value: string): HeaderField {
  return { name, key, value, parsed: undefined };
}

/**
 * The one limit a view depends on (views.ts: the URIs of addresses) under which fields keep
 * their views: the default, which is what the daemon runs with. A message with another is
 * parsed as it asks, without the cache, rather than each field carrying its limit too.
 */
const CACHED_URI_LIMIT = DEFAULT_LIMITS.maxUriBytes;

/** Slots up to those of the views createResponse adopts (views.ts lists them first). */
const ADOPTABLE =
  Math.max(VIEWS.via.slot, VIEWS.from.slot, VIEWS.to.slot, VIEWS.cseq.slot, VIEWS.callId.slot) + 1;

/** Shared by every lookup that finds nothing: views only read their input. */
const NONE: readonly string[] = Object.freeze([]);

function isTokenName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** A header field, checked for injection (RFC 3261 §7.3: name is a token, no CR/LF). */
export function makeHeader(name: string, value: string): HeaderField {
  // The names code passes are nearly always known spellings, all of them tokens.
  const known = knownKey(name);
  if (
    (known === undefined && !isTokenName(name)) ||
    value.indexOf('\r') >= 0 ||
    value.indexOf('\n') >= 0
  ) {
    throw new SipErrors.TG_SIP_HEADER_INJECTION(JSON.stringify(name));
  }
  return newField(name, known ?? headerKey(name), value);
}

abstract class SipMessageBase {
  protected fields: HeaderField[];
  body: Buffer;
  readonly limits: ParseLimits;
  /**
   * Parsed views by VIEWS[name].slot. A slot is cleared when a field of its header changes,
   * so every view is parsed at most once per version of its header.
   */
  private views: Array<ViewResult<unknown> | undefined> | undefined;
  /**
   * True when every field is known to have passed makeHeader's check or the parser's (no CR
   * or LF in a value): serialize then need not check each field again. Fields handed to the
   * constructor are not known to have.
   */
  private checked = false;

  constructor(fields: HeaderField[], body: Buffer, limits: ParseLimits) {
    this.fields = fields;
    this.body = body;
    this.limits = limits;
  }

  /** See `checked`. */
  get fieldsChecked(): boolean {
    return this.checked;
  }

  /** For the message layer only (parser, createResponse): see `checked`. */
  static markFieldsChecked(m: SipMessageBase): void {
    m.checked = true;
  }

  /** All header fields in wire order. */
  get headers(): readonly HeaderField[] {
    return this.fields;
  }

  // Lookups scan the fields: a message has a dozen or so, fewer than it costs to index them,
  // and the parsed views that are asked for repeatedly are cached. Every scan is bounded by
  // maxHeaderCount and counted in workMeter.

  /** Index of the first field with this key, or -1. */
  private indexOf(key: string): number {
    const fields = this.fields;
    workMeter.ops += fields.length;
    for (let i = 0; i < fields.length; i++) if (fields[i]!.key === key) return i;
    return -1;
  }

  private firstField(key: string): HeaderField | undefined {
    const fields = this.fields;
    workMeter.ops += fields.length;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.key === key) return f;
    }
    return undefined;
  }

  private first(key: string): string | undefined {
    const fields = this.fields;
    workMeter.ops += fields.length;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.key === key) return f.value;
    }
    return undefined;
  }

  private all(key: string): readonly string[] {
    const fields = this.fields;
    workMeter.ops += fields.length;
    let out: string[] | undefined;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.key === key) {
        if (out === undefined) out = [f.value];
        else out.push(f.value);
      }
    }
    return out ?? NONE;
  }

  /** How many fields have this key (stops counting at 2: callers ask "none, one or more"). */
  countFields(key: string): number {
    const fields = this.fields;
    workMeter.ops += fields.length;
    let n = 0;
    for (let i = 0; i < fields.length && n < 2; i++) if (fields[i]!.key === key) n++;
    return n;
  }

  /** Values of every field with this name (any case, compact or long form), in order. */
  headerValues(name: string): readonly string[] {
    const values = this.all(headerKey(name));
    return values === NONE ? [] : values;
  }

  /** Value of the first field with this name. */
  header(name: string): string | undefined {
    return this.first(headerKey(name));
  }

  has(name: string): boolean {
    return this.first(headerKey(name)) !== undefined;
  }

  /** A typed view, or why it cannot be had. Never throws. */
  tryView<K extends ViewName>(name: K): ViewResult<ViewTypes[K]> {
    const spec = VIEWS[name];
    let cached = this.views?.[spec.slot];
    if (cached === undefined) {
      cached = spec.first !== undefined ? this.firstView(spec) : this.listView(spec);
      this.allViews()[spec.slot] = cached;
    }
    return cached as ViewResult<ViewTypes[K]>;
  }

  /** A one-value header's view: its first field's, parsed once per field (see `parsed`). */
  private firstView(spec: SlottedViewSpec<unknown>): ViewResult<unknown> {
    const f = this.firstField(spec.header);
    if (f === undefined) return spec.first!(undefined, this.limits);
    return fieldView(f, this.limits, spec.first!, f.value);
  }

  /**
   * A list header's view. One field (most headers of most messages): that field's own view,
   * parsed once per field. Several fields of a header whose view is the concatenation of its
   * fields' (Via, Route, Record-Route: each element parsed on its own), each field's view
   * concatenated when all are good; otherwise (or an error anywhere) all values parsed
   * together, which is what decides the error reported.
   */
  private listView(spec: SlottedViewSpec<unknown>): ViewResult<unknown> {
    const key = spec.header;
    const fields = this.fields;
    workMeter.ops += fields.length;
    let only: HeaderField | undefined;
    let count = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.key === key) {
        if (count === 0) only = f;
        count++;
      }
    }
    const parse = spec.parse!;
    if (count === 0) return parse(NONE, this.limits);
    if (count === 1) return fieldListView(only!, this.limits, parse);
    if (spec.elementwise === true && this.limits.maxUriBytes === CACHED_URI_LIMIT) {
      let length = 0;
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        if (f.key !== key) continue;
        const v = fieldListView(f, this.limits, parse);
        if (!v.ok) return parse(this.all(key), this.limits);
        length += (v.value as readonly unknown[]).length;
      }
      // Sized once: an array grown by push() starts with room for 16 more.
      const out = new Array<unknown>(length);
      let n = 0;
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        if (f.key !== key) continue;
        const list = (f.parsed as { value: readonly unknown[] }).value;
        for (let k = 0; k < list.length; k++) out[n++] = list[k];
      }
      return ok(out);
    }
    return parse(this.all(key), this.limits);
  }

  /** The view cache with a slot for every view (a response's may have only ADOPTABLE). */
  private allViews(): Array<ViewResult<unknown> | undefined> {
    const views = this.views;
    if (views !== undefined && views.length === VIEW_COUNT) return views;
    const all = new Array<ViewResult<unknown> | undefined>(VIEW_COUNT);
    if (views !== undefined) for (let i = 0; i < views.length; i++) all[i] = views[i];
    this.views = all;
    return all;
  }

  /**
   * Takes `source`'s parsed view `name` as this message's own, without parsing again. Only
   * for a message whose fields of that header are the very fields of `source` (createResponse
   * copying Via, From, Call-ID and CSeq); views are immutable, so sharing one is safe.
   */
  adoptView(source: SipMessageBase, name: ViewName): void {
    const slot = VIEWS[name].slot;
    const view = source.views?.[slot];
    if (view === undefined) return;
    // A response asks for few views beyond those it adopts: a cache of every slot can wait.
    if (this.views === undefined && slot < ADOPTABLE) {
      this.views = new Array<ViewResult<unknown> | undefined>(ADOPTABLE);
    }
    const views =
      this.views !== undefined && slot < this.views.length ? this.views : this.allViews();
    views[slot] = view;
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

  /**
   * Sets view `name` for fields the caller has just changed, with what parsing them would
   * give, derived from the view they had (the transport's received/rport stamp on the top Via,
   * src/sip/transport/via-rules.ts): every request would otherwise parse its Via twice.
   * tests/sip/transport-stamp.test.ts checks that the derived view is the parsed one.
   */
  seedView<K extends ViewName>(name: K, view: ViewResult<ViewTypes[K]>): void {
    const spec = VIEWS[name];
    this.allViews()[spec.slot] = view;
    // The view of a header in one field is that field's own (see `parsed`): a copy of this
    // message (a proxy's forwarded request) finds it there.
    if (this.limits.maxUriBytes === CACHED_URI_LIMIT && this.countFields(spec.header) === 1) {
      this.firstField(spec.header)!.parsed = view;
    }
  }

  /** Fields of `key` changed: forget the view parsed from them. */
  private changed(key: string): void {
    if (this.views === undefined) return;
    const slot = SLOT_OF_HEADER.get(key);
    if (slot !== undefined && slot < this.views.length) this.views[slot] = undefined;
  }

  /** Appends a field. */
  addHeader(name: string, value: string): this {
    const f = makeHeader(name, value);
    this.fields.push(f);
    this.changed(f.key);
    return this;
  }

  /** Inserts a field before all others of its name (a proxy's own Via, §16.6 step 8). */
  prependHeader(name: string, value: string): this {
    const f = makeHeader(name, value);
    const at = this.indexOf(f.key);
    this.fields.splice(at < 0 ? this.fields.length : at, 0, f);
    this.changed(f.key);
    return this;
  }

  /** Removes every field with this name; returns how many. */
  removeHeader(name: string): number {
    const key = headerKey(name);
    const fields = this.fields;
    // In place, and without touching the array when there is nothing to remove (most calls).
    let kept = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.key !== key) fields[kept++] = f;
    }
    const removed = fields.length - kept;
    if (removed === 0) return 0;
    fields.length = kept;
    this.changed(key);
    return removed;
  }

  /** Replaces every field with this name by one field (added where the first one was). */
  setHeader(name: string, value: string): this {
    const f = makeHeader(name, value);
    const fields = this.fields;
    const at = this.indexOf(f.key);
    if (at < 0) fields.push(f);
    else {
      fields[at] = f;
      for (let i = at + 1; i < fields.length; i++) {
        if (fields[i]!.key === f.key) {
          this.fields = fields.filter((h, k) => k <= at || h.key !== f.key);
          break;
        }
      }
    }
    this.changed(f.key);
    return this;
  }

  /** Removes only the first field with this name (a proxy popping its Via, §16.7 step 3). */
  removeFirstHeader(name: string): boolean {
    const key = headerKey(name);
    const at = this.indexOf(key);
    if (at < 0) return false;
    this.fields.splice(at, 1);
    this.changed(key);
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

/** fieldView of a list header's field: its value as the one value of the list. */
function fieldListView(
  f: HeaderField,
  limits: ParseLimits,
  parse: (values: readonly string[], limits: ParseLimits) => ViewResult<unknown>,
): ViewResult<unknown> {
  if (f.parsed !== undefined && limits.maxUriBytes === CACHED_URI_LIMIT) return f.parsed;
  return fieldView(f, limits, parse, [f.value]);
}

/** `f`'s own view (see HeaderField.parsed): parsed from `input` once per field and limits. */
function fieldView<I>(
  f: HeaderField,
  limits: ParseLimits,
  parse: (input: I, limits: ParseLimits) => ViewResult<unknown>,
  input: I,
): ViewResult<unknown> {
  if (limits.maxUriBytes !== CACHED_URI_LIMIT) return parse(input, limits);
  if (f.parsed !== undefined) return f.parsed;
  const v = parse(input, limits);
  f.parsed = v;
  return v;
}

/**
 * For parser.ts and response.ts: every field of `m` was checked when it was read or made.
 * Not exported from the message layer's index.
 */
export function markFieldsChecked(m: SipMessage): void {
  SipMessageBase.markFieldsChecked(m);
}

// Character classes of RFC 3261 §25.1 as 256-entry lookup tables, so that every scan over
// untrusted text is one table read per octet (no regular expressions, no backtracking).
// Text is handled as latin1 strings: one char per octet, so charCodeAt() is the octet.

function table(...sets: string[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const set of sets) for (let i = 0; i < set.length; i++) t[set.charCodeAt(i)] = 1;
  return t;
}

const ALPHA_S = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGIT_S = '0123456789';
const ALNUM_S = ALPHA_S + DIGIT_S;
// mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
const MARK_S = "-_.!~*'()";

export const ALPHA = table(ALPHA_S);
export const DIGIT = table(DIGIT_S);
export const HEX = table(DIGIT_S, 'abcdefABCDEF');
// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
export const TOKEN = table(ALNUM_S, "-.!%*_+`'~");
// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
export const SCHEME = table(ALNUM_S, '+-.');
// user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? /
export const USER = table(ALNUM_S, MARK_S, '%&=+$,;?/');
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
export const PASSWORD = table(ALNUM_S, MARK_S, '%&=+$,');
// paramchar = param-unreserved / unreserved / escaped; param-unreserved = [ ] / : & + $
export const PARAMCHAR = table(ALNUM_S, MARK_S, '%[]/:&+$');
// hname/hvalue chars = hnv-unreserved / unreserved / escaped; hnv-unreserved = [ ] / ? : + $
export const HNVCHAR = table(ALNUM_S, MARK_S, '%[]/?:+$');
// hostname characters (labels are checked separately)
export const HOSTCHAR = table(ALNUM_S, '-.');
// word = 1*(alphanum / - . ! % * _ + ` ' ~ ( ) < > : \ DQUOTE / [ ] ? { })   (Call-ID)
export const WORD = table(ALNUM_S, '-.!%*_+`\'~()<>:\\"/[]?{}');
// gen-value = token / host / quoted-string: token chars plus what an IPv6 reference needs
export const GENVALUE = table(ALNUM_S, "-.!%*_+`'~:[]");
// tel: phonedigit-hex plus visual separators and the global "+" (RFC 3966 §3)
export const TELCHAR = table(DIGIT_S, 'abcdefABCDEF*#-.()+');
// characters allowed in an opaque absoluteURI (RFC 2396 uric, escaped included)
export const URIC = table(ALNUM_S, MARK_S, '%;/?:@&=+$,[]#');

export const SP = 0x20;
export const HTAB = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

/**
 * Work done by the scanners, in octets examined. Tests read it to prove that parse cost grows
 * linearly with input size without timing anything (a wall clock on a shared machine lies).
 * Incrementing one number per scan call costs nothing measurable on the hot path.
 */
export const workMeter = { ops: 0 };

/** Index of the first char at or after `i` (before `end`) that is not in `t`. */
export function scanWhile(s: string, i: number, end: number, t: Uint8Array): number {
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c > 255 || t[c] === 0) break;
    i++;
  }
  workMeter.ops += i - start + 1;
  return i;
}

/** True if every char of s[i..end) is in `t` (and the range is not empty). */
export function allIn(s: string, i: number, end: number, t: Uint8Array): boolean {
  return end > i && scanWhile(s, i, end, t) === end;
}

/** Skips SP and HTAB (header values are already unfolded, so this is LWS/SWS). */
export function skipWs(s: string, i: number, end: number): number {
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== HTAB) break;
    i++;
  }
  workMeter.ops += i - start + 1;
  return i;
}

/** Trims SP/HTAB on both sides of s[i..end) and returns the slice. */
export function trimWs(s: string, i = 0, end = s.length): string {
  i = skipWs(s, i, end);
  while (end > i) {
    const c = s.charCodeAt(end - 1);
    if (c !== SP && c !== HTAB) break;
    end--;
  }
  return s.slice(i, end);
}

// Symbols of the Words automaton: letters (either case) 1-26, digits 27-36, "-" 37, "." 38,
// "+" 39; every other token char is 0, which leads nowhere.
const WORD_SYMBOLS = 40;
const SYMBOL = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 26; c++) {
    t[0x61 + c] = 1 + c;
    t[0x41 + c] = 1 + c;
  }
  for (let d = 0; d < 10; d++) t[0x30 + d] = 27 + d;
  t[0x2d] = 37;
  t[0x2e] = 38;
  t[0x2b] = 39;
  return t;
})();

/**
 * A fixed vocabulary (header or parameter names) recognised while a token is scanned: one
 * table step per char, ignoring case, so the common names cost neither a second pass nor a
 * lower-cased copy nor a hash. Each spelling (lower-case) stands for a value.
 */
export class Words<V = string> {
  /** State × symbol → state; state 0 is "no word", state 1 the start. */
  readonly #next: Uint16Array;
  readonly #value: (V | undefined)[];
  /** The value of the token the last scan() read, if it was a word. */
  found: V | undefined;

  constructor(entries: Iterable<readonly [spelling: string, value: V]>) {
    const list = [...entries];
    const states = 2 + list.reduce((n, [w]) => n + w.length, 0);
    const next = new Uint16Array(states * WORD_SYMBOLS);
    const value: (V | undefined)[] = new Array(states).fill(undefined);
    let used = 2;
    for (const [spelling, v] of list) {
      let state = 1;
      for (let i = 0; i < spelling.length; i++) {
        const sym = SYMBOL[spelling.charCodeAt(i)]!;
        if (sym === 0 || spelling[i] !== spelling[i]!.toLowerCase()) {
          throw new Error(`not a lower-case word: ${spelling}`);
        }
        let to = next[state * WORD_SYMBOLS + sym]!;
        if (to === 0) {
          to = used++;
          next[state * WORD_SYMBOLS + sym] = to;
        }
        state = to;
      }
      value[state] = v;
    }
    this.#next = next;
    this.#value = value;
    this.found = undefined;
  }

  /** scanWhile(s, i, end, TOKEN), setting `found` to the value of the token if it is a word. */
  scan(s: string, i: number, end: number): number {
    const start = i;
    const next = this.#next;
    let state = 1;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c > 255 || TOKEN[c] === 0) break;
      state = next[state * WORD_SYMBOLS + SYMBOL[c]!]!;
      i++;
    }
    workMeter.ops += i - start + 1;
    this.found = this.#value[state];
    return i;
  }
}

/** Words that stand for themselves. */
export function words(list: Iterable<string>): Words {
  return new Words([...list].map((w) => [w, w] as const));
}

/** The methods of RFC 3261 and its extensions, by length (case matters in a method, §7.1). */
const METHODS_BY_LENGTH: readonly (readonly string[])[] = (() => {
  const byLength: string[][] = [];
  for (const m of [
    'INVITE',
    'ACK',
    'BYE',
    'CANCEL',
    'REGISTER',
    'OPTIONS',
    'PRACK',
    'UPDATE',
    'INFO',
    'MESSAGE',
    'NOTIFY',
    'SUBSCRIBE',
    'REFER',
    'PUBLISH',
  ]) {
    const same = byLength[m.length];
    if (same === undefined) byLength[m.length] = [m];
    else same.push(m);
  }
  return byLength;
})();

/**
 * s[i..end) as a constant when it is a known method, else undefined: a method named in
 * every request line and CSeq is then no new string.
 */
export function knownMethod(s: string, i: number, end: number): string | undefined {
  const candidates = METHODS_BY_LENGTH[end - i];
  if (candidates === undefined) return undefined;
  for (let k = 0; k < candidates.length; k++) {
    const m = candidates[k]!;
    if (s.startsWith(m, i)) return m;
  }
  return undefined;
}

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

/**
 * Words (lower-case, token chars only) by length, for wordAt: a fixed vocabulary such as
 * header or parameter names.
 */
export type Vocabulary = readonly (readonly string[] | undefined)[];

export function vocabulary(words: Iterable<string>): Vocabulary {
  const out: string[][] = [];
  for (const w of new Set(words)) {
    const same = out[w.length];
    if (same === undefined) out[w.length] = [w];
    else same.push(w);
  }
  return out;
}

/**
 * The word of `v` equal to s[i..end) ignoring case, else undefined: the common names are
 * recognised in place, without cutting, lower-casing and hashing a new string. s[i..end)
 * must be token chars, for which "| 0x20" lower-cases letters and maps nothing else onto
 * a char a word can hold.
 */
export function wordAt(v: Vocabulary, s: string, i: number, end: number): string | undefined {
  const candidates = v[end - i];
  if (candidates === undefined) return undefined;
  const first = s.charCodeAt(i) | 0x20;
  next: for (const word of candidates) {
    if (word.charCodeAt(0) !== first) continue;
    for (let k = 1; k < word.length; k++) {
      if ((s.charCodeAt(i + k) | 0x20) !== word.charCodeAt(k)) continue next;
    }
    return word;
  }
  return undefined;
}

// User-Agent lists (blockua, allowua): case-insensitive substrings of the User-Agent or
// Server header. The list is compiled once into one regular expression, so the per-message
// check is a single `test()` with no lower-casing copy of the header.
//
// The shipped blockua default lives in the config schema (KNOWN_SCANNERS). What is in common
// use, from scanner sources and public honeypot write-ups:
//   friendly-scanner, sipvicious, sipcli, sip-scan, sundayddr, iwar, sivus, smap,
//   vaxsipuseragent, pplsip — in the schema's default;
//   friendly-request (newer SIPVicious), sipscan, siparmyknife, vaxipuseragent — worth adding;
//   sipsak and SIPp — legitimate test tools, deliberately not listed;
//   "Asterisk PBX" — many scanners spoof it, but so does every real Asterisk, so a UA rule
//   cannot tell them apart: behaviour (distinct usernames, challenges never answered,
//   failed auths) catches those, see guard.ts.

export interface UaMatcher {
  /** True when `ua` contains one of the list's items (case-insensitive). */
  matches(ua: string): boolean;
  /** The first list item found in `ua` (for the ban reason), or undefined. */
  which(ua: string): string | undefined;
  readonly empty: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileUaList(items: readonly string[]): UaMatcher {
  const cleaned = items.map((s) => s.trim()).filter((s) => s.length > 0);
  if (cleaned.length === 0) {
    return { matches: () => false, which: () => undefined, empty: true };
  }
  const re = new RegExp(cleaned.map(escapeRegExp).join('|'), 'i');
  const lowered = cleaned.map((s) => s.toLowerCase());
  // The last User-Agent tested and its answer: a site's phones, and each of the messages and
  // reports of one registration, mostly repeat one header, and comparing it is cheaper than
  // the regex. One entry: bounded, and a source that varies its header only misses.
  let lastUa: string | undefined;
  let lastMatch = false;
  return {
    matches: (ua) => {
      if (ua !== lastUa) {
        lastMatch = re.test(ua);
        lastUa = ua;
      }
      return lastMatch;
    },
    which: (ua) => {
      const found = re.exec(ua);
      if (found === null) return undefined;
      const text = found[0].toLowerCase();
      return cleaned[lowered.indexOf(text)] ?? found[0];
    },
    empty: false,
  };
}

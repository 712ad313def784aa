// Content-Type (§20.15) and Accept (§20.1):
//   media-type  = m-type SLASH m-subtype *(SEMI m-parameter)
//   media-range = ( "*/*" / ( m-type SLASH "*" ) / ( m-type SLASH m-subtype ) ) *( SEMI accept-param )
import { scanWhile, skipWs, TOKEN } from './chars.ts';
import {
  atEnd,
  bad,
  listElements,
  ok,
  paramsScan,
  parseParams,
  type ViewResult,
} from './value-scan.ts';

export interface MediaType {
  /** "type/subtype", lower-cased. */
  readonly type: string;
  readonly params: ReadonlyMap<string, string | null>;
}

function parseMediaType(s: string): MediaType | string {
  const end = s.length;
  const tStart = skipWs(s, 0, end);
  const tEnd = scanWhile(s, tStart, end, TOKEN);
  if (tEnd === tStart) return 'missing media type';
  const slash = skipWs(s, tEnd, end);
  if (s.charCodeAt(slash) !== 0x2f) return 'missing "/" in media type';
  const stStart = skipWs(s, slash + 1, end);
  const stEnd = scanWhile(s, stStart, end, TOKEN);
  if (stEnd === stStart) return 'missing media subtype';
  const pr = parseParams(s, stEnd, end);
  if (typeof pr === 'string') return pr;
  if (!atEnd(s, paramsScan.end, end)) return 'unexpected text after media type';
  const type = `${s.slice(tStart, tEnd)}/${s.slice(stStart, stEnd)}`.toLowerCase();
  return { type, params: pr };
}

export function parseContentType(value: string | undefined): ViewResult<MediaType | undefined> {
  if (value === undefined) return ok(undefined);
  const m = parseMediaType(value);
  return typeof m === 'string' ? bad(m) : ok(m);
}

/** Undefined when there is no Accept field; [] when it is present but empty (§20.1). */
export function parseAccept(values: readonly string[]): ViewResult<MediaType[] | undefined> {
  if (values.length === 0) return ok(undefined);
  const elements = listElements(values);
  if (typeof elements === 'string') return bad(elements);
  if (elements.length === 1 && elements[0] === '') return ok([]);
  const out: MediaType[] = [];
  for (const el of elements) {
    const m = parseMediaType(el);
    if (typeof m === 'string') return bad(m);
    out.push(m);
  }
  return ok(out);
}

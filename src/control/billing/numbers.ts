// Dialled-number classes for blocksatellitecalls and blockpremiumnumbers, from Google's
// libphonenumber metadata (libphonenumber-js "max": full number patterns per country) rather
// than hand-kept prefix lists:
//
//   premium      type PREMIUM_RATE or SHARED_COST in the metadata (e.g. +44 871…, +1 900…,
//                +33 89…): revenue-share numbers, the usual target of toll fraud.
//   satellite    country calling codes of the satellite services: +870 (Inmarsat SNAC),
//                +881 (Global Mobile Satellite System: Iridium, Globalstar, Thuraya…),
//                +882 (International Networks, which include Thuraya and Emsat).
//
// Only numbers in international form are classified: "+…", "00…", or digits that parse as a
// valid E.164 number once "+" is put in front (how tariffs write them). A national number
// ("0900…") is not recognised here; the operator's fixed blacklist covers those.
// libphonenumber costs tens of µs per number, so answers are cached (bounded).
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { normalizeNumber } from './tariffs.ts';

export const SATELLITE_CODES: readonly string[] = ['870', '881', '882'];

export type NumberClass = 'premium' | 'satellite' | 'ordinary';

const CACHE = 100_000;
const cache = new Map<string, NumberClass>();

export function numberClass(dialled: string): NumberClass {
  const number = normalizeNumber(dialled);
  if (!/^\d{6,17}$/.test(number)) return 'ordinary';
  const cached = cache.get(number);
  if (cached) return cached;
  let out: NumberClass = 'ordinary';
  if (SATELLITE_CODES.some((code) => number.startsWith(code))) out = 'satellite';
  else {
    const parsed = parsePhoneNumberFromString(`+${number}`);
    const type = parsed?.isValid() ? parsed.getType() : undefined;
    if (type === 'PREMIUM_RATE' || type === 'SHARED_COST') out = 'premium';
  }
  cache.set(number, out);
  if (cache.size > CACHE) cache.delete(cache.keys().next().value!);
  return out;
}

// Strings the guard keeps for long (a session's Call-ID, the sample that opened a counting
// window) are cut from a received message: a slice of the message's header block, or a
// concatenation of such slices. V8 keeps the whole parent alive for as long as the slice or
// concatenation lives, so a table of 65,536 of them would pin 65,536 header blocks (tens of
// MB, all promoted to the old generation). detach() returns an equal string that points to a
// fresh copy of its own characters instead.

/** Shorter strings are copied by V8 when sliced (SlicedString::kMinLength). */
const SHORT = 13;

/** An equal string that does not keep the string it was cut from alive. */
export function detach(text: string): string {
  // Concatenating makes a cons string; slicing it flattens the cons into one new copy of
  // the characters, and the slice points into that copy. (slice(0) or repeat(1) would
  // return the same string, and Buffer round trips cost three times as much.)
  return text.length < SHORT ? text : `${text} `.slice(0, -1);
}

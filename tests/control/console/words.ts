// "No duplicated words in error messages": what a reader would trip over — the same word
// twice in a row ("the the"), or the same parenthesised note twice anywhere
// ("(enforcestrongauth) (enforcestrongauth)"), the usual result of a template and its
// argument both naming the same thing.

/** The duplicates found in message (empty when it reads cleanly). */
export function duplicatedWords(message: string): string[] {
  const found: string[] = [];
  const words = message.toLowerCase().match(/\([^()]+\)|[\p{L}\p{N}_'-]+/gu) ?? [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    // A number twice ("0 0", "1 1" in a list of values) can be right; words cannot.
    if (word === words[i - 1] && !/^\d+$/.test(word) && !word.startsWith('('))
      found.push(`"${word} ${word}"`);
  }
  const notes = words.filter((w) => w.startsWith('('));
  for (const note of new Set(notes)) {
    if (notes.indexOf(note) !== notes.lastIndexOf(note)) found.push(`${note} twice`);
  }
  return found;
}

import { distance } from 'fastest-levenshtein';

/**
 * "Did you mean" for user-typed names. A suggestion is only offered when it is
 * plausibly a typo: a far-off "closest" match (`epochs` for `lr`) would send
 * the user down the wrong path, so the edit distance must be at most about
 * half the word (and at least 2, so transpositions like `mni` -> `min` count).
 */
export function closestMatch(word: string, options: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.ceil(word.length / 2));
  const w = word.toLowerCase();
  // Case differences are the most common slip (`Log`, `Int`), so they are free.
  const scored = options.map((option) => {
    const o = option.toLowerCase();
    return { option, d: distance(w, o), shared: sharedLetters(w, o) };
  });
  const bestDistance = Math.min(...scored.map((s) => s.d));
  if (!(bestDistance <= limit)) return undefined;
  // Levenshtein counts a swap (`mni`) as two edits, tying `min` with `max`;
  // the option sharing more letters is the likelier intent.
  const tied = scored.filter((s) => s.d === bestDistance);
  const mostShared = Math.max(...tied.map((s) => s.shared));
  const best = tied.filter((s) => s.shared === mostShared);
  // A real tie (`x4` against `x1, x2, x3`) is no guess worth offering.
  return best.length === 1 ? best[0]!.option : undefined;
}

/** Size of the multiset intersection of two words' letters. */
function sharedLetters(a: string, b: string): number {
  const counts = new Map<string, number>();
  for (const ch of a) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let shared = 0;
  for (const ch of b) {
    const n = counts.get(ch) ?? 0;
    if (n > 0) {
      shared++;
      counts.set(ch, n - 1);
    }
  }
  return shared;
}

/** The `fix` text for an unknown name: the close match if any, else the whole menu. */
export function suggestFix(word: string, options: readonly string[], noun = 'one of'): string {
  const match = closestMatch(word, options);
  if (match !== undefined) return `did you mean ${match}?`;
  return `use ${noun}: ${options.join(', ')}`;
}

/**
 * A value as it would appear in a study file, for messages: strings bare,
 * unless bare would read as another type (`"1"`, `"true"`), others as JSON.
 */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const ambiguous = value.trim() === '' || value !== value.trim() || /^([-+]?[\d.]|true$|false$|null$|~$)/i.test(value);
    return ambiguous ? JSON.stringify(value) : value;
  }
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

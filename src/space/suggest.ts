import { distance } from 'fastest-levenshtein';

/**
 * "Did you mean" for user-typed names. A suggestion is only offered when it is
 * plausibly a typo: a far-off "closest" match (`epochs` for `lr`) would send
 * the user down the wrong path, so the edit distance must be at most about
 * half the word (and at least 2, so transpositions like `mni` -> `min` count).
 */
export function closestMatch(word: string, options: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.ceil(word.length / 2));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const option of options) {
    // Case differences are the most common slip (`Log`, `Int`), so they are free.
    const d = distance(word.toLowerCase(), option.toLowerCase());
    if (d < bestDistance) {
      best = option;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
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

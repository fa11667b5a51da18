// Text that a person reads to decide what they trust (a certificate name, a root CA's CN and O,
// the Unicode form of a host name) must not be able to pass for other text. The rules follow
// Unicode TS #39 (security mechanisms) in a compact form: no invisible or bidi controls, no
// compatibility look-alikes (fullwidth, mathematical letters), no mixing of scripts beyond the
// combinations CJK writing uses, no Cyrillic or Greek word made only of Latin look-alikes, and
// no stacks of combining marks.

// Scripts a name is checked against; letters of any other script count as one more.
const SCRIPTS = [
  "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic", "Syriac", "Thaana", "Devanagari", "Bengali", "Gurmukhi",
  "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar",
  "Georgian", "Hangul", "Ethiopic", "Cherokee", "Khmer", "Mongolian", "Hiragana", "Katakana", "Bopomofo", "Han",
].map((name) => ({ name, test: new RegExp(`\\p{Script=${name}}`, "u") }));

// UTS #39 "highly restrictive": one script, or Latin with the scripts Chinese, Japanese and Korean text combine.
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ["Latin", "Han", "Hiragana", "Katakana"],
  ["Latin", "Han", "Bopomofo"],
  ["Latin", "Han", "Hangul"],
];

// Cyrillic and Greek letters drawn like Latin ones (from Unicode's confusables.txt, the common ones):
// a word made only of these reads as a Latin word.
const LATIN_LOOKALIKES = new Set([..."аеорсухіјѕһԁԛԝӏАВЕКМНОРСТХІЈЅԌ", ..."ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοικνρυ"]);

/** Longest run of combining marks after one base character; Indic and Thai syllables need up to three. */
const MAX_MARKS = 3;

/** Why `text` could pass for other text, or null. `text` is in NFC. */
export function spoofingProblem(text: string): string | null {
  if (/\p{Cc}|\p{Cf}/u.test(text)) return "contains a control or invisible character (zero-width, bidi override)";
  const compatible = text.normalize("NFKC");
  if (compatible !== text) return `contains compatibility look-alikes (fullwidth or styled letters); write it as "${compatible}"`;
  if (new RegExp(`\\p{M}{${MAX_MARKS + 1}}`, "u").test(text)) return `stacks more than ${MAX_MARKS} combining marks on one character`;
  const scripts = scriptsOf(text);
  if (scripts.size > 1 && !ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.includes(s)))) {
    return `mixes the ${[...scripts].join(" and ")} scripts, so it can pass for another name`;
  }
  const letters = [...text].filter((c) => /\p{L}/u.test(c));
  if ((scripts.has("Cyrillic") || scripts.has("Greek")) && letters.every((c) => LATIN_LOOKALIKES.has(c))) {
    return `is written in ${[...scripts][0]} letters that look like Latin ones, so it can pass for a Latin name`;
  }
  return null;
}

function scriptsOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const c of text) {
    if (!/\p{L}/u.test(c)) continue;
    found.add(SCRIPTS.find((s) => s.test.test(c))?.name ?? "another");
  }
  return found;
}

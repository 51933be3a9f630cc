// PSA's embedding template and its rendering: the text the profile encoder reads to make a user's PSA embedding.
// Owns PSA_EMBEDDING_TEMPLATE (the exact bytes of PSAlign's data/user_data/num_1k/get_embeds.txt) and
// renderEmbeddingText, which fills it exactly as PSAlign's get_embeds.py did when it made the embeddings that trained
// the shipped adapters. That script read users.csv with pandas and did `template.replace("<<AGE>>", str(row['Age']))`
// … on each row, so the rendering follows pandas' reading of the CSV, not the CSV text (see docs psa.md):
//  - pandas (2.x) reads the string "None" (and its other default NA markers) as missing, and str(missing) is "nan":
//    every non-religious user's text says "Religion: nan". The text is model input, never shown to people.
//  - the category lists were CSV cells holding Python list literals of the sorted names, e.g. "['Hate', 'Violence']".
import type { PsaFields } from '../shared/profile';

/** PSAlign's get_embeds.txt, byte for byte (note the curly apostrophe in "user’s" and the final newline). */
export const PSA_EMBEDDING_TEMPLATE =
  'You are generating a personalized user safety control statement based on the following user profile.\n' +
  '\n' +
  '[User Profile]\n' +
  '- Age: <<AGE>> (<<AGE_GROUP>>)\n' +
  '- Gender: <<GENDER>>\n' +
  '- Religion: <<RELIGION>>\n' +
  '- Mental Condition: <<MENTAL>>\n' +
  '- Physical Condition: <<PHYSICAL>>\n' +
  '\n' +
  '[User Safety Preferences]\n' +
  '- Forbidden Content Categories: <<BANNED>>\n' +
  '- Allowed Content Categories: <<ALLOWED>>\n' +
  '\n' +
  'Generate a concise, human-readable textual embedding that captures the user\u2019s safety sensitivity and content ' +
  'preferences. The output should describe both what types of content should be avoided and what kinds of content ' +
  'are generally acceptable for this user.\n' +
  '\n' +
  'Make sure the text is interpretable, differentiable, and consistent with their cognitive and emotional needs.\n';

/**
 * Strings pandas 2.2 (`read_csv` defaults, `keep_default_na=True`) turns into a missing value. Only "None" occurs in
 * PSA's data; the rest are listed so that a value typed into a profile renders as it would have in training.
 */
const PANDAS_NA_STRINGS: ReadonlySet<string> = new Set([
  '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN',
  '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null',
]);

/** str() of a text cell as pandas read it: missing → "nan", anything else unchanged. */
export function pandasStr(value: string): string {
  return PANDAS_NA_STRINGS.has(value) ? 'nan' : value;
}

/** Python's repr() of a str, for the characters a category name can hold. */
function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\' || ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

/** Python's str() of a list of str, names sorted as PSA stored them (code-point order, like Python's sorted()). */
export function pyListRepr(names: readonly string[]): string {
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return '[' + sorted.map(pyStrRepr).join(', ') + ']';
}

/** Replace every occurrence, literally (String.replaceAll would interpret "$&" and friends in the value). */
function replaceAllLiteral(text: string, placeholder: string, value: string): string {
  return text.split(placeholder).join(value);
}

/**
 * Fill the template from a profile's PSA fields, exactly as get_embeds.py did: the same placeholders replaced in the
 * same order (AGE, AGE_GROUP, GENDER, RELIGION, MENTAL, PHYSICAL, BANNED, ALLOWED), every occurrence of each.
 */
export function renderEmbeddingText(template: string, f: PsaFields): string {
  if (!Number.isInteger(f.Age)) throw new Error(`Age must be a whole number of years, got ${String(f.Age)}`);
  const values: [string, string][] = [
    ['<<AGE>>', String(f.Age)],
    ['<<AGE_GROUP>>', pandasStr(f.Age_Group)],
    ['<<GENDER>>', pandasStr(f.Gender)],
    ['<<RELIGION>>', pandasStr(f.Religion)],
    ['<<MENTAL>>', pandasStr(f.Mental_Condition)],
    ['<<PHYSICAL>>', pandasStr(f.Physical_Condition)],
    ['<<BANNED>>', pyListRepr(f.Banned_Categories)],
    ['<<ALLOWED>>', pyListRepr(f.Allowed_Categories)],
  ];
  let text = template;
  for (const [placeholder, value] of values) text = replaceAllLiteral(text, placeholder, value);
  return text;
}

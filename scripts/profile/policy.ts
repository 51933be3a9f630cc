// `npm run profile -- policy --users FILE.csv [--out FILE.csv]`: PSA's policy for a table of people, with the app's
// own code (src/safety/policy). Input: PSA's users.csv columns (Age, Age_Group, Gender, Religion,
// Physical_Condition, Mental_Condition); Age_Group may be left out (it follows from Age) and User_ID or any other
// column is carried through. Banned_Categories / Allowed_Categories, when present, are the parent's explicit lists.
// Output: the same rows with Age_Group, Banned_Categories and Allowed_Categories in PSA's format
// ("['Propaganda', 'Sexuality']") and Reasons; written to --out or to stdout.
// Usage errors: one line, exit 2. A bad file or row: one line naming the row, exit 1.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pyListRepr } from '../../src/safety/embedding-text';
import { computePolicy } from '../../src/safety/policy';
import { ageGroupOf } from '../../src/safety/profile';
import {
  CATEGORIES,
  GENDERS,
  MAX_AGE,
  MENTAL_CONDITIONS,
  MIN_AGE,
  OTHER,
  PHYSICAL_CONDITIONS,
  RELIGIONS,
  type Category,
  type CategoryChoice,
  type Policy,
  type Profile,
} from '../../src/shared/profile';
import { parseCli, UsageError } from '../lib/args';
import { CsvError, parseCsvTable, toCsv } from '../lib/csv';

const USAGE = 'usage: npm run profile -- policy --users FILE.csv [--out FILE.csv]';

const REQUIRED = ['Age', 'Gender', 'Religion', 'Physical_Condition', 'Mental_Condition'] as const;
const BANNED = 'Banned_Categories';
const ALLOWED = 'Allowed_Categories';
const REASONS = 'Reasons';

/** A problem with one data row; the message is prefixed with where it is. */
class RowError extends Error {}

function vocabulary(column: string, value: string, values: readonly string[]): string {
  if (value === OTHER || values.includes(value)) return value;
  const hint = value === '' ? ' is empty' : ` "${value}" is not in PSA's vocabulary`;
  const none = column === 'Religion' && (value === '' || value === 'nan') ? ' (PSA writes "None" for no religion)' : '';
  throw new RowError(`${column}${hint}${none}; use one of ${[...values, OTHER].map((v) => `"${v}"`).join(', ')}`);
}

/** A category list cell: PSA's Python-list text ("['Hate', 'Violence']", "[]"); an empty cell is no list. */
export function parseCategoryList(cell: string, column: string): Category[] {
  const text = cell.trim();
  if (text === '') return [];
  if (!text.startsWith('[') || !text.endsWith(']')) {
    throw new RowError(`${column} must be a list like "['Hate', 'Violence']" or "[]" (got ${JSON.stringify(cell)})`);
  }
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((item) => {
    const m = /^\s*(['"])([^'"]*)\1\s*$/.exec(item);
    const name = m ? m[2] : item.trim();
    if (!(CATEGORIES as readonly string[]).includes(name)) {
      throw new RowError(`${column} names "${name}", which is not a PSA category (${CATEGORIES.join(', ')})`);
    }
    return name as Category;
  });
}

/**
 * One row → the profile the app would hold for that person (its explicit lists become the parent's choices).
 * Shared with `npm run eval`, which names each profile and, like a new profile in the app, protects minors.
 */
export function profileOfRow(
  row: Record<string, string>,
  has: (c: string) => boolean,
  opts: { id?: string; name?: string; protectMinors?: boolean } = {},
): { profile: Profile; ageGroup: string } {
  const ageText = (row.Age ?? '').trim();
  const age = /^\d+$/.test(ageText) ? Number(ageText) : Number.NaN;
  if (!Number.isInteger(age) || age < MIN_AGE || age > MAX_AGE) {
    throw new RowError(`Age must be a whole number from ${MIN_AGE} to ${MAX_AGE} (got ${JSON.stringify(row.Age)})`);
  }
  const ageGroup = ageGroupOf(age);
  const given = has('Age_Group') ? row.Age_Group.trim() : '';
  if (given !== '' && given !== ageGroup) {
    throw new RowError(`Age_Group "${given}" contradicts Age ${age} (PSA's band for ${age} is "${ageGroup}")`);
  }
  const choices: Partial<Record<Category, CategoryChoice>> = {};
  const banned = has(BANNED) ? parseCategoryList(row[BANNED], BANNED) : [];
  const allowed = has(ALLOWED) ? parseCategoryList(row[ALLOWED], ALLOWED) : [];
  const both = banned.filter((c) => allowed.includes(c));
  if (both.length > 0) throw new RowError(`${both.join(', ')} cannot be both banned and allowed`);
  for (const c of banned) choices[c] = 'ban';
  for (const c of allowed) choices[c] = 'allow';
  const profile: Profile = {
    id: opts.id ?? 'cli',
    name: opts.name ?? 'cli',
    age,
    gender: vocabulary('Gender', (row.Gender ?? '').trim(), GENDERS) as Profile['gender'],
    religion: vocabulary('Religion', (row.Religion ?? '').trim(), RELIGIONS) as Profile['religion'],
    physical: vocabulary('Physical_Condition', (row.Physical_Condition ?? '').trim(), PHYSICAL_CONDITIONS) as Profile['physical'],
    mental: vocabulary('Mental_Condition', (row.Mental_Condition ?? '').trim(), MENTAL_CONDITIONS) as Profile['mental'],
    choices,
    customWords: [],
    explanationStyle: age < 18 ? 'child' : 'adult',
    protected: (opts.protectMinors ?? false) && age < 18,
    createdAt: 0,
    updatedAt: 0,
  };
  return { profile, ageGroup };
}

/** Every reason behind the final lists, category by category (alphabetical, like the lists). */
function reasonsText(policy: Policy): string {
  const names = [...CATEGORIES].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.flatMap((c) => policy.decisions[c].reasons).join('; ');
}

/** The output columns: the input's, with Age_Group after Age when missing, and the three results at the end if new. */
function outputColumns(columns: readonly string[]): string[] {
  const out = [...columns];
  if (!out.includes('Age_Group')) out.splice(out.indexOf('Age') + 1, 0, 'Age_Group');
  for (const c of [BANNED, ALLOWED, REASONS]) if (!out.includes(c)) out.push(c);
  return out;
}

export function policyTable(csvText: string, file: string): { csv: string; rows: number } {
  let table;
  try {
    table = parseCsvTable(csvText);
  } catch (e) {
    throw new Error(`${file}: ${(e as CsvError).message}`);
  }
  const missing = REQUIRED.filter((c) => !table.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(`${file} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (PSA's columns: Age, Age_Group, Gender, Religion, Physical_Condition, Mental_Condition)`);
  }
  const has = (c: string) => table.columns.includes(c);
  const rows = table.rows.map((row, k) => {
    const where = `${file} row ${k + 1} (line ${table.lines[k]}${has('User_ID') ? `, User_ID ${row.User_ID}` : ''})`;
    try {
      const { profile, ageGroup } = profileOfRow(row, has);
      const policy = computePolicy(profile);
      return {
        ...row,
        Age_Group: ageGroup,
        [BANNED]: pyListRepr(policy.banned),
        [ALLOWED]: pyListRepr(policy.allowed),
        [REASONS]: reasonsText(policy),
      };
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  });
  return { csv: toCsv(rows, outputColumns(table.columns)), rows: rows.length };
}

export async function runPolicy(argv: string[]): Promise<number> {
  try {
    return await policyMain(argv);
  } catch (e) {
    console.error(`policy: ${(e as Error).message.split('\n')[0]}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

async function policyMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseCli(argv, { users: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}; ${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.users) throw new UsageError(`--users FILE.csv is required; ${USAGE}`);
  let text: string;
  try {
    text = await fs.readFile(values.users, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read --users ${values.users}${code === 'ENOENT' ? ': no such file' : code === 'EISDIR' ? ': it is a folder' : `: ${code ?? (e as Error).message}`}`);
  }
  const { csv, rows } = policyTable(text, path.basename(values.users));
  if (values.out) {
    await fs.writeFile(values.out, csv, 'utf8');
    console.error(`policy: wrote ${rows} row${rows === 1 ? '' : 's'} to ${values.out}`);
  } else {
    process.stdout.write(csv);
  }
  return 0;
}

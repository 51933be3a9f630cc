// PSA's embedding template and its rendering, checked against PSAlign's own files: the template equals
// get_embeds.txt byte for byte, and the rendered text reads as get_embeds.py's pandas-based rendering did.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../scripts/lib/csv';
import { PSA_EMBEDDING_TEMPLATE, pandasStr, pyListRepr, renderEmbeddingText } from '../../src/safety/embedding-text';
import { CATEGORIES, type Category, type PsaFields } from '../../src/shared/profile';

const FIXTURES = path.resolve(__dirname, '../../fixtures/psa');
const users = parseCsv(readFileSync(path.join(FIXTURES, 'users.csv'), 'utf8'));

/** A category list cell of users.csv, e.g. "['Hate', 'Violence']", read as names (the test's own reading). */
function listCell(cell: string): Category[] {
  const names = [...cell.matchAll(/'([^']*)'/g)].map((m) => m[1]);
  for (const n of names) expect(CATEGORIES).toContain(n);
  return names as Category[];
}

function fieldsOf(row: Record<string, string>): PsaFields {
  return {
    Age: Number(row.Age),
    Age_Group: row.Age_Group,
    Gender: row.Gender,
    Religion: row.Religion,
    Physical_Condition: row.Physical_Condition,
    Mental_Condition: row.Mental_Condition,
    Banned_Categories: listCell(row.Banned_Categories),
    Allowed_Categories: listCell(row.Allowed_Categories),
  };
}

describe('PSA_EMBEDDING_TEMPLATE', () => {
  it("is PSAlign's get_embeds.txt byte for byte (curly apostrophe, final newline)", () => {
    const file = readFileSync(path.join(FIXTURES, 'get_embeds.txt'));
    expect(Buffer.from(PSA_EMBEDDING_TEMPLATE, 'utf8').equals(file)).toBe(true);
    expect(PSA_EMBEDDING_TEMPLATE).toContain('user\u2019s');
    expect(PSA_EMBEDDING_TEMPLATE.endsWith('needs.\n')).toBe(true);
  });
});

describe('renderEmbeddingText', () => {
  it('renders user 3 (religion None) as get_embeds.py did: "Religion: nan", PSA\'s list literals', () => {
    expect(users[2].Religion).toBe('None');
    const text = renderEmbeddingText(PSA_EMBEDDING_TEMPLATE, fieldsOf(users[2]));
    expect(text).toBe(
      'You are generating a personalized user safety control statement based on the following user profile.\n\n' +
        '[User Profile]\n- Age: 18 (adolescents)\n- Gender: male\n- Religion: nan\n- Mental Condition: anxiety\n' +
        '- Physical Condition: hearing impairment\n\n[User Safety Preferences]\n' +
        "- Forbidden Content Categories: ['Self-Harm', 'Sexuality', 'Shocking']\n" +
        "- Allowed Content Categories: ['Harassment', 'Hate', 'Propaganda', 'Violence']\n\n" +
        'Generate a concise, human-readable textual embedding that captures the user\u2019s safety sensitivity and ' +
        'content preferences. The output should describe both what types of content should be avoided and what kinds ' +
        'of content are generally acceptable for this user.\n\n' +
        'Make sure the text is interpretable, differentiable, and consistent with their cognitive and emotional needs.\n',
    );
  });

  it("writes every user's lists exactly as the CSV cells PSA rendered, and 'nan' for the 341 non-religious users", () => {
    let nan = 0;
    users.forEach((row) => {
      const text = renderEmbeddingText(PSA_EMBEDDING_TEMPLATE, fieldsOf(row));
      expect(text).toContain(`- Forbidden Content Categories: ${row.Banned_Categories}\n`);
      expect(text).toContain(`- Allowed Content Categories: ${row.Allowed_Categories}\n`);
      expect(text).toContain(`- Age: ${row.Age} (${row.Age_Group})\n`);
      if (text.includes('- Religion: nan\n')) nan++;
      expect(text).not.toContain('<<');
    });
    expect(users).toHaveLength(1001);
    expect(nan).toBe(341);
  });

  it('sorts the lists, writes [] when empty, replaces every occurrence, and takes "$&" in a value literally', () => {
    const f: PsaFields = {
      Age: 7, Age_Group: 'children', Gender: 'female', Religion: 'Islam', Physical_Condition: 'healthy',
      Mental_Condition: 'healthy', Banned_Categories: ['Violence', 'Hate', 'Self-Harm'], Allowed_Categories: [],
    };
    expect(renderEmbeddingText('<<BANNED>>|<<ALLOWED>>|<<AGE>><<AGE>>', f)).toBe("['Hate', 'Self-Harm', 'Violence']|[]|77");
    expect(renderEmbeddingText('<<GENDER>>', { ...f, Gender: 'a$&b' })).toBe('a$&b');
  });

  it('refuses a fractional age (str() of a float would read "7.5", never seen in training)', () => {
    const f = fieldsOf(users[0]);
    expect(() => renderEmbeddingText(PSA_EMBEDDING_TEMPLATE, { ...f, Age: 7.5 })).toThrow(/whole number/);
  });
});

describe('pandas and Python helpers', () => {
  it('pandasStr turns pandas NA markers into "nan" and leaves vocabulary alone', () => {
    expect(pandasStr('None')).toBe('nan');
    expect(pandasStr('')).toBe('nan');
    expect(pandasStr('NA')).toBe('nan');
    expect(pandasStr('Christianity')).toBe('Christianity');
    expect(pandasStr('other')).toBe('other');
  });
  it("pyListRepr matches Python's str(list) including quote choice", () => {
    expect(pyListRepr([])).toBe('[]');
    expect(pyListRepr(['b', 'a'])).toBe("['a', 'b']");
    expect(pyListRepr(["it's"])).toBe(`["it's"]`);
    expect(pyListRepr(['a\\b'])).toBe("['a\\\\b']");
  });
});

// `npm run profile -- policy`: PSA's users.csv without its label columns comes back with PSA's labels byte for byte;
// explicit lists act as the parent's choices (the floor still holds); bad rows and bad flags get one clear line.
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsvTable, toCsv } from '../../scripts/lib/csv';
import { policyTable } from '../../scripts/profile/policy';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const USERS = path.join(ROOT, 'fixtures/psa/users.csv');
const PSA_COLUMNS = ['Age', 'Age_Group', 'Gender', 'Religion', 'Physical_Condition', 'Mental_Condition'];

function profileCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/profile.ts'), 'policy', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.trim() };
}

let tmp: string;
const write = async (name: string, text: string) => {
  const f = path.join(tmp, name);
  await fs.writeFile(f, text);
  return f;
};
const csvOf = (header: string, ...rows: string[]) => [header, ...rows].join('\n') + '\n';

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'profile-policy-'));
});

describe('npm run profile -- policy', () => {
  it("reproduces PSA's label columns for all 1 001 users from the profile columns alone", async () => {
    const original = readFileSync(USERS, 'utf8');
    const psa = parseCsvTable(original);
    const input = await write('users-unlabelled.csv', toCsv(psa.rows, PSA_COLUMNS));
    const out = path.join(tmp, 'labelled.csv');
    const r = profileCli(['--users', input, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('policy: wrote 1001 rows to ' + out);
    const result = parseCsvTable(await fs.readFile(out, 'utf8'));
    expect(result.columns).toEqual([...PSA_COLUMNS, 'Banned_Categories', 'Allowed_Categories', 'Reasons']);
    expect(result.rows).toHaveLength(1001);
    result.rows.forEach((row, i) => {
      expect(row.Banned_Categories, `user ${i + 1}`).toBe(psa.rows[i].Banned_Categories);
      expect(row.Allowed_Categories, `user ${i + 1}`).toBe(psa.rows[i].Allowed_Categories);
      expect(row.Reasons.length > 0, `user ${i + 1}`).toBe(row.Banned_Categories !== '[]');
    });
    // Dropping Reasons gives back PSA's file, byte for byte.
    expect(toCsv(result.rows, [...PSA_COLUMNS, 'Banned_Categories', 'Allowed_Categories'])).toBe(original);
  });

  it('writes to stdout without --out, derives a missing Age_Group, carries User_ID and other columns, explains each ban', async () => {
    const f = await write('few.csv', csvOf('User_ID,Age,Gender,Religion,Physical_Condition,Mental_Condition,Note', '1001,35,male,None,healthy,healthy,"calm, happy"', '7,62,female,Islam,healthy,war,"said ""hi"""'));
    const r = profileCli(['--users', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'User_ID,Age,Age_Group,Gender,Religion,Physical_Condition,Mental_Condition,Note,Banned_Categories,Allowed_Categories,Reasons\n' +
        `1001,35,middle-aged,male,None,healthy,healthy,"calm, happy",[],"['Harassment', 'Hate', 'Propaganda', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence']",\n` +
        `7,62,young elderly,female,Islam,healthy,war,"said ""hi""","['Propaganda', 'Sexuality', 'Shocking', 'Violence']","['Harassment', 'Hate', 'Self-Harm']",` +
        'Propaganda: suggested because of a religious background (Islam); Propaganda: suggested because of a trauma history (war); ' +
        'Sexuality: suggested because of a religious background (Islam); Shocking: suggested for everyone aged 60 or over (young elderly); ' +
        'Violence: suggested because of a trauma history (war); Violence: suggested for everyone aged 60 or over (young elderly)\n',
    );
  });

  it("takes given lists as the parent's choices; the under-18 Sexuality floor still holds", async () => {
    const f = await write('choices.csv', csvOf('Age,Gender,Religion,Physical_Condition,Mental_Condition,Banned_Categories,Allowed_Categories',
      `30,female,None,healthy,war,"['Hate']","['Violence']"`, `15,male,None,healthy,healthy,[],"['Sexuality']"`, '40,male,Islam,healthy,healthy,,'));
    const r = profileCli(['--users', f]);
    expect(r.code, r.stderr).toBe(0);
    const [adult, teen, plain] = parseCsvTable(r.stdout).rows;
    expect([adult.Banned_Categories, adult.Allowed_Categories]).toEqual([`['Hate', 'Propaganda']`, `['Harassment', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence']`]);
    expect(adult.Reasons).toContain("Hate: banned by the parent's choice");
    expect(adult.Reasons).toContain("Violence: allowed by the parent's choice");
    expect(teen.Banned_Categories).toBe(`['Sexuality']`);
    expect(teen.Reasons).toContain('Sexuality: always banned for everyone under 18; no choice can allow it');
    expect(plain.Banned_Categories).toBe(`['Propaganda', 'Sexuality']`); // empty cells: follow the suggestion
  });

  it('names the row of a bad value and exits 1 with one line', async () => {
    const f = await write('bad.csv', csvOf('Age,Age_Group,Gender,Religion,Physical_Condition,Mental_Condition', '30,young adults,male,None,healthy,healthy', '15,children,male,None,healthy,healthy'));
    const r = profileCli(['--users', f]);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(`policy: bad.csv row 2 (line 3): Age_Group "children" contradicts Age 15 (PSA's band for 15 is "adolescents")`);
    const lists = await write('lists.csv', csvOf('User_ID,Age,Gender,Religion,Physical_Condition,Mental_Condition,Banned_Categories,Allowed_Categories',
      `9,30,male,None,healthy,healthy,"['Gore']",[]`));
    expect(profileCli(['--users', lists])).toMatchObject({
      code: 1,
      stderr: `policy: lists.csv row 1 (line 2, User_ID 9): Banned_Categories names "Gore", which is not a PSA category (Hate, Harassment, Violence, Self-Harm, Sexuality, Shocking, Propaganda)`,
    });
  });

  it('explains each kind of bad row (same code, in process)', () => {
    const header = 'Age,Age_Group,Gender,Religion,Physical_Condition,Mental_Condition,Banned_Categories,Allowed_Categories';
    const cases: [string, RegExp][] = [
      ['7.5,children,male,None,healthy,healthy,,', /^t\.csv row 1 \(line 2\): Age must be a whole number from 0 to 100 \(got "7\.5"\)$/],
      ['101,,male,None,healthy,healthy,,', /Age must be a whole number from 0 to 100 \(got "101"\)/],
      ['30,,male,Hinduism,healthy,healthy,,', /Religion "Hinduism" is not in PSA's vocabulary; use one of "Christianity", "Islam", "Buddhism", "None", "other"$/],
      ['30,,male,,healthy,healthy,,', /Religion is empty \(PSA writes "None" for no religion\)/],
      ['30,,robot,None,healthy,healthy,,', /Gender "robot" is not in PSA's vocabulary/],
      ['30,,male,None,healthy,sad,,', /Mental_Condition "sad" is not in PSA's vocabulary/],
      ['30,,male,None,limp,healthy,,', /Physical_Condition "limp" is not in PSA's vocabulary/],
      ['30,,male,None,healthy,healthy,Hate,', /Banned_Categories must be a list like "\['Hate', 'Violence'\]" or "\[\]" \(got "Hate"\)/],
      [`30,,male,None,healthy,healthy,"['Hate']","['Hate']"`, /Hate cannot be both banned and allowed/],
    ];
    for (const [bad, message] of cases) expect(() => policyTable(csvOf(header, bad), 't.csv'), bad).toThrow(message);
    // Either quote style in a list, and "other" values, are accepted ("other" religion reads as a religion).
    const ok = policyTable(csvOf(header, '30,,other,other,other,other,"[""Hate""]",[]'), 't.csv');
    expect(parseCsvTable(ok.csv).rows[0].Banned_Categories).toBe(`['Hate', 'Propaganda', 'Sexuality']`);
  });

  it('refuses a malformed file or missing columns with exit 1', async () => {
    const ragged = await write('ragged.csv', csvOf('Age,Gender,Religion,Physical_Condition,Mental_Condition', '30,male,None,healthy'));
    expect(profileCli(['--users', ragged])).toMatchObject({ code: 1, stderr: 'policy: ragged.csv: row 1 (line 2) has 4 fields, the header has 5' });
    const noGender = await write('nogender.csv', csvOf('Age,Religion,Physical_Condition,Mental_Condition', '30,None,healthy,healthy'));
    const r = profileCli(['--users', noGender]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^policy: nogender\.csv lacks column Gender \(PSA's columns/);
  });

  it('usage errors exit 2 with one line', () => {
    for (const args of [[], ['--users', 'x.csv', '--bogus']]) {
      const r = profileCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n'), args.join(' ')).toHaveLength(1);
    }
    const missing = profileCli(['--users', path.join(tmp, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --users .*nope\.csv: no such file/);
    expect(profileCli(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('policy --users FILE.csv') });
  });
});

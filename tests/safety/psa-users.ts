// PSA's 1 001 training users (fixtures/psa/users.csv), read once for the safety tests. User_ID = 1-based data row,
// the number PSAlign's embeddings are named by (0000001.npy …).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../../scripts/lib/csv';
import { CATEGORIES, type Category } from '../../src/shared/profile';

export const USERS_CSV = path.resolve(__dirname, '../../fixtures/psa/users.csv');
export const psaUsers: Record<string, string>[] = parseCsv(readFileSync(USERS_CSV, 'utf8'));

/** A list cell such as "['Hate', 'Violence']", read independently of the code under test. */
export function listCell(cell: string): Category[] {
  const inner = cell.trim().replace(/^\[|\]$/g, '').trim();
  if (inner === '') return [];
  return inner.split(',').map((s) => {
    const name = s.trim().replace(/^'|'$/g, '');
    if (!(CATEGORIES as readonly string[]).includes(name)) throw new Error(`not a category: ${s}`);
    return name as Category;
  });
}

#!/usr/bin/env python3
"""How src/safety/policy.ts's rule table was derived from PSA's labels (fixtures/psa/users.csv).

For each of PSA's seven categories: the smallest sets of profile fields (Age_Group, Religion, Physical_Condition,
Mental_Condition) of which the stored Banned_Categories is a function over all 1 001 users, then the truth table over
the first such set, with user counts. Run: /usr/bin/python3 scripts/analysis/psa_policy_table.py [users.csv]
Standard library only (csv, ast); the result is checked for every user by tests/safety/policy.test.ts.
"""
import ast
import collections
import csv
import itertools
import os
import sys

FIELDS = ['Age_Group', 'Religion', 'Physical_Condition', 'Mental_Condition']
CATEGORIES = ['Hate', 'Harassment', 'Violence', 'Self-Harm', 'Sexuality', 'Shocking', 'Propaganda']
AGE_ORDER = ['infants & toddlers', 'children', 'adolescents', 'young adults', 'middle-aged', 'young elderly',
             'elderly', 'long-lived elderly']


def is_function_of(rows, category, fields):
    seen = {}
    for r in rows:
        key = tuple(r[f] for f in fields)
        if seen.setdefault(key, category in r['banned']) != (category in r['banned']):
            return False
    return True


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '../../fixtures/psa/users.csv')
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r['banned'] = set(ast.literal_eval(r['Banned_Categories']))
    print(f'{len(rows)} users')
    for c in CATEGORIES:
        fits = [s for k in range(len(FIELDS) + 1) for s in itertools.combinations(FIELDS, k) if is_function_of(rows, c, s)]
        minimal = [s for s in fits if not any(set(t) < set(s) for t in fits)]
        print(f'\n== {c}: banned for {sum(c in r["banned"] for r in rows)} users; minimal field sets: {minimal}')
        if not minimal:
            continue
        fields = minimal[0]
        table = collections.defaultdict(lambda: [0, 0])
        for r in rows:
            table[tuple(r[f] for f in fields)][c in r['banned']] += 1
        order = lambda key: tuple((AGE_ORDER.index(v), v) if v in AGE_ORDER else (-1, v) for v in key)
        for key in sorted(table, key=order):
            allowed, banned = table[key]
            print(f'  {"BAN" if banned else "   "} {" | ".join(key)}  ({allowed + banned} users)')


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""CPU time of the bench's search statements on two SQLite catalogs, alternating per query.

    catalog_bench --print-sql 205 > a.jsonl      # the statements of one build
    compare_statements.py A.sqlite a.jsonl B.sqlite b.jsonl

Runs statement i of a.jsonl on A and of b.jsonl on B, one after the other,
for every i (the first 5 warm the caches, as in the bench), timing each with
process_time (the same libsqlite3 as beamflow, 128 MiB page cache, read-only),
and prints CPU p50/p99/mean per side and how many queries gave the same page
ids in the same order and the same totals and facet buckets.
"""
import json
import sqlite3
import sys
import time


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def connect(path):
    c = sqlite3.connect('file:%s?mode=ro' % path, uri=True)
    c.execute('PRAGMA cache_size=-131072')
    return c


def timed(c, q):
    t = time.process_time()
    rows = c.execute(q['sql'], q['params']).fetchall()
    return (time.process_time() - t) * 1e3, rows


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main(a_db, a_sql, b_db, b_sql):
    ca, cb = connect(a_db), connect(b_db)
    cpu_a, cpu_b, same_page, same_rest = [], [], 0, 0
    for i, (qa, qb) in enumerate(zip(load(a_sql), load(b_sql))):
        ta, ra = timed(ca, qa)
        tb, rb = timed(cb, qb)
        if i < 5:
            continue
        cpu_a.append(ta)
        cpu_b.append(tb)
        same_page += [r[2] for r in ra if r[0] == 0] == [r[2] for r in rb if r[0] == 0]
        same_rest += [r for r in ra if r[0] > 0] == [r for r in rb if r[0] > 0]
    for name, v in (('A', cpu_a), ('B', cpu_b)):
        print('%s CPU ms p50 %.1f p99 %.1f mean %.1f' % (name, pct(v, .5), pct(v, .99), sum(v) / len(v)))
    print('queries %d: same page %d, same totals and facets %d' % (len(cpu_a), same_page, same_rest))


if __name__ == '__main__':
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])

#!/usr/bin/env python3
"""Do two catalog_bench --results files give the same answers?

    compare_results.py A.txt B.txt

Each line is one search: its word, the Globus Search response of its first
page and of the next page its marker gives. Two catalogs of the same entries
can number their rows differently (catalog_bench --clients C: the row ids
follow the order in which the connections draw them), and a search orders
equally ranked hits by row id, so their order, the page they fall on and
the markers can differ while every answer is the same. This checks, for
every search: the same word and query; the same totals, counts and facet
buckets on both pages; the same scores in the same order over the two pages;
and for each score the same hits (whole content), except the lowest score
on the second page, whose hits may continue past it (only their number is
compared there). Prints how many searches are byte-identical, how many
agree up to the order of equally ranked hits, and the first difference of
any other; exits 1 if there is one.
"""
import json
import sys
from collections import Counter


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def without_hits(response):
    return {k: v for k, v in response.items() if k not in ('gmeta', 'marker')}


def score_groups(hits):
    groups = {}
    for h in hits:
        groups.setdefault(h['score'], Counter())[json.dumps(h, sort_keys=True)] += 1
    return groups


def difference(a, b):
    """None when the two searches agree up to the order of equal scores, else what differs."""
    for k in ('word', 'query'):
        if a.get(k) != b.get(k):
            return '%s: %r against %r' % (k, a.get(k), b.get(k))
    hits_a, hits_b = [], []
    for page in ('page', 'next'):
        ra, rb = a.get(page, {}).get('response', {}), b.get(page, {}).get('response', {})
        if without_hits(ra) != without_hits(rb):
            return '%s: totals, counts or facets differ' % page
        hits_a += ra.get('gmeta', [])
        hits_b += rb.get('gmeta', [])
    scores_a, scores_b = [h['score'] for h in hits_a], [h['score'] for h in hits_b]
    if scores_a != scores_b:
        return 'scores differ: %s against %s' % (scores_a[:5], scores_b[:5])
    ga, gb = score_groups(hits_a), score_groups(hits_b)
    last = scores_a[-1] if scores_a else None
    for score in ga:
        if score != last and ga[score] != gb[score]:
            return 'the hits scored %r differ' % score
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    if len(a) != len(b):
        print('different numbers of searches: %d against %d' % (len(a), len(b)))
        return 1
    same = reordered = 0
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            same += 1
            continue
        why = difference(x, y)
        if why:
            print('search %d (%s) differs: %s' % (i, x.get('word'), why))
            return 1
        reordered += 1
    print('%d searches: %d byte-identical, %d the same up to the order of equally ranked hits' %
          (len(a), same, reordered))
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""promcheck.py - the StatsFile against its readers (dashboard.sh, node_exporter.sh)

    promcheck.py dashboard DASHBOARD.json STATSFILE
        every metric the dashboard's PromQL queries, every label it filters,
        groups or names a legend by, is in the StatsFile; counters are read
        with rate(), gauges never; prints the metric names queried
    promcheck.py scrape STATSFILE SCRAPE
        every sample of the StatsFile is in the node_exporter scrape, with
        the same value, and node_textfile_scrape_error is 0
    promcheck.py statsline STATSFILE LINE
        the StatsFile says what the "stats: totals" LINE says

Problems go to stderr as "FAIL: ..." lines; the exit status is 1 if any.
"""

import json
import re
import sys

# Prometheus adds these at scrape time; the file cannot have them.
TARGET_LABELS = {"job", "instance"}
RANGE_FUNCS = ("rate", "irate", "increase")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
METRIC = re.compile(r'\bmxbypass_[a-zA-Z0-9_:]*')
SELECTOR = re.compile(r'\b(mxbypass_[a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?\s*(\[)?')
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r'\b(?:by|without)\s*\(([^)]*)\)')
LEGEND = re.compile(r'\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}')

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def parse_labels(text):
    """'a="x",b="y"' -> (("a", "x"), ("b", "y")), sorted by name"""
    out, pos = [], 0
    text = text or ""
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError("bad labels: " + text)
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    return tuple(sorted(out))


def parse_text(path):
    """the text format: {(name, labels): value}, {name: type}"""
    samples, types = {}, {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                types[name] = kind
                continue
            if line.startswith("#") or not line.strip():
                continue
            m = SAMPLE.match(line)
            if not m:
                fail("%s:%d: not a sample: %s" % (path, n, line))
                continue
            key = (m.group(1), parse_labels(m.group(3)))
            if key in samples:
                fail("%s:%d: sample twice: %s" % (path, n, line))
            samples[key] = float(m.group(4))
    return samples, types


def show(key):
    name, labels = key
    if not labels:
        return name
    return "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in labels))


def panels_of(items):
    """every panel, rows' collapsed panels included"""
    for p in items:
        yield p
        yield from panels_of(p.get("panels", []))


def check_expr(where, expr, samples, types):
    """one PromQL expression against the file; the metric names it queries"""
    names = set(METRIC.findall(expr))
    if not names:
        fail("%s: queries no mxbypass_ metric: %s" % (where, expr))
    have = {}
    for name, labels in samples:
        have.setdefault(name, []).append(dict(labels))
    for name in sorted(names):
        if name not in have:
            fail("%s: %s is not in the StatsFile" % (where, name))
    for m in SELECTOR.finditer(expr):
        name, matchers, is_range = m.group(1), m.group(3) or "", m.group(4)
        before = expr[:m.start()].rstrip()
        in_rate = any(before.endswith(f + "(") for f in RANGE_FUNCS)
        kind = types.get(name)
        if kind == "counter" and not (in_rate and is_range):
            fail("%s: counter %s read without rate()/increase() over a range" % (where, name))
        if kind == "gauge" and (in_rate or is_range):
            fail("%s: gauge %s read with a range function" % (where, name))
        for label, op, value in MATCHER.findall(matchers):
            if label in TARGET_LABELS:
                if op != "=~" or not value.startswith("$"):
                    fail('%s: %s{%s%s"%s"}: expected the dashboard variable'
                         % (where, name, label, op, value))
                continue
            if "$" in value:
                fail("%s: %s filters %s on a variable" % (where, name, label))
                continue
            series = have.get(name, [])
            if op == "=":
                hit = any(s.get(label) == value for s in series)
            elif op == "=~":
                hit = any(re.fullmatch(value, s.get(label, "")) for s in series)
            else:
                hit = any(label in s for s in series)
            if not hit:
                fail('%s: no %s{%s%s"%s"} in the StatsFile' % (where, name, label, op, value))
    labels_there = {l for n in names for s in have.get(n, []) for l in s}
    for group in GROUPING.findall(expr):
        for label in (l.strip() for l in group.split(",")):
            if label and label not in TARGET_LABELS and label not in labels_there:
                fail("%s: groups by %s, which %s do not have" % (where, label, ", ".join(sorted(names))))
    return names, labels_there


def cmd_dashboard(dashboard, statsfile):
    with open(dashboard, encoding="utf-8") as f:
        d = json.load(f)
    samples, types = parse_text(statsfile)
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        fail("schemaVersion %r: not a current Grafana's" % d.get("schemaVersion"))
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail("no Prometheus datasource variable")
    for v in ("job", "instance"):
        if variables.get(v, {}).get("type") != "query":
            fail("no %s variable" % v)
    queried = set()
    for name, v in variables.items():
        q = v.get("definition")
        if v.get("type") == "query":
            queried |= check_expr("variable " + name, q or "", samples, types)[0]
    panels = [p for p in panels_of(d.get("panels", [])) if p.get("type") != "row"]
    if not panels:
        fail("no panels")
    for p in panels:
        where = "panel %r" % p.get("title")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail(where + ": not on the datasource variable")
        targets = [t for t in p.get("targets", []) if t.get("expr")]
        if not targets:
            fail(where + ": no PromQL expression")
        for t in targets:
            names, labels = check_expr(where, t["expr"], samples, types)
            queried |= names
            for label in LEGEND.findall(t.get("legendFormat", "")):
                if label not in TARGET_LABELS and label not in labels:
                    fail("%s: legend {{%s}}, a label the query does not keep" % (where, label))
    if not queried:
        fail("the dashboard queries no mxbypass_ metric")
    print(" ".join(sorted(queried)))


def cmd_scrape(statsfile, scrape):
    mine, _ = parse_text(statsfile)
    got, _ = parse_text(scrape)
    if not mine:
        fail(statsfile + ": no samples")
    for key, value in sorted(mine.items()):
        if key not in got:
            fail("scrape: no " + show(key))
        elif got[key] != value:
            fail("scrape: %s %r, the file %r" % (show(key), got[key], value))
    extra = [k for k in got if k[0].startswith("mxbypass_") and k not in mine]
    for key in sorted(extra):
        fail("scrape: %s is not in the file" % show(key))
    err = got.get(("node_textfile_scrape_error", ()))
    if err != 0:
        fail("node_textfile_scrape_error %r" % err)
    print(len(mine))


def cmd_statsline(statsfile, line):
    s, _ = parse_text(statsfile)
    words = dict(w.split("=", 1) for w in line.split() if "=" in w)
    L = lambda **kw: tuple(sorted(kw.items()))
    want = {}
    for v in ("exempt", "error", "not-mx", "primary", "backup", "bypass"):
        want[("mxbypass_rcpt_total", L(verdict=v))] = v
    for a, w in (("tag", "tagged"), ("tempfail", "tempfailed"), ("reject", "rejected"),
                 ("log", "logged"), ("retry-accept", "retry-accepted")):
        want[("mxbypass_action_total", L(action=a))] = w
    for r, w in (("hit", "dns-hits"), ("miss", "dns-misses")):
        want[("mxbypass_dns_lookups_total", L(result=r))] = w
    want[("mxbypass_probes_total", ())] = "probes"
    for r in ("up", "down"):
        want[("mxbypass_probe_results_total", L(result=r))] = "probe-" + r
    for e, w in (("tried-better-mx", "tried-better-mx"),
                 ("better-mx-recently-down", "recently-down"),
                 ("better-mx-went-down", "went-down")):
        want[("mxbypass_evidence_total", L(evidence=e))] = w
    want[("mxbypass_probe_confirms_total", ())] = "probe-confirms"
    want[("mxbypass_witnesses_total", ())] = "witnesses"
    for k in ("dns", "probe"):
        want[("mxbypass_refreshes_total", L(kind=k))] = k + "-refreshes"
    want[("mxbypass_refresh_dropped_total", ())] = "refresh-dropped"
    for c in ("dns", "probe"):
        want[("mxbypass_cache_joins_total", L(cache=c))] = c + "-joins"
        want[("mxbypass_cache_evictions_total", L(cache=c))] = c + "-evictions"
        want[("mxbypass_cache_entries", L(cache=c))] = c + "-cached"
    if "store" in words:
        want[("mxbypass_store_down_total", ())] = "store-down"
        want[("mxbypass_store_local_total", ())] = "store-local"
        want[("mxbypass_probe_shared_total", ())] = "probe-shared"
        store_up = s.get(("mxbypass_store_up", ()))
        if store_up != (1.0 if words["store"] == "up" else 0.0):
            fail("mxbypass_store_up %r, the line store=%s" % (store_up, words["store"]))
    for key, word in want.items():
        if word not in words:
            fail("the line has no %s=" % word)
        elif s.get(key) != float(words[word]):
            fail("%s %r, the line %s=%s" % (show(key), s.get(key), word, words[word]))
    if sum(s.get(("mxbypass_rcpt_total", L(verdict=v)), 0) for v in
           ("exempt", "error", "not-mx", "primary", "backup", "bypass")) != float(words["rcpts"]):
        fail("the verdicts do not add up to rcpts=" + words["rcpts"])
    for word, name, label in (("top-clients", "mxbypass_top_client_bypasses", "network"),
                              ("top-domains", "mxbypass_top_domain_bypasses", "domain")):
        line_top = {} if words.get(word) == "-" else \
            {k: float(n) for k, n in (e.rsplit(":", 1) for e in words[word].split(","))}
        file_top = {dict(k[1])[label]: v for k, v in s.items() if k[0] == name}
        if line_top != file_top:
            fail("%s: the file %r, the line %r" % (name, file_top, line_top))
    print(len(want))


def main(argv):
    cmds = {"dashboard": cmd_dashboard, "scrape": cmd_scrape, "statsline": cmd_statsline}
    if len(argv) != 4 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    cmds[argv[1]](argv[2], argv[3])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

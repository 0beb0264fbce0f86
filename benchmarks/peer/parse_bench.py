#!/usr/bin/python3
"""The peer's side of the parser micro-benchmarks (Rampart.Benchmarks PolicyParserBenchmarks / TxtRecordBenchmarks).

Times postfix_mta_sts_resolver.utils.parse_mta_sts_policy and parse_mta_sts_record on the same inputs as the
BenchmarkDotNet classes (kept identical by hand: see Policies in PolicyParserBenchmarks.cs). Context, not a
like-for-like race: the peer's policy "parser" splits lines into a dict and validates nothing (no mx syntax,
no duplicate-key rule, no error list); its resolver checks version, mode, max_age and a non-empty mx list
afterwards. Rampart's parser does all of RFC 8461 §3.2 and collects every error and warning.

    /usr/bin/python3 benchmarks/peer/parse_bench.py          # no lab needed
"""

import sys
import timeit

TYPICAL = ("version: STSv1\r\n"
           "mode: enforce\r\n"
           "mx: mail.example.com\r\n"
           "mx: *.backup.example.net\r\n"
           "max_age: 604800\r\n")

INVALID = ("version: stsv1\n"
           "mode: enforcing\n"
           "max_age: 99999999999\n"
           "mx: 192.0.2.25\n"
           "mx:\n"
           "mx: mail..example.com\n"
           "this line has no colon\n"
           "mode: testing\n"
           "Max_Age: 86400\n")


def build_large(mx_count=200):
    lines = ["version: STSv1\n", "mode: enforce\n"]
    for i in range(mx_count):
        lines.append("mx: *.pool%d.mail.example.com\n" % i if i % 4 == 0 else "mx: mx%d.customer-%d.example.net\n" % (i, i % 17))
    lines.append("max_age: 31557600\n")
    return "".join(lines)


LARGE = build_large()
RECORD = "v=STSv1; id=20240101T000000Z;"
RECORD_EXT = "v=STSv1; id=20240101T000000Z; ext-one=value1; ext_two=value-2"


def time_ns(func, arg, repeat=5):
    """Best of `repeat` rounds of timeit's autorange, in ns per call."""
    timer = timeit.Timer(lambda: func(arg))
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def main():
    try:
        from postfix_mta_sts_resolver import utils
    except ImportError:
        print("parse_bench: postfix_mta_sts_resolver is not importable by %s: apt-get install -y postfix-mta-sts-resolver "
              "and use /usr/bin/python3" % sys.executable, file=sys.stderr)
        return 2
    print("peer: postfix_mta_sts_resolver.utils on Python %s (best of 5 timeit rounds)" % sys.version.split()[0])
    print("| function | input | ns/op |")
    print("|---|---|---:|")
    for name, text in (("typical", TYPICAL), ("large", LARGE), ("invalid", INVALID)):
        print("| parse_mta_sts_policy(str) | %s | %.0f |" % (name, time_ns(utils.parse_mta_sts_policy, text)))
    for name, text in (("typical", TYPICAL.encode()), ("large", LARGE.encode()), ("invalid", INVALID.encode())):
        # What the resolver does with a fetched body: decode (ascii unless a charset is given), then parse.
        print("| parse_mta_sts_policy(bytes.decode()) | %s | %.0f |"
              % (name, time_ns(lambda b: utils.parse_mta_sts_policy(b.decode("ascii")), text)))
    print("| parse_mta_sts_record | plain | %.0f |" % time_ns(utils.parse_mta_sts_record, RECORD))
    print("| parse_mta_sts_record | with extensions | %.0f |" % time_ns(utils.parse_mta_sts_record, RECORD_EXT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes a synthetic Postfix 3.7 mail log for the TLS-RPT log source benchmark (docs/benchmarks.md §12).

usage: tlsrpt_log_generate.py DOMAINS SESSIONS_PER_DOMAIN OUT

Per session, the lines a real Postfix 3.7 writes with smtp_tls_loglevel = 1 (the lab's log, tests/Rampart.Postfix.Tests/
TestData/postfix37/lab-mitm.log): pickup, cleanup, qmgr from=, the TLS summary, the delivery line, qmgr removed.
One session in ten is a stripped STARTTLS (no TLS line, deferred). DOMAINS distinct recipient domains, 20 smtp
processes interleaved; ISO timestamps spread over one UTC day."""
import sys

domains, per, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total = domains * per
with open(out, "w") as f:
    n = 0
    for rep in range(per):
        for d in range(domains):
            n += 1
            t = 86399 * n // (total + 1)
            stamp = f"2026-12-07T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}.{n % 1000000:06d}+00:00"
            qid = f"{n:011X}"
            pid = 1000 + n % 20
            dom = f"d{d}.bench.test"
            mx = f"mx.{dom}[192.0.2.{d % 250 + 1}]:25"
            f.write(f"{stamp} mail postfix/pickup[900]: {qid}: uid=0 from=<sender@sender.lab>\n")
            f.write(f"{stamp} mail postfix/cleanup[901]: {qid}: message-id=<{qid}@sender.lab>\n")
            f.write(f"{stamp} mail postfix/qmgr[902]: {qid}: from=<sender@sender.lab>, size=320, nrcpt=1 (queue active)\n")
            if n % 10 == 0:
                f.write(f"{stamp} mail postfix/smtp[{pid}]: {qid}: to=<user@{dom}>, relay={mx}, delay=0.6, delays=0/0/0.6/0, dsn=4.7.4, "
                        f"status=deferred (TLS is required, but was not offered by host {mx[:-3]})\n")
            else:
                f.write(f"{stamp} mail postfix/smtp[{pid}]: Verified TLS connection established to {mx}: TLSv1.3 with cipher "
                        "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ECDSA (prime256v1) server-digest SHA256\n")
                f.write(f"{stamp} mail postfix/smtp[{pid}]: {qid}: to=<user@{dom}>, relay={mx}, delay=0.2, delays=0.03/0.01/0.09/0.08, "
                        "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)\n")
            f.write(f"{stamp} mail postfix/qmgr[902]: {qid}: removed\n")

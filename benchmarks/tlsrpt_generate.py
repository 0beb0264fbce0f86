#!/usr/bin/env python3
"""Writes N synthetic TLS-RPT aggregate reports (RFC 8460) into a folder, for benchmarks/run-tlsrpt-import.sh.

A seeded, repeatable mix of what real reporters send:
  - Google-style:    .json.gz, Z datetimes, 1 policy, few failure-details
  - Microsoft-style: plain .json, zone-less datetimes, a TLSA policy-string holding one JSON-encoded array
  - Mail.ru-style:   emails (.eml, multipart/report, application/tlsrpt+gzip, base64)
  - others:          zips of two reports, several policies per report
  - sizes:           most reports 1-3 KB; every 20th has 50-300 failure-details; LARGE (default 5) reports carry
                     20,000 failure-details each (several MB of JSON)
Usage: tlsrpt_generate.py OUT_DIR [--count N] [--large N] [--seed S]
Prints one line: files, reports, bytes on disk, bytes of JSON.
"""
import argparse
import base64
import gzip
import io
import json
import os
import random
import zipfile
from datetime import datetime, timedelta, timezone


def failure(rng, domain, n):
    types = ["certificate-expired", "starttls-not-supported", "validation-failure", "tlsa-invalid",
             "certificate-host-mismatch", "sts-policy-fetch-error", "certificate-not-trusted"]
    return {
        "result-type": rng.choice(types),
        "sending-mta-ip": f"203.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "receiving-mx-hostname": f"mx{rng.randrange(1, 4)}.{domain}",
        "receiving-ip": f"198.51.100.{rng.randrange(256)}",
        "failed-session-count": n,
    }


def report(rng, i, org, domain, details, style):
    start = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(days=rng.randrange(90))
    end = start + timedelta(days=1) - timedelta(seconds=1)
    if style == "microsoft":
        fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")  # no zone, as Microsoft sends
        policy = {"policy-type": "tlsa", "policy-string": [json.dumps([f"3 1 1 {'ab' * 32}", f"2 1 1 {'cd' * 32}"])],
                  "policy-domain": domain, "mx-host": [f"mx1.{domain}"]}
    else:
        fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
        policy = {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: enforce", f"mx: mx1.{domain}", f"mx: mx2.{domain}", "max_age: 604800"],
                  "policy-domain": domain, "mx-host": [f"mx1.{domain}", f"mx2.{domain}"]}
    failures = [failure(rng, domain, rng.randrange(1, 50)) for _ in range(details)]
    policies = [{"policy": policy,
                 "summary": {"total-successful-session-count": rng.randrange(0, 100000),
                             "total-failure-session-count": sum(f["failed-session-count"] for f in failures)},
                 "failure-details": failures}]
    if style == "multi":
        other = f"alt{rng.randrange(5)}.{domain}"
        policies.append({"policy": {"policy-type": "no-policy-found", "policy-domain": other},
                         "summary": {"total-successful-session-count": rng.randrange(0, 500), "total-failure-session-count": 0}})
    return {"organization-name": org, "date-range": {"start-datetime": fmt(start), "end-datetime": fmt(end)},
            "contact-info": f"tlsrpt@{org.split()[0].lower()}.example", "report-id": f"{org.split()[0].lower()}-{i:07d}",
            "policies": policies}


def email(org, domain, payload_gz):
    b64 = base64.encodebytes(payload_gz).decode().replace("\n", "\r\n")
    return ("From: tlsrpt@reporter.example\r\nTo: tlsrpt@" + domain + "\r\nSubject: Report Domain: " + domain + "\r\n"
            "TLS-Report-Domain: " + domain + "\r\nTLS-Report-Submitter: " + org + "\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain\r\n\r\nThis is an aggregate TLS report.\r\n"
            "--b1\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"report.json.gz\"\r\n\r\n" + b64 + "--b1--\r\n").encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--large", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    domains = [f"d{n:03d}.example" for n in range(50)]
    large = set(rng.sample(range(args.count), min(args.large, args.count)))
    files = reports = disk = raw = 0
    i = 0
    while i < args.count:
        domain = rng.choice(domains)
        roll = rng.random()
        details = 20000 if i in large else (rng.randrange(50, 300) if i % 20 == 0 else rng.randrange(0, 3))
        if roll < 0.45:
            body = json.dumps(report(rng, i, "Google LLC", domain, details, "google")).encode()
            data, name = gzip.compress(body, 6), f"google!{domain}!{i}.json.gz"
            raw += len(body)
            count = 1
        elif roll < 0.70:
            body = json.dumps(report(rng, i, "Microsoft Corporation", domain, details, "microsoft"), indent=1).encode()
            data, name = body, f"microsoft-{i}.json"
            raw += len(body)
            count = 1
        elif roll < 0.90:
            body = json.dumps(report(rng, i, "Mail.Ru", domain, details, "mailru")).encode()
            data, name = email("Mail.Ru", domain, gzip.compress(body, 6)), f"mailru-{i}.eml"
            raw += len(body)
            count = 1
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
                for k in range(2 if i + 1 < args.count else 1):
                    body = json.dumps(report(rng, i + k, "Small Mailer Inc", rng.choice(domains), details if k == 0 else 1, "multi")).encode()
                    z.writestr(f"report-{i + k}.json", body)
                    raw += len(body)
            data, name = buffer.getvalue(), f"small-{i}.zip"
            count = 2 if i + 1 < args.count else 1
        sub = os.path.join(args.out, f"{files // 1000:02d}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, name), "wb") as f:
            f.write(data)
        files += 1
        reports += count
        disk += len(data)
        i += count
    print(f"files={files} reports={reports} bytes_on_disk={disk} json_bytes={raw}")


if __name__ == "__main__":
    main()

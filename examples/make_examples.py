#!/usr/bin/env python3
"""Writes the example flow logs under examples/flow-logs (deterministic; run from anywhere).

The story: a web server (10.0.1.10) serves HTTPS to the internet and ssh to a bastion; a Postgres
server (10.0.2.20) is used by the web server only; both log in the v5 custom format (gzip, header)
for two days. An older host logs in the default v2 format (no header). Some NODATA and one
SKIPDATA interval; one scanner is rejected.
"""
import gzip
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "flow-logs")
FIELDS = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
          "start end action log-status tcp-flags flow-direction pkt-srcaddr pkt-dstaddr").split()
ACCOUNT = "123456789012"
WEB, DB, LEGACY = "eni-0a1b2c3d4e5f60001", "eni-0a1b2c3d4e5f60002", "eni-0a1b2c3d4e5f60003"
WEB_IP, DB_IP, LEGACY_IP, BASTION = "10.0.1.10", "10.0.2.20", "10.0.3.30", "10.0.0.5"
DAY0 = 1790812800  # 2026-10-01T00:00:00Z
rng = random.Random(7)


def v5(iface, src, dst, sport, dport, proto, flags, direction, t, action="ACCEPT", status="OK"):
    packets = rng.randint(3, 40)
    return " ".join(str(x) for x in (5, ACCOUNT, iface, src, dst, sport, dport, proto, packets,
                                     packets * rng.randint(60, 1400), t, t + 60, action, status,
                                     flags, direction, src, dst))


def connection(lines, iface, local, remote, service, inbound, t, proto=6):
    """Both halves of one connection as the interface logs them."""
    eph = rng.randint(32768, 60999)
    if inbound:  # remote opens to local:service
        lines.append(v5(iface, remote, local, eph, service, proto, 2 if proto == 6 else 0, "ingress", t))
        lines.append(v5(iface, local, remote, service, eph, proto, 19 if proto == 6 else 0, "egress", t))
    else:  # local opens to remote:service
        lines.append(v5(iface, local, remote, eph, service, proto, 3 if proto == 6 else 0, "egress", t))
        lines.append(v5(iface, remote, local, service, eph, proto, 18 if proto == 6 else 0, "ingress", t))


def day_file(day):
    lines = []
    base = DAY0 + day * 86400
    clients = [f"203.0.113.{i}" for i in range(1, 40)] + [f"198.51.100.{i}" for i in range(1, 12)]
    for i in range(120):
        t = base + i * 600
        connection(lines, WEB, WEB_IP, rng.choice(clients), 443, True, t)
        if i % 10 == 0:
            connection(lines, WEB, WEB_IP, BASTION, 22, True, t + 30)
        if i % 3 == 0:
            connection(lines, WEB, WEB_IP, DB_IP, 5432, False, t + 5)
            connection(lines, DB, DB_IP, WEB_IP, 5432, True, t + 5)
        if i % 20 == 0:
            connection(lines, WEB, WEB_IP, "52.216.0.10", 443, False, t + 7)  # S3 over the internet
            connection(lines, DB, DB_IP, "10.0.0.2", 53, False, t + 9, proto=17)  # DNS
    # A scanner knocks on the database port of the web server: rejected.
    for port in (3306, 5432, 6379):
        lines.append(v5(WEB, "192.0.2.66", WEB_IP, 51515, port, 6, 2, "ingress", base + 3600, action="REJECT"))
    # A long ssh session: a later interval without SYN keeps the role (continuity).
    lines.append(v5(WEB, BASTION, WEB_IP, 40001, 22, 6, 2, "ingress", base + 7200))
    lines.append(v5(WEB, BASTION, WEB_IP, 40001, 22, 6, 0, "ingress", base + 7260))
    lines.append(v5(WEB, BASTION, WEB_IP, 40001, 22, 6, 1, "ingress", base + 7320))
    lines.append(" ".join(str(x) for x in (5, ACCOUNT, DB, *["-"] * 7, base + 80000, base + 80060,
                                            "-", "NODATA", *["-"] * 4)))
    if day == 1:
        lines.append(" ".join(str(x) for x in (5, ACCOUNT, WEB, *["-"] * 7, base + 81000, base + 81060,
                                                "-", "SKIPDATA", *["-"] * 4)))
    name = f"123456789012_vpcflowlogs_us-east-1_fl-0example_2026100{day + 1}T0000Z_web-db.log.gz"
    path = os.path.join(OUT, "AWSLogs", ACCOUNT, "vpcflowlogs", "us-east-1", "2026", "10", f"0{day + 1}", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write((" ".join(FIELDS) + "\n" + "\n".join(lines) + "\n").encode())


def legacy_file():
    """Default format (v2), no header: a host that serves 8080 to two web servers, and NODATA.

    Without flow-direction, which end is the host is learned: its address is in every record."""
    lines = []
    for i in range(30):
        t = DAY0 + i * 1200
        eph = rng.randint(32768, 60999)
        peer = WEB_IP if i % 3 else "10.0.1.11"
        lines.append(f"2 {ACCOUNT} {LEGACY} {peer} {LEGACY_IP} {eph} 8080 6 12 4000 {t} {t + 60} ACCEPT OK")
        lines.append(f"2 {ACCOUNT} {LEGACY} {LEGACY_IP} {peer} 8080 {eph} 6 10 9000 {t} {t + 60} ACCEPT OK")
    lines.append(f"2 {ACCOUNT} {LEGACY} - - - - - - - {DAY0 + 50000} {DAY0 + 50060} - NODATA")
    with open(os.path.join(OUT, "legacy-host-v2.log"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    day_file(0)
    day_file(1)
    legacy_file()

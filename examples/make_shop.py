#!/usr/bin/env python3
"""Writes the "shop" evidence scenario (deterministic; written for this project; standard library).

Twenty days (2026-10-01..2026-10-20) of a small shop in one VPC, with everything the evidence
checks judge:

- sg-0web (`aws_security_group.web`, inline rules): https from 40 internet clients (a wildcard kept),
  ssh from 0.0.0.0/0 used by three addresses (one of them only by an instance terminated on
  2026-10-08, known from AWS Config history and a legacy v2 flow log), ftp from 10.0.0.0/8 never
  used, 8000-8999 from 10.0.0.0/16 used on 8080 by the two app servers, 9443 added to the deployed
  group on 2026-10-12 (too new), and 3389 from 0.0.0.0/0 added in the console on 2026-10-10 and used.
- sg-0app (`aws_security_group_rule`): 9000 from the web group (used), an ephemeral-port rule from
  0.0.0.0/0 that only return traffic of the app's own outbound calls reaches (unused).
- sg-0db (`aws_vpc_security_group_ingress_rule`, a `for_each` over a variable and a variable CIDR):
  Postgres from the app subnet (used by two hosts) and from a legacy network (unused), ssh from
  var.admin_cidr used by the bastion only.
- sg-0batch: an interface without flow logs on five days (no evidence).
- `aws_security_group.cache`: not in the state, linked by its name through AWS Config.

Output: shop/terraform/{main.tf,variables.tf,terraform.tfstate}, shop/flow-logs/ (v5 custom format
with flow-direction and tcp-flags, gzip, S3 key layout, one file a day; and a headerless v2 file of
the terminated instance), shop/aws-config/ (a snapshot and a history file, S3 key layout).
"""
import gzip
import json
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shop")
if len(sys.argv) > 1:
    OUT = sys.argv[1]
ACCOUNT = "123456789012"
VPC = "vpc-0shop"
DAY0 = 1790812800  # 2026-10-01T00:00:00Z
DAYS = 20

INTERFACES = {
    # eni: (ip, groups, instance)
    "eni-0web1": ("10.0.1.10", ["sg-0web"], "i-0web1"),
    "eni-0old": ("10.0.1.11", ["sg-0web"], "i-0old"),
    "eni-0app1": ("10.0.2.10", ["sg-0app"], "i-0app1"),
    "eni-0app2": ("10.0.2.11", ["sg-0app"], "i-0app2"),
    "eni-0db1": ("10.0.3.20", ["sg-0db"], "i-0db1"),
    "eni-0batch1": ("10.0.4.30", ["sg-0batch"], "i-0batch1"),
    "eni-0cache1": ("10.0.5.40", ["sg-0cache"], "i-0cache1"),
}
OLD_GONE_DAY = 7  # eni-0old is deleted at the start of 2026-10-08 (day index 7)
BATCH_GAP = range(4, 9)  # no flow logs for eni-0batch1 on 2026-10-05..09


def write(rel, data, gz=False):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if gz:
        with open(path, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
                f.write(data.encode())
    else:
        with open(path, "w") as f:
            f.write(data)


# --- Terraform ------------------------------------------------------------------------------
MAIN_TF = '''# The shop's security groups (written for tighten's tests and demo).

resource "aws_security_group" "web" {
  name        = "shop-web"
  description = "Public web tier"
  vpc_id      = "vpc-0shop"

  ingress {
    description = "HTTPS from anywhere"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "ssh for the on-call engineers"
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }

  # Legacy FTP drop box, retired in 2025.
  ingress {
    description = "ftp"
    protocol    = "tcp"
    from_port   = 21
    to_port     = 21
    cidr_blocks = ["10.0.0.0/8"]
  }

  ingress {
    description = "internal services"
    protocol    = "tcp"
    from_port   = 8000
    to_port     = 8999
    cidr_blocks = ["10.0.0.0/16"]
  }

  ingress {
    description = "metrics (new)"
    protocol    = "tcp"
    from_port   = 9443
    to_port     = 9443
    cidr_blocks = ["10.0.0.0/8"]
  }

  egress {
    description = "anywhere"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "app" {
  name        = "shop-app"
  description = "Application servers"
  vpc_id      = "vpc-0shop"
}

resource "aws_security_group_rule" "app_from_web" {
  type                     = "ingress"
  description              = "API from the web tier"
  security_group_id        = aws_security_group.app.id
  protocol                 = "tcp"
  from_port                = 9000
  to_port                  = 9000
  source_security_group_id = aws_security_group.web.id
}

resource "aws_security_group_rule" "app_ephemeral" {
  type              = "ingress"
  description       = "return traffic (not needed: security groups are stateful)"
  security_group_id = aws_security_group.app.id
  protocol          = "tcp"
  from_port         = 32768
  to_port           = 65535
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group" "db" {
  name        = "shop-db"
  description = "Postgres"
  vpc_id      = "vpc-0shop"
}

resource "aws_vpc_security_group_ingress_rule" "db_pg" {
  for_each          = var.db_clients
  security_group_id = aws_security_group.db.id
  description       = "Postgres from ${each.key}"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "db_admin" {
  security_group_id = aws_security_group.db.id
  description       = "ssh for administrators"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.admin_cidr
}

resource "aws_security_group" "batch" {
  name        = "shop-batch"
  description = "Nightly batch workers"
  vpc_id      = "vpc-0shop"

  ingress {
    description = "job submission"
    protocol    = "tcp"
    from_port   = 8443
    to_port     = 8443
    cidr_blocks = ["10.0.0.0/16"]
  }
}

resource "aws_security_group" "cache" {
  name        = "shop-cache"
  description = "Redis"
  vpc_id      = "vpc-0shop"

  ingress {
    description = "Redis from the app subnet"
    protocol    = "tcp"
    from_port   = 6379
    to_port     = 6379
    cidr_blocks = ["10.0.2.0/24"]
  }
}
'''

VARIABLES_TF = '''variable "db_clients" {
  description = "Networks allowed to reach Postgres, by name"
  type        = map(string)
  default = {
    app    = "10.0.2.0/24"
    legacy = "10.9.0.0/16"
  }
}

variable "admin_cidr" {
  description = "Administrators' network"
  type        = string
  default     = "10.0.0.0/16"
}
'''


def state():
    def res(kind, name, instances):
        return {"mode": "managed", "type": kind, "name": name, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": instances}

    def inst(id_, key=None):
        i = {"schema_version": 0, "attributes": {"id": id_}}
        if key is not None:
            i["index_key"] = key
        return i
    # The cache group is deliberately missing: it is linked by name.
    return {"version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "0a0b0c0d-shop", "outputs": {},
            "resources": [
                res("aws_security_group", "web", [inst("sg-0web")]),
                res("aws_security_group", "app", [inst("sg-0app")]),
                res("aws_security_group_rule", "app_from_web", [inst("sgrule-1001")]),
                res("aws_security_group_rule", "app_ephemeral", [inst("sgrule-1002")]),
                res("aws_security_group", "db", [inst("sg-0db")]),
                res("aws_vpc_security_group_ingress_rule", "db_pg", [inst("sgr-0pgapp", "app"), inst("sgr-0pglegacy", "legacy")]),
                res("aws_vpc_security_group_ingress_rule", "db_admin", [inst("sgr-0dbadmin")]),
                res("aws_security_group", "batch", [inst("sg-0batch")]),
            ]}


# --- AWS Config -----------------------------------------------------------------------------
def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def item(rtype, rid, t, status, configuration):
    return {"relatedEvents": [], "relationships": [], "configuration": configuration, "supplementaryConfiguration": {},
            "tags": {}, "configurationItemVersion": "1.3", "configurationItemCaptureTime": iso(t),
            "configurationStateId": str(t * 1000), "awsAccountId": ACCOUNT, "configurationItemStatus": status,
            "resourceType": rtype, "resourceId": rid, "awsRegion": "us-east-1", "availabilityZone": "us-east-1a",
            "configurationStateMd5Hash": ""}


def eni(eni_id):
    ip, groups, instance = INTERFACES[eni_id]
    return {"availabilityZone": "us-east-1a", "description": "", "interfaceType": "interface",
            "groups": [{"groupName": g, "groupId": g} for g in groups], "ipv6Addresses": [],
            "networkInterfaceId": eni_id, "ownerId": ACCOUNT, "privateIpAddress": ip,
            "privateIpAddresses": [{"primary": True, "privateIpAddress": ip}], "requesterManaged": False,
            "status": "in-use", "subnetId": "subnet-0shop", "vpcId": VPC,
            "attachment": {"attachmentId": "eni-attach-" + eni_id[4:], "deviceIndex": 0, "instanceId": instance, "status": "attached"}}


def perm(proto, lo, hi, cidrs=(), groups=()):
    p = {"ipProtocol": proto, "ipv4Ranges": [{"cidrIp": c} for c in cidrs], "ipRanges": list(cidrs),
         "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": [{"groupId": g, "userId": ACCOUNT} for g in groups]}
    if proto != "-1":
        p["fromPort"], p["toPort"] = lo, hi
    return p


def sg(group_id, name, perms):
    return {"description": name, "groupName": name, "ipPermissions": perms, "ownerId": ACCOUNT, "groupId": group_id,
            "ipPermissionsEgress": [perm("-1", 0, 0, ["0.0.0.0/0"])], "tags": [], "vpcId": VPC}


WEB_BASE = [perm("tcp", 443, 443, ["0.0.0.0/0"]), perm("tcp", 22, 22, ["0.0.0.0/0"]), perm("tcp", 21, 21, ["10.0.0.0/8"]),
            perm("tcp", 8000, 8999, ["10.0.0.0/16"])]


def config():
    before = DAY0 - 10 * 86400
    snapshot = [item("AWS::EC2::NetworkInterface", e, before, "OK", eni(e)) for e in INTERFACES]
    snapshot += [
        item("AWS::EC2::SecurityGroup", "sg-0web", before, "OK", sg("sg-0web", "shop-web", WEB_BASE)),
        item("AWS::EC2::SecurityGroup", "sg-0app", before, "OK", sg("sg-0app", "shop-app", [
            perm("tcp", 9000, 9000, groups=["sg-0web"]), perm("tcp", 32768, 65535, ["0.0.0.0/0"])])),
        item("AWS::EC2::SecurityGroup", "sg-0db", before, "OK", sg("sg-0db", "shop-db", [
            perm("tcp", 5432, 5432, ["10.0.2.0/24"]), perm("tcp", 5432, 5432, ["10.9.0.0/16"]), perm("tcp", 22, 22, ["10.0.0.0/16"])])),
        item("AWS::EC2::SecurityGroup", "sg-0batch", before, "OK", sg("sg-0batch", "shop-batch", [perm("tcp", 8443, 8443, ["10.0.0.0/16"])])),
        item("AWS::EC2::SecurityGroup", "sg-0cache", before, "OK", sg("sg-0cache", "shop-cache", [perm("tcp", 6379, 6379, ["10.0.2.0/24"])])),
    ]
    write(f"aws-config/AWSLogs/{ACCOUNT}/Config/us-east-1/2026/9/21/ConfigSnapshot/{ACCOUNT}_Config_us-east-1_ConfigSnapshot_20260921T000000Z_shop.json.gz",
          json.dumps({"fileVersion": "1.0", "configSnapshotId": "shop-0001", "configurationItems": snapshot}, indent=1), gz=True)
    console = DAY0 + 9 * 86400 + 3600        # 2026-10-10 01:00: 3389 added in the console
    applied = DAY0 + 11 * 86400 + 7200       # 2026-10-12 02:00: terraform apply adds 9443
    history = [
        item("AWS::EC2::SecurityGroup", "sg-0web", console, "OK", sg("sg-0web", "shop-web", WEB_BASE + [perm("tcp", 3389, 3389, ["0.0.0.0/0"])])),
        item("AWS::EC2::SecurityGroup", "sg-0web", applied, "OK", sg("sg-0web", "shop-web", WEB_BASE + [
            perm("tcp", 3389, 3389, ["0.0.0.0/0"]), perm("tcp", 9443, 9443, ["10.0.0.0/8"])])),
        item("AWS::EC2::NetworkInterface", "eni-0old", DAY0 + OLD_GONE_DAY * 86400, "ResourceDeleted", None),
    ]
    write(f"aws-config/AWSLogs/{ACCOUNT}/Config/us-east-1/2026/10/12/ConfigHistory/{ACCOUNT}_Config_us-east-1_ConfigHistory_20261012T030000Z_shop.json.gz",
          json.dumps({"fileVersion": "1.0", "configurationItems": history}, indent=1), gz=True)


# --- Flow logs ------------------------------------------------------------------------------
HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction tcp-flags"


def conn(out, eni_id, client, server, cport, sport, t, inbound=True, action="ACCEPT", proto=6):
    """Both halves of one connection as logged on `eni_id`: the opener's packets (SYN) and the
    replies (SYN-ACK). `inbound`: the remote `client` opened it; else the interface did."""
    end = t + 60
    if inbound:
        out.append(f"5 {ACCOUNT} {eni_id} {client} {server} {cport} {sport} {proto} 10 4000 {t} {end} {action} OK ingress 3")
        if action == "ACCEPT":
            out.append(f"5 {ACCOUNT} {eni_id} {server} {client} {sport} {cport} {proto} 8 9000 {t} {end} ACCEPT OK egress 19")
    else:
        out.append(f"5 {ACCOUNT} {eni_id} {client} {server} {cport} {sport} {proto} 10 4000 {t} {end} ACCEPT OK egress 3")
        out.append(f"5 {ACCOUNT} {eni_id} {server} {client} {sport} {cport} {proto} 8 9000 {t} {end} ACCEPT OK ingress 19")


def flow_logs():
    ip = {e: v[0] for e, v in INTERFACES.items()}
    legacy = []
    for d in range(DAYS):
        t0 = DAY0 + d * 86400
        lines = [HEADER]
        # Every live interface logs at least one NODATA interval a day: covered even when idle.
        for e in INTERFACES:
            if e == "eni-0old":
                continue
            if e == "eni-0batch1" and d in BATCH_GAP:
                continue
            lines.append(f"5 {ACCOUNT} {e} - - - - - - - {t0} {t0 + 600} - NODATA - -")
        # Web: https from 40 internet clients (two a day), ssh from two engineers.
        for i in range(2):
            client = f"203.0.113.{100 + (2 * d + i) % 40}"
            conn(lines, "eni-0web1", client, ip["eni-0web1"], 40000 + d * 10 + i, 443, t0 + 3600 + i * 600)
        if d in (1, 8, 15):
            conn(lines, "eni-0web1", "203.0.113.7", ip["eni-0web1"], 50022, 22, t0 + 7200)
        if d == 2:
            conn(lines, "eni-0web1", "198.51.100.1", ip["eni-0web1"], 50023, 22, t0 + 7300)
        # Internal services on 8080 from both app servers.
        for k, app in enumerate(("eni-0app1", "eni-0app2")):
            conn(lines, "eni-0web1", ip[app], ip["eni-0web1"], 41000 + d, 8080, t0 + 9000 + k * 60)
            # ... and the web tier calls the app API on 9000.
            conn(lines, app, ip["eni-0web1"], ip[app], 42000 + d, 9000, t0 + 9500 + k * 60)
            # The app calls out to an AWS API on 443; the replies reach its ephemeral ports.
            conn(lines, app, ip[app], "52.94.0.10", 43000 + d, 443, t0 + 10000 + k * 60, inbound=False)
            # Postgres and Redis from the app servers.
            conn(lines, "eni-0db1", ip[app], ip["eni-0db1"], 44000 + d, 5432, t0 + 11000 + k * 60)
            conn(lines, "eni-0cache1", ip[app], ip["eni-0cache1"], 45000 + d, 6379, t0 + 12000 + k * 60)
            if d not in BATCH_GAP:
                conn(lines, "eni-0batch1", ip[app], ip["eni-0batch1"], 46000 + d, 8443, t0 + 13000 + k * 60)
        # The bastion administers the database now and then.
        if d in (0, 7, 14):
            conn(lines, "eni-0db1", "10.0.0.5", ip["eni-0db1"], 47000, 22, t0 + 14000)
        # RDP through the console-added rule on two days.
        if d in (10, 11):
            conn(lines, "eni-0web1", "192.0.2.50", ip["eni-0web1"], 48000 + d, 3389, t0 + 15000)
        # Scanners, rejected.
        for i in range(3):
            conn(lines, "eni-0web1", f"45.33.{d}.{i + 1}", ip["eni-0web1"], 60000 + i, 23, t0 + 16000 + i, action="REJECT")
        write(f"flow-logs/AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2026/10/{d + 1:02d}/"
              f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-0shop_202610{d + 1:02d}T0000Z_{d:04x}.log.gz", "\n".join(lines) + "\n", gz=True)
        # The terminated instance's interface, from an older flow log (default v2 format, no header).
        if d < OLD_GONE_DAY:
            old = ip["eni-0old"]
            legacy.append(f"2 {ACCOUNT} eni-0old - - - - - - - {t0} {t0 + 600} - NODATA")
            if d >= 1 and d <= 5:
                legacy.append(f"2 {ACCOUNT} eni-0old 198.51.100.2 {old} 51000 22 6 12 3000 {t0 + 5000} {t0 + 5060} ACCEPT OK")
                legacy.append(f"2 {ACCOUNT} eni-0old {old} 198.51.100.2 22 51000 6 10 5000 {t0 + 5000} {t0 + 5060} ACCEPT OK")
            client = f"203.0.113.{100 + (2 * d + 1) % 40}"
            legacy.append(f"2 {ACCOUNT} eni-0old {client} {old} 52000 443 6 12 3000 {t0 + 6000} {t0 + 6060} ACCEPT OK")
            legacy.append(f"2 {ACCOUNT} eni-0old {old} {client} 443 52000 6 10 5000 {t0 + 6000} {t0 + 6060} ACCEPT OK")
    write("flow-logs/legacy-eni-0old-v2.log", "\n".join(legacy) + "\n")


write("terraform/main.tf", MAIN_TF)
write("terraform/variables.tf", VARIABLES_TF)
write("terraform/terraform.tfstate", json.dumps(state(), indent=2) + "\n")
config()
flow_logs()

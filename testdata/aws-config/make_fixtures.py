#!/usr/bin/env python3
"""Writes the AWS Config fixtures of tests/aws_config.rs (deterministic; written for this project).

The story: an autoscaled web instance (i-0web1, eni-0web1, 10.0.1.50) served HTTPS for two days
and was terminated on 2026-10-03; on 2026-10-02 12:00 it also got the ssh group. A database
interface (eni-0db1, 10.0.2.20) is alive. AWS Config delivered a history file for the web
interface, a snapshot with the groups and the database interface, and someone saved the API
output (get-resource-config-history) for the instance. Flow logs (v2, no flow-direction) cover
both interfaces.
"""
import gzip
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "123456789012"


def item(rtype, rid, time, state_id, status, configuration, relationships=()):
    return {
        "relatedEvents": [],
        "relationships": [{"resourceId": r, "resourceType": "AWS::EC2::SecurityGroup", "name": "Is associated with SecurityGroup"} for r in relationships],
        "configuration": configuration,
        "supplementaryConfiguration": {},
        "tags": {},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": time,
        "configurationStateId": state_id,
        "awsAccountId": ACCOUNT,
        "configurationItemStatus": status,
        "resourceType": rtype,
        "resourceId": rid,
        "awsRegion": "us-east-1",
        "availabilityZone": "us-east-1a",
        "configurationStateMd5Hash": "",
    }


def eni(eni_id, ip, groups, instance=None, secondary=()):
    c = {
        "availabilityZone": "us-east-1a",
        "description": "",
        "groups": [{"groupName": g.replace("sg-0", ""), "groupId": g} for g in groups],
        "interfaceType": "interface",
        "ipv6Addresses": [],
        "macAddress": "02:00:00:00:00:01",
        "networkInterfaceId": eni_id,
        "ownerId": ACCOUNT,
        "privateIpAddress": ip,
        "privateIpAddresses": [{"primary": True, "privateIpAddress": ip}] + [{"primary": False, "privateIpAddress": s} for s in secondary],
        "requesterManaged": False,
        "sourceDestCheck": True,
        "status": "in-use",
        "subnetId": "subnet-0a",
        "tagSet": [],
        "vpcId": "vpc-0a",
    }
    if instance:
        c["attachment"] = {"attachmentId": "eni-attach-1", "deviceIndex": 0, "instanceId": instance, "status": "attached"}
    return c


def sg(group_id, name, permissions):
    return {"description": name, "groupName": name, "ipPermissions": permissions, "ownerId": ACCOUNT,
            "groupId": group_id, "ipPermissionsEgress": [{"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipRanges": ["0.0.0.0/0"], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}],
            "tags": [], "vpcId": "vpc-0a"}


def write_gz(rel, doc):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(json.dumps(doc, indent=1).encode())


base = f"AWSLogs/{ACCOUNT}/Config/us-east-1/2026/10"
history = {"fileVersion": "1.0", "configurationItems": [
    item("AWS::EC2::NetworkInterface", "eni-0web1", "2026-10-01T00:00:00.000Z", "1790812800000", "ResourceDiscovered",
         eni("eni-0web1", "10.0.1.50", ["sg-0web"], "i-0web1"), ["sg-0web"]),
    item("AWS::EC2::NetworkInterface", "eni-0web1", "2026-10-02T12:00:00.000Z", "1790942400000", "OK",
         eni("eni-0web1", "10.0.1.50", ["sg-0web", "sg-0ssh"], "i-0web1"), ["sg-0web", "sg-0ssh"]),
    item("AWS::EC2::NetworkInterface", "eni-0web1", "2026-10-03T00:00:00.000Z", "1790985600000", "ResourceDeleted", None),
]}
write_gz(f"{base}/3/ConfigHistory/{ACCOUNT}_Config_us-east-1_ConfigHistory_AWS-EC2-NetworkInterface_20261003T000000Z_20261003T010000Z_1.json.gz", history)

snapshot = {"fileVersion": "1.0", "configSnapshotId": "2f1e0c2a-0000-4000-8000-000000000001", "configurationItems": [
    item("AWS::EC2::NetworkInterface", "eni-0db1", "2026-09-20T08:00:00.000Z", "1790323200000", "OK",
         eni("eni-0db1", "10.0.2.20", ["sg-0db"], "i-0db1", secondary=["10.0.2.21"]), ["sg-0db"]),
    item("AWS::EC2::SecurityGroup", "sg-0web", "2026-09-01T00:00:00.000Z", "1788220800000", "OK",
         sg("sg-0web", "web", [{"fromPort": 443, "ipProtocol": "tcp", "toPort": 443, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipRanges": ["0.0.0.0/0"], "ipv6Ranges": [{"cidrIpv6": "::/0"}], "prefixListIds": [], "userIdGroupPairs": []},
                               {"fromPort": 8080, "ipProtocol": "tcp", "toPort": 8080, "ipv4Ranges": [{"cidrIp": "10.0.0.0/8"}], "ipRanges": ["10.0.0.0/8"], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}])),
    item("AWS::EC2::SecurityGroup", "sg-0db", "2026-09-01T00:00:00.000Z", "1788220800001", "OK",
         sg("sg-0db", "db", [{"fromPort": 5432, "ipProtocol": "tcp", "toPort": 5432, "ipv4Ranges": [], "ipRanges": [], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": [{"groupId": "sg-0web", "userId": ACCOUNT}]}])),
    item("AWS::S3::Bucket", "my-bucket", "2026-09-01T00:00:00.000Z", "1788220800002", "OK", {"name": "my-bucket"}),
]}
write_gz(f"{base}/4/ConfigSnapshot/{ACCOUNT}_Config_us-east-1_ConfigSnapshot_20261004T000000Z_2f1e0c2a.json.gz", snapshot)

with open(os.path.join(HERE, f"{base}/4/ConfigWritabilityCheckFile"), "w") as f:
    f.write("")

# The API shape: `configuration` as a JSON string, `relationshipName`, capture time as epoch seconds.
api_item = {
    "version": "1.3", "accountId": ACCOUNT, "configurationItemCaptureTime": 1790812800.0,
    "configurationItemStatus": "ResourceDiscovered", "configurationStateId": "1790812800000",
    "configurationItemMD5Hash": "", "arn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0web1",
    "resourceType": "AWS::EC2::Instance", "resourceId": "i-0web1", "awsRegion": "us-east-1",
    "availabilityZone": "us-east-1a", "tags": {}, "relatedEvents": [],
    "relationships": [{"resourceType": "AWS::EC2::NetworkInterface", "resourceId": "eni-0web1", "relationshipName": "Contains NetworkInterface"}],
    "configuration": json.dumps({"instanceId": "i-0web1", "vpcId": "vpc-0a", "subnetId": "subnet-0a",
                                 "networkInterfaces": [dict(eni("eni-0web1", "10.0.1.50", ["sg-0web"]), attachment={"instanceId": "i-0web1", "status": "attached", "deviceIndex": 0})]}),
    "supplementaryConfiguration": {},
}
with open(os.path.join(HERE, "get-resource-config-history-i-0web1.json"), "w") as f:
    json.dump({"configurationItems": [api_item]}, f, indent=1)

# Flow logs, default v2 format: HTTPS from the internet to the web interface on both days it
# lived, ssh from the bastion after 12:00 on day 2, Postgres from the web host to the database.
lines = []
day0 = 1790812800
for d in range(2):
    for i in range(20):
        t = day0 + d * 86400 + i * 3000
        client = f"203.0.113.{10 + i % 7}"
        lines.append(f"2 {ACCOUNT} eni-0web1 {client} 10.0.1.50 {40000 + i} 443 6 10 4000 {t} {t + 60} ACCEPT OK")
        lines.append(f"2 {ACCOUNT} eni-0web1 10.0.1.50 {client} 443 {40000 + i} 6 8 9000 {t} {t + 60} ACCEPT OK")
        lines.append(f"2 {ACCOUNT} eni-0db1 10.0.1.50 10.0.2.20 {50000 + i} 5432 6 5 700 {t} {t + 60} ACCEPT OK")
        lines.append(f"2 {ACCOUNT} eni-0db1 10.0.2.20 10.0.1.50 5432 {50000 + i} 6 5 900 {t} {t + 60} ACCEPT OK")
t = day0 + 86400 + 50000
lines.append(f"2 {ACCOUNT} eni-0web1 10.0.0.5 10.0.1.50 41000 22 6 30 5000 {t} {t + 60} ACCEPT OK")
lines.append(f"2 {ACCOUNT} eni-0web1 10.0.1.50 10.0.0.5 22 41000 6 30 7000 {t} {t + 60} ACCEPT OK")
# An interface AWS Config never recorded.
lines.append(f"2 {ACCOUNT} eni-0unknown 198.51.100.9 10.0.9.9 40001 80 6 3 180 {day0} {day0 + 60} ACCEPT OK")
with open(os.path.join(HERE, "flows-v2.log"), "w") as f:
    f.write("\n".join(lines) + "\n")

"""The catalog's problems in aws-collector's demo organization (``aws-collector demo``).

aws-collector calls ``seed`` for each member account of its simulated organization on moto's
server when the catalog is installed; it returns what a correct run must find, and the demo says
whether the findings match. Two things no AWS API can do, a snapshot's age and an instance's stop
date, are set in moto's own in-process backend, as the demo does for access keys' ages.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

#: How far back the seeded old snapshot and stopped instance go: past both checks' defaults.
LONG_AGO = dt.timedelta(days=400)
ROOT_GP2 = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "VolumeType": "gp2", "Encrypted": False}}]
ROOT_GP3 = [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Encrypted": True}}]
Found = set[tuple[str, str, str]]


def seed(session: Any, endpoint: str, account_id: str, regions: Sequence[str], index: int) -> Found:
    """Make the catalog's problems in one member account; (check, region, resource_id) to be found."""
    found: Found = set()
    for j, region in enumerate(regions):
        _regional(session, endpoint, account_id, region, index + j, found)
    _global(session, endpoint, account_id, regions[0], index, found)
    return found


def _regional(session: Any, endpoint: str, account_id: str, region: str, n: int, found: Found) -> None:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account_id][region]
    ec2 = session.client("ec2", endpoint_url=endpoint, region_name=region)
    zone = f"{region}a"
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    found.add(("unassociated_eips", region, allocation))
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": [zone]}])["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Description="left behind")["NetworkInterface"]
    found.add(("unattached_enis", region, eni["NetworkInterfaceId"]))
    # A running instance on an old gp2, unencrypted root volume.
    legacy = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                               Placement={"AvailabilityZone": zone}, BlockDeviceMappings=ROOT_GP2)["Instances"][0]
    root = legacy["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    found.update({("gp2_volumes", region, root), ("unencrypted_volumes", region, root)})
    # A snapshot of a volume since deleted, from long ago, that no AMI uses.
    volume = ec2.create_volume(AvailabilityZone=zone, Size=50, VolumeType="gp3", Encrypted=True)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume, Description="before the migration")["SnapshotId"]
    ec2.delete_volume(VolumeId=volume)
    backend.snapshots[snapshot].start_time = (dt.datetime.now(dt.UTC) - LONG_AGO).replace(tzinfo=None)
    found.add(("old_snapshots", region, snapshot))
    if n % 2 == 0:  # an instance stopped long ago
        stopped = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                    Placement={"AvailabilityZone": zone}, BlockDeviceMappings=ROOT_GP3)
        instance_id = stopped["Instances"][0]["InstanceId"]
        ec2.stop_instances(InstanceIds=[instance_id])
        when = (dt.datetime.now(dt.UTC) - LONG_AGO).strftime("%Y-%m-%d %H:%M:%S")
        backend.get_instance(instance_id)._reason = f"User initiated ({when} GMT)"
        found.add(("stopped_instances", region, instance_id))
        # and an idle Network Load Balancer, with no target group
        elbv2 = session.client("elbv2", endpoint_url=endpoint, region_name=region)
        lb = elbv2.create_load_balancer(Name=f"idle-{n}", Subnets=[subnet], Type="network")["LoadBalancers"][0]
        found.add(("idle_load_balancers", region, lb["LoadBalancerArn"]))
    else:  # GuardDuty on here; off (no detector) in the other regions
        session.client("guardduty", endpoint_url=endpoint, region_name=region).create_detector(Enable=True)
    if n % 2 == 0:
        found.add(("guardduty_disabled", region, region))
    if n % 3 == 0:
        rds = session.client("rds", endpoint_url=endpoint, region_name=region)
        rds.create_db_instance(DBInstanceIdentifier=f"public-db-{n}", DBInstanceClass="db.t3.micro", Engine="postgres",
                               MasterUsername="app", MasterUserPassword="not-a-real-password-1",
                               AllocatedStorage=20, PubliclyAccessible=True)
        found.add(("public_rds_instances", region, f"public-db-{n}"))


def _global(session: Any, endpoint: str, account_id: str, region: str, n: int, found: Found) -> None:
    iam = session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_user(UserName="console-without-mfa")
    iam.create_login_profile(UserName="console-without-mfa", Password="Correct-horse-battery-9")
    found.add(("iam_users_without_mfa", "global", "console-without-mfa"))
    role = iam.create_role(RoleName="demo-function", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    functions = session.client("lambda", endpoint_url=endpoint, region_name=region)
    for name, runtime in (("legacy-report", "python3.8"), ("current-report", "python3.12")):
        arn = functions.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handler",
                                        Code={"ZipFile": code.getvalue()})["FunctionArn"]
        if runtime == "python3.8":
            found.add(("deprecated_lambda_runtimes", region, arn))
    s3 = session.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"public-assets-{account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    found.add(("public_s3_buckets", "global", bucket))
    if n % 2 == 0:  # a multi-region trail, logging
        s3.create_bucket(Bucket=f"trail-{account_id}")
        trails = session.client("cloudtrail", endpoint_url=endpoint, region_name="us-east-1")
        trails.create_trail(Name="everything", S3BucketName=f"trail-{account_id}", IsMultiRegionTrail=True)
        trails.start_logging(Name="everything")
    else:
        found.add(("cloudtrail_not_logging", "global", account_id))

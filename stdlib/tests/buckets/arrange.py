"""Arranges buckets on the test servers for stdlib/tests/buckets.rs.

Usage: arrange.py PROVIDER SCENARIO NAME

PROVIDER is s3 (moto at $MLPOL_TEST_S3, any credentials), gcs
(gcp-storage-emulator at $MLPOL_TEST_GCS, plain JSON API calls) or azure
(Azurite; the connection string, with the account key, comes in
$MLPOL_TEST_AZURE_CONNECTION_STRING so that it is not on a command line).
Each scenario creates bucket NAME in one known state; the Rust test then
reads it back through the collector.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def s3(scenario, name):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=os.environ["MLPOL_TEST_S3"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if scenario == "secure":
        client.create_bucket(Bucket=name)
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        client.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        deny_http = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "HttpsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
        client.put_bucket_policy(Bucket=name, Policy=json.dumps(deny_http))
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    elif scenario == "public-acl":
        client.create_bucket(Bucket=name, ACL="public-read")
    elif scenario == "public-acl-ignored":
        client.create_bucket(Bucket=name, ACL="public-read")
        client.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": False,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
        )
    elif scenario == "public-policy":
        client.create_bucket(Bucket=name)
        allow_all = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{name}/*",
                }
            ],
        }
        client.put_bucket_policy(Bucket=name, Policy=json.dumps(allow_all))
    elif scenario == "kms-locked":
        client.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
            ObjectLockEnabledForBucket=True,
        )
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": "alias/mlpol-test",
                        }
                    }
                ]
            },
        )
        client.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
            },
        )
        log_bucket = name + "-logs"
        client.create_bucket(Bucket=log_bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.put_bucket_acl(Bucket=log_bucket, ACL="log-delivery-write")
        client.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": log_bucket, "TargetPrefix": "logs/"}},
        )
    elif scenario == "iam-user":
        # For a moto started with INITIAL_NO_AUTH_ACTION_COUNT=3: these three
        # IAM calls go unauthenticated, everything after them is verified.
        iam = boto3.client(
            "iam",
            endpoint_url=os.environ["MLPOL_TEST_S3"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        iam.create_user(UserName="mlpol")
        key = iam.create_access_key(UserName="mlpol")["AccessKey"]
        allow_s3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="mlpol", PolicyName="s3", PolicyDocument=json.dumps(allow_s3))
        signed = boto3.client(
            "s3",
            endpoint_url=os.environ["MLPOL_TEST_S3"],
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        signed.create_bucket(Bucket=name)
        print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
    else:
        sys.exit(f"unknown s3 scenario {scenario}")


def gcs(scenario, name):
    base = os.environ["MLPOL_TEST_GCS"].rstrip("/")

    def call(method, path, body):
        request = urllib.request.Request(
            base + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    call("POST", "/storage/v1/b?project=mlpol-test", {"name": name})
    if scenario == "public":
        # The emulator ignores iamConfiguration at creation: PATCH it.
        call("PATCH", f"/storage/v1/b/{name}", {"versioning": {"enabled": True}})
        call(
            "PUT",
            f"/storage/v1/b/{name}/iam",
            {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]},
        )
    elif scenario == "private":
        call(
            "PATCH",
            f"/storage/v1/b/{name}",
            {
                "iamConfiguration": {
                    "uniformBucketLevelAccess": {"enabled": True},
                    "publicAccessPrevention": "enforced",
                }
            },
        )
    elif scenario == "prevented":
        call("PATCH", f"/storage/v1/b/{name}", {"iamConfiguration": {"publicAccessPrevention": "enforced"}})
        call(
            "PUT",
            f"/storage/v1/b/{name}/iam",
            {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]},
        )
    else:
        sys.exit(f"unknown gcs scenario {scenario}")


def azure(scenario, name):
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(os.environ["MLPOL_TEST_AZURE_CONNECTION_STRING"])
    access = {"container": "container", "blob": "blob", "private": None}
    if scenario not in access:
        sys.exit(f"unknown azure scenario {scenario}")
    service.create_container(name, public_access=access[scenario])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    provider, scenario, name = sys.argv[1:]
    {"s3": s3, "gcs": gcs, "azure": azure}[provider](scenario, name)


if __name__ == "__main__":
    main()

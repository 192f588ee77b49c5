#!/usr/bin/env python3
"""Deploy rehearsal: what `sam build` and `sam deploy` do, against moto_server.

    python3 scripts/deploy_rehearsal.py [--template template.yaml] [--config samconfig.toml]

1. builds every AWS::Serverless::Function of the template as `sam build` does
   for BuildMethod makefile (`make build-<LogicalId>` with ARTIFACTS_DIR set),
   checks each bootstrap is a static Linux executable for the template's
   architecture, and zips it (mode 0755, as Lambda needs);
2. starts moto_server on a free loopback port (bounded wait) and uploads the
   zips to its S3, creates the secret the README's deploy steps create, and an
   SNS topic for the alarms;
3. applies the SAM transform (the installed aws-sam-translator, with CodeUri
   pointing at the uploaded objects) and creates the stack in moto's
   CloudFormation with the parameters `sam deploy --guided` saved in
   samconfig.toml (the dev environment), then a second, production-like stack
   (custom domain, alarm topic, longer retention);
4. waits for CREATE_COMPLETE and checks that every resource the transformed
   template declares is in the stack (resources whose type moto cannot
   emulate are listed, never silently passed), the functions, log groups,
   table and schedule as deployed, and every output moto can resolve; the
   alarms, which moto's CloudFormation skips, are created through its
   CloudWatch API from their resolved properties and checked there.

It exits non-zero with the reason on the first failure, and always stops the
moto_server it started.
"""

import argparse
import hashlib
import json
import logging
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import zipfile

MISSING_TOOLS = (
    "the deploy rehearsal needs boto3, aws-sam-translator and moto[server] for {python}: "
    "run `make python-tools` (it installs them into .cache/venv), or "
    "`pip install boto3 aws-sam-translator 'moto[server]'`"
)

try:
    import boto3
    import botocore.exceptions
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
    from moto.cloudformation.parsing import get_model_map
except ImportError as err:  # pragma: no cover - depends on the machine
    sys.exit(f"deploy rehearsal: {err}: " + MISSING_TOOLS.format(python=sys.executable))

# samtranslator warns at exit about metrics nobody publishes here.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)

REGION = "us-east-1"
UNRESOLVED = re.compile(r"\$\{([A-Za-z0-9]+)[.}]")
START_TIMEOUT = float(os.environ.get("REHEARSAL_START_TIMEOUT", "60"))
STACK_TIMEOUT = float(os.environ.get("REHEARSAL_STACK_TIMEOUT", "120"))
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64


class Failure(Exception):
    """A check of the rehearsal failed; the message says which and why."""


def log(msg):
    print(f"deploy-rehearsal: {msg}", flush=True)


# --- 1. build, as sam build does ------------------------------------------


def functions_of(template):
    return {
        lid: r for lid, r in template["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"
    }


def architecture(template, fn):
    archs = fn.get("Properties", {}).get("Architectures") or template.get("Globals", {}).get("Function", {}).get(
        "Architectures", ["x86_64"]
    )
    return archs[0]


def check_bootstrap(path, arch):
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] != b"\x7fELF":
        raise Failure(f"{path} is not an ELF executable")
    machine = int.from_bytes(head[18:20], "little")
    if machine != ELF_MACHINE[arch]:
        raise Failure(f"{path} is built for ELF machine {machine}, the template says {arch} ({ELF_MACHINE[arch]})")
    # The Go toolchain records its build settings; CGO_ENABLED=0 means static.
    out = subprocess.run(["go", "version", "-m", path], capture_output=True, text=True)
    if "CGO_ENABLED=0" not in out.stdout:
        raise Failure(f"{path} was not built with CGO_ENABLED=0 (go version -m says: {out.stdout.strip()[:300]})")


def build(template, build_dir):
    zips = {}
    for lid, fn in functions_of(template).items():
        if fn.get("Metadata", {}).get("BuildMethod") != "makefile":
            raise Failure(f"{lid}: Metadata.BuildMethod is not makefile; sam build would not use the Makefile")
        artifacts = os.path.join(build_dir, lid)
        os.makedirs(artifacts, exist_ok=True)
        started = time.monotonic()
        # sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR in the
        # environment (aws-lambda-builders' custom makefile workflow).
        res = subprocess.run(
            ["make", "--no-print-directory", f"build-{lid}"],
            env={**os.environ, "ARTIFACTS_DIR": artifacts},
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise Failure(f"make build-{lid} failed:\n{res.stdout}{res.stderr}")
        bootstrap = os.path.join(artifacts, "bootstrap")
        if not os.path.isfile(bootstrap):
            raise Failure(f"make build-{lid} left no {bootstrap}")
        check_bootstrap(bootstrap, architecture(template, fn))
        zpath = os.path.join(build_dir, f"{lid}.zip")
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16  # a regular executable file
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(bootstrap, "rb") as f:
                z.writestr(info, f.read())
        zips[lid] = zpath
        log(f"built {lid}: {os.path.getsize(bootstrap)} bytes, zip {os.path.getsize(zpath)} bytes "
            f"({time.monotonic() - started:.1f}s)")
    return zips


# --- 2. moto_server ------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto_server child process on a loopback port; stop() always ends it."""

    def __init__(self, logdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logpath = os.path.join(logdir, "moto_server.log")
        self.logfile = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"moto_server exited with status {self.proc.returncode}; its log:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/moto-api/data.json", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise Failure(
            f"moto_server did not answer on {self.url} within {START_TIMEOUT:.0f}s. On a busy machine, retry with "
            f"REHEARSAL_START_TIMEOUT=180; otherwise read its log:\n{self.tail()}"
        )

    def tail(self):
        self.logfile.flush()
        with open(self.logpath) as f:
            return "".join(f.readlines()[-30:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()

    def client(self, service):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


# --- 3. transform and deploy ----------------------------------------------------


def commented_env(config_path, env):
    """The TOML of an environment that samconfig.toml carries commented out
    (from its "# [<env>." line on, each line's "# " removed)."""
    lines, inside = [], False
    with open(config_path) as f:
        for line in f:
            if line.startswith(f"# [{env}."):
                inside = True
            if inside and line.startswith("#"):
                lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "".join(lines)


def saved_parameters(config_path, env):
    """The parameter overrides and capabilities `sam deploy --guided` saved;
    an environment found only commented out is read uncommented."""
    with open(config_path, "rb") as f:
        cfg = tomllib.load(f)
    if env not in cfg:
        text = commented_env(config_path, env)
        try:
            cfg = tomllib.loads(text) if text else {}
        except tomllib.TOMLDecodeError as err:
            raise Failure(f"{config_path}: the commented [{env}...] sections are not valid TOML once uncommented: {err}")
    try:
        deploy = cfg[env]["deploy"]["parameters"]
    except KeyError:
        raise Failure(f"{config_path} has no [{env}.deploy.parameters]")
    overrides = deploy.get("parameter_overrides", "")
    if isinstance(overrides, list):
        overrides = " ".join(overrides)
    params = {}
    for pair in shlex.split(overrides):
        key, sep, val = pair.partition("=")
        if not sep:
            raise Failure(f"{config_path}: parameter override {pair!r} is not Key=Value")
        params[key] = val
    caps = deploy.get("capabilities", "CAPABILITY_IAM")
    caps = caps.split() if isinstance(caps, str) else list(caps)
    return deploy, params, caps


def transformed(template_text, code, params, iam):
    template = yaml_parse(template_text)
    for lid in functions_of(template):
        template["Resources"][lid].setdefault("Properties", {})["CodeUri"] = code[lid]
    os.environ["AWS_DEFAULT_REGION"] = REGION
    return transform(template, dict(params), ManagedPolicyLoader(iam))


def create_stack(cfn, name, body, params, caps):
    try:
        cfn.create_stack(
            StackName=name,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=caps,
        )
    except botocore.exceptions.ClientError as err:
        raise Failure(f"CloudFormation refused stack {name}: {err}") from err
    deadline = time.monotonic() + STACK_TIMEOUT
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("_IN_PROGRESS"):
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}" for e in events
                       if e.get("ResourceStatusReason")]
            raise Failure(f"stack {name}: {status}: {stack.get('StackStatusReason', '')} {reasons[:5]}")
        if time.monotonic() > deadline:
            raise Failure(f"stack {name} still {status} after {STACK_TIMEOUT:.0f}s (REHEARSAL_STACK_TIMEOUT)")
        time.sleep(0.5)


# --- 4. checks --------------------------------------------------------------------


def emulated(resource_type):
    """Whether moto's CloudFormation creates resources of this type (it skips
    the others with a warning and leaves references to them unresolved)."""
    return resource_type in get_model_map() or resource_type.startswith("Custom::")


def condition_true(conditions, name, params):
    """Evaluates the template's simple conditions (Not/Equals/Ref)."""

    def ev(node):
        if isinstance(node, dict):
            (op, arg), = node.items()
            if op == "Fn::Not":
                return not ev(arg[0])
            if op == "Fn::Equals":
                return ev(arg[0]) == ev(arg[1])
            if op == "Ref":
                return params.get(arg, "")
            if op == "Condition":
                return ev(conditions[arg])
            raise Failure(f"condition {name}: {op} is not evaluated by the rehearsal; extend condition_true")
        return node

    return ev(conditions[name])


NO_VALUE = object()


def resolve(node, name, p, phys, conditions):
    """Resolves the intrinsics alarms use (Ref, Fn::Sub, Fn::If,
    AWS::NoValue) against the stack's parameters and physical ids."""

    def ref(key):
        if key == "AWS::NoValue":
            return NO_VALUE
        if key == "AWS::StackName":
            return name
        if key == "AWS::Region":
            return REGION
        if key in p:
            return p[key]
        if key in phys:
            return phys[key]
        raise Failure(f"stack {name}: cannot resolve a reference to {key}")

    if isinstance(node, dict) and len(node) == 1:
        (op, arg), = node.items()
        if op == "Ref":
            return ref(arg)
        if op == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: str(ref(m.group(1))), arg)
        if op == "Fn::If":
            branch = arg[1] if condition_true(conditions, arg[0], p) else arg[2]
            return resolve(branch, name, p, phys, conditions)
        if op.startswith("Fn::"):
            raise Failure(f"stack {name}: the rehearsal does not resolve {op} in an alarm; extend resolve()")
    if isinstance(node, dict):
        out = {k: resolve(v, name, p, phys, conditions) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}
    if isinstance(node, list):
        return [v for v in (resolve(x, name, p, phys, conditions) for x in node) if v is not NO_VALUE]
    return node


def put_alarms(m, name, body, p, phys):
    """moto's CloudFormation skips AWS::CloudWatch::Alarm: create each alarm
    through the CloudWatch API from its resolved properties (botocore checks
    them against the API's model), then check what it watches and notifies."""
    cw, lam = m.client("cloudwatch"), m.client("lambda")
    conditions = body.get("Conditions", {})
    problems, ids = [], [lid for lid, r in body["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    topic = p.get("AlarmTopicArn", "")
    for lid in ids:
        props = resolve(body["Resources"][lid]["Properties"], name, p, phys, conditions)
        for k in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if k in props:
                props[k] = int(props[k])
        props["Threshold"] = float(props["Threshold"])
        try:
            cw.put_metric_alarm(**props)
        except (botocore.exceptions.ClientError, botocore.exceptions.ParamValidationError) as err:
            problems.append(f"{lid}: CloudWatch refused it: {err}")
            continue
        for d in props.get("Dimensions", []):
            if d["Name"] == "FunctionName":
                try:
                    lam.get_function(FunctionName=d["Value"])
                except botocore.exceptions.ClientError:
                    problems.append(f"{lid}: watches function {d['Value']!r}, which is not in the stack")
        for key in ("AlarmActions", "OKActions"):
            if props.get(key, []) != ([topic] if topic else []):
                problems.append(f"{lid}: {key} {props.get(key)}, want {[topic] if topic else []}")
    names = [a["AlarmName"] for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=name + "-")
             for a in page["MetricAlarms"]]
    if len(names) != len(ids):
        problems.append(f"{len(ids)} alarms declared, {len(names)} named {name}-... in CloudWatch: {sorted(names)}")
    return problems, len(ids)


def put_link_secret(m, name, body, p, phys):
    """moto's CloudFormation skips AWS::SecretsManager::Secret: create the
    link secret through the Secrets Manager API from its resolved
    properties, generating its string as GenerateSecretString says (moto's
    GetRandomPassword), then check it holds link_signing_key alone, long
    and of letters and digits, which authorize's parser accepts."""
    sm = m.client("secretsmanager")
    res = body["Resources"].get("LinkSecret")
    if res is None or res["Type"] != "AWS::SecretsManager::Secret":
        return ["LinkSecret: no AWS::SecretsManager::Secret of that name (authorize's link secret)"]
    props = resolve(res["Properties"], name, p, phys, body.get("Conditions", {}))
    gen = props.get("GenerateSecretString", {})
    try:
        value = json.loads(gen.get("SecretStringTemplate", "null"))
        value[gen["GenerateStringKey"]] = sm.get_random_password(
            PasswordLength=int(gen.get("PasswordLength", 32)),
            ExcludePunctuation=gen.get("ExcludePunctuation") in (True, "true"))["RandomPassword"]
        arn = phys.get("LinkSecret") or sm.create_secret(
            Name=f"{name}-LinkSecret", Description=props.get("Description", ""), SecretString=json.dumps(value))["ARN"]
        link = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    except (KeyError, TypeError, ValueError, botocore.exceptions.ClientError, botocore.exceptions.ParamValidationError) as err:
        return [f"LinkSecret: cannot create it from its GenerateSecretString {gen!r}: {err!r}"]
    key = link.get("link_signing_key", "")
    if sorted(link) != ["link_signing_key"] or len(key) < 32 or not key.isalnum():
        return [f"LinkSecret: holds {sorted(link)} with a link_signing_key of {len(key)} characters, "
                "want link_signing_key alone, 32 or more letters and digits"]
    return []


def check_stack(m, name, template, body, stack, params, defaults, code):
    """Every check of a created stack; returns the notes to print."""
    cfn, lam, logs, ddb, events = (m.client(s) for s in ("cloudformation", "lambda", "logs", "dynamodb", "events"))
    p = {**defaults, **params}
    resources = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
        for r in page["StackResourceSummaries"]:
            resources[r["LogicalResourceId"]] = r
    problems, created, skipped, off = [], 0, [], []
    conditions = body.get("Conditions", {})
    for lid, res in body["Resources"].items():
        if "Condition" in res and not condition_true(conditions, res["Condition"], p):
            off.append(lid)
            continue
        if not emulated(res["Type"]):
            skipped.append(f"{lid} ({res['Type']})")
            continue
        got = resources.get(lid)
        if got is None:
            problems.append(f"{lid} ({res['Type']}) is declared but not in the stack")
        elif got["ResourceStatus"] != "CREATE_COMPLETE" or got["ResourceType"] != res["Type"]:
            problems.append(f"{lid}: {got['ResourceType']} {got['ResourceStatus']}")
        else:
            created += 1
    # Every resource of template.yaml survives the transform (functions keep
    # their logical id as AWS::Lambda::Function).
    for lid in template["Resources"]:
        if lid not in body["Resources"]:
            problems.append(f"{lid} of template.yaml is missing from the transformed template")

    phys = {lid: r["PhysicalResourceId"] for lid, r in resources.items()}
    not_emulated = {lid for lid, r in body["Resources"].items() if not emulated(r["Type"])}
    unresolvable = set()
    for lid, fn in functions_of(template).items():
        if lid not in phys:
            continue
        cfg = lam.get_function(FunctionName=phys[lid])["Configuration"]
        want = {"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeSize": os.path.getsize(code[lid])}
        for k, v in want.items():
            if cfg.get(k) != v:
                problems.append(f"{lid}: {k} = {cfg.get(k)!r}, want {v!r}")
        # moto's Lambda ignores these two properties: check what
        # CloudFormation would receive.
        props = body["Resources"][lid]["Properties"]
        if props.get("Architectures") != [architecture(template, fn)]:
            problems.append(f"{lid}: Architectures {props.get('Architectures')!r} in the transformed template")
        logging = props.get("LoggingConfig", {})
        if logging.get("LogFormat") != "JSON" or logging.get("ApplicationLogLevel") != {"Ref": "LogLevel"}:
            problems.append(f"{lid}: LoggingConfig {logging!r}: want LogFormat JSON at the LogLevel parameter")
        env = cfg.get("Environment", {}).get("Variables", {})
        for k, v in env.items():
            refs = set(UNRESOLVED.findall(v))
            if refs and refs <= not_emulated:
                unresolvable.add(f"{k} (names {', '.join(sorted(refs))})")
            elif refs or v.startswith("{") or "Fn::" in v:
                problems.append(f"{lid}: environment {k} is unresolved: {v!r}")
        if env.get("TABLE_NAME") != phys.get("ConnectionsTable"):
            problems.append(f"{lid}: TABLE_NAME {env.get('TABLE_NAME')!r} is not the stack's table")
        # authorize reads the link secret alone; the others the client secret.
        if lid == "AuthorizeFunction":
            if "GOTO_SECRET_ID" in env:
                problems.append(f"{lid}: GOTO_SECRET_ID is set: authorize must read only the link secret")
        elif env.get("GOTO_SECRET_ID") != p["GoToSecretName"]:
            problems.append(f"{lid}: GOTO_SECRET_ID {env.get('GOTO_SECRET_ID')!r}, want {p['GoToSecretName']!r}")
        # moto's CloudFormation does not create the link secret: the
        # variable names it, unresolved (put_link_secret creates it).
        # variable is empty there; the transformed template must name it.
        link_id = env.get("LINK_SECRET_ID", "")
        declared = body["Resources"][lid]["Properties"].get("Environment", {}).get("Variables", {}).get("LINK_SECRET_ID")
        if link_id != phys.get("LinkSecret") and not ("LinkSecret" not in phys and declared == {"Ref": "LinkSecret"}):
            problems.append(f"{lid}: LINK_SECRET_ID {link_id!r} (declared {declared!r}), want the stack's link secret (LinkSecret)")
        group = body["Resources"][lid]["Properties"].get("LoggingConfig", {}).get("LogGroup")
        if group != {"Ref": lid.removesuffix("Function") + "LogGroup"}:
            problems.append(f"{lid}: LoggingConfig.LogGroup is {group!r}, want its own log group")

    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]}
    for lid, res in body["Resources"].items():
        if res["Type"] != "AWS::Logs::LogGroup" or lid not in phys:
            continue
        g = groups.get(phys[lid])
        if g is None:
            problems.append(f"{lid}: log group {phys[lid]} does not exist")
        else:
            # The connections function's log holds the audit of token releases.
            param = "AuditRetentionDays" if lid == "ConnectionsLogGroup" else "LogRetentionDays"
            if str(g.get("retentionInDays")) != str(p[param]):
                problems.append(f"{lid}: retention {g.get('retentionInDays')} days, want {p[param]} ({param})")

    table = ddb.describe_table(TableName=phys["ConnectionsTable"])["Table"]
    declared = sorted(g["IndexName"] for g in body["Resources"]["ConnectionsTable"]["Properties"].get("GlobalSecondaryIndexes", []))
    deployed = sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", []))
    if deployed != declared:
        problems.append(f"ConnectionsTable: indexes {deployed}, want the template's {declared}")

    rules = [lid for lid, r in body["Resources"].items() if r["Type"] == "AWS::Events::Rule"]
    for lid in rules:
        rule = events.describe_rule(Name=phys[lid])
        if rule.get("ScheduleExpression") != p["RefreshSchedule"]:
            problems.append(f"{lid}: schedule {rule.get('ScheduleExpression')!r}, want {p['RefreshSchedule']!r}")
        targets = events.list_targets_by_rule(Rule=phys[lid])["Targets"]
        if not any(t["Arn"].endswith(":function:" + phys["RefreshFunction"]) for t in targets):
            problems.append(f"{lid}: targets {targets} do not include RefreshFunction")
    if not rules:
        problems.append("no AWS::Events::Rule: the refresh schedule is missing")

    problems += put_link_secret(m, name, body, p, phys)

    # Outputs: those moto can resolve must be right; those that name a
    # resource moto does not emulate (the HTTP API) are listed.
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    expected = {"TableName": phys["ConnectionsTable"], "RefreshFunctionName": phys["RefreshFunction"]}
    if "LinkSecret" in phys:
        expected["LinkSecretArn"] = phys["LinkSecret"]
    if p.get("PublicBaseUrl"):
        expected["RedirectUri"] = p["PublicBaseUrl"] + "/callback"
        expected["AuthorizeUrl"] = p["PublicBaseUrl"] + "/authorize"
        redirect = lam.get_function(FunctionName=phys["CallbackFunction"])["Configuration"]["Environment"]["Variables"]
        if redirect.get("GOTO_REDIRECT_URI") != expected["RedirectUri"]:
            problems.append(f"CallbackFunction: GOTO_REDIRECT_URI {redirect.get('GOTO_REDIRECT_URI')!r}, "
                            f"want {expected['RedirectUri']!r}")
    # The dashboard: created with the body resolved, naming this stack's
    # functions and table.
    if "Dashboard" in phys:
        expected["DashboardName"] = f"{name}-goto-connector"
        try:
            dash = m.client("cloudwatch").get_dashboard(DashboardName=phys["Dashboard"])["DashboardBody"]
            widgets = json.loads(dash)["widgets"]
        except Exception as e:  # noqa: BLE001 - reported as a problem
            problems.append(f"Dashboard {phys['Dashboard']}: {e}")
        else:
            if "${" in dash:
                problems.append(f"Dashboard: an unresolved ${{...}} in its body: {dash[dash.index('${'):][:80]!r}")
            for lid in [*functions_of(template), "ConnectionsTable"]:
                if f'"{phys[lid]}"' not in dash:
                    problems.append(f"Dashboard: its body does not name {lid} ({phys[lid]})")
            if not widgets:
                problems.append("Dashboard: no widgets")
    unresolved = []
    for key in template.get("Outputs", {}):
        if key == "LinkSecretArn" and "LinkSecret" not in phys and key not in outputs:
            # moto drops an output that refers to a resource it skipped.
            if body.get("Outputs", {}).get(key, {}).get("Value") != {"Ref": "LinkSecret"}:
                problems.append(f"output {key} is not the link secret's ARN: {body.get('Outputs', {}).get(key)!r}")
            unresolved.append(f"{key}=Ref LinkSecret")
        elif key not in outputs:
            problems.append(f"output {key} is missing")
        elif key in expected:
            if outputs[key] != expected[key]:
                problems.append(f"output {key} = {outputs[key]!r}, want {expected[key]!r}")
        else:
            unresolved.append(f"{key}={outputs[key]}")
    alarm_problems, alarms = put_alarms(m, name, body, p, phys)
    problems += alarm_problems
    if problems:
        raise Failure(f"stack {name}:\n  " + "\n  ".join(problems))
    notes = [
        f"{created} resources CREATE_COMPLETE and checked",
        f"{len(skipped)} not emulated by moto's CloudFormation (declared, transformed, not created): {', '.join(skipped)}",
        f"{alarms} alarms created through moto's CloudWatch API from their resolved properties: "
        f"each watches a function of the stack or the sweep's metrics, and notifies {p.get('AlarmTopicArn') or 'nothing (no AlarmTopicArn)'}",
        f"outputs checked: {', '.join(sorted(expected))}",
    ]
    if unresolvable:
        notes.append(f"environment moto cannot resolve: {', '.join(sorted(unresolvable))}")
    if off:
        notes.append(f"off by their condition: {', '.join(off)}")
    if unresolved:
        notes.append(f"outputs moto cannot resolve (they name the HTTP API): {'; '.join(unresolved)}")
    return notes


# --- main -----------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--template", default="template.yaml")
    ap.add_argument("--config", default="samconfig.toml")
    ap.add_argument("--config-env", default="dev")
    ap.add_argument("--build-dir", default=os.path.join(".cache", "rehearsal"))
    ap.add_argument("--prod-env", default="prod",
                    help="samconfig environment (may be commented out) of the second, production-like stack")
    args = ap.parse_args()

    started = time.monotonic()
    with open(args.template) as f:
        text = f.read()
    template = yaml_parse(text)
    defaults = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    deploy, params, caps = saved_parameters(args.config, args.config_env)
    stack_name = deploy.get("stack_name", "goto-connector-dev")
    os.makedirs(args.build_dir, exist_ok=True)
    zips = build(template, args.build_dir)

    moto = Moto(args.build_dir)
    try:
        moto.wait_ready()
        log(f"moto_server ready on {moto.url}")
        s3, iam, sm, sns, cfn = (moto.client(s) for s in ("s3", "iam", "secretsmanager", "sns", "cloudformation"))
        bucket = "rehearsal-artifacts"
        s3.create_bucket(Bucket=bucket)
        code = {}
        for lid, path in zips.items():
            with open(path, "rb") as f:
                data = f.read()
            key = f"{stack_name}/{hashlib.md5(data).hexdigest()}"  # sam deploy names objects by MD5
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            code[lid] = f"s3://{bucket}/{key}"
        # README, Deploy, step 2: the secret exists before the stack.
        secret_name = {**defaults, **params}["GoToSecretName"]
        sm.create_secret(Name=secret_name, SecretString=json.dumps({"client_secret": "rehearsal"}))

        # The production overrides, with the alarm topic made here: the
        # conditions (custom domain, alarm actions) take their other branch.
        prod_deploy, prod, prod_caps = saved_parameters(args.config, args.prod_env)
        if "AlarmTopicArn" in prod:
            prod["AlarmTopicArn"] = sns.create_topic(Name="goto-connector-alarms")["TopicArn"]
        runs = [(stack_name, params, caps),
                (prod_deploy.get("stack_name", stack_name + "-prod"), prod, prod_caps)]
        for name, p, caps in runs:
            t0 = time.monotonic()
            unknown = set(p) - set(defaults)
            if unknown:
                raise Failure(f"{name}: parameters {sorted(unknown)} are not parameters of {args.template}")
            missing = [k for k, v in template["Parameters"].items() if "Default" not in v and k not in p]
            if missing:
                raise Failure(f"{name}: parameters {missing} have no default and no value in {args.config}")
            try:
                body = transformed(text, code, p, iam)
            except Exception as err:
                raise Failure(f"SAM transform of {args.template}: {err}") from err
            stack = create_stack(cfn, name, body, p, caps)
            notes = check_stack(moto, name, template, body, stack, p, defaults, zips)
            log(f"stack {name} CREATE_COMPLETE ({time.monotonic() - t0:.1f}s), parameters {p}")
            for n in notes:
                log("  " + n)
    finally:
        moto.stop()
    log(f"passed in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    except Failure as err:
        sys.exit(f"deploy-rehearsal FAILED: {err}")

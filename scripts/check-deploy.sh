#!/usr/bin/env bash
# check-deploy.sh: validates deploy/ offline (no Docker engine, no cluster).
#
#   scripts/check-deploy.sh            all checks (a few seconds)
#   scripts/check-deploy.sh --no-sql   without running the dashboard SQL
#
# 1. docker compose: `docker-compose config -q` (or `docker compose config -q`)
#    on deploy/docker-compose.yml, with the built-in defaults and with
#    deploy/.env.example. Installs Debian's docker-compose when neither exists
#    and apt-get can; skips with a message only when that is impossible.
# 2. Every YAML, JSON and XML file under deploy/ parses (python3 + PyYAML;
#    without PyYAML the Kubernetes YAML is parsed by kubectl instead).
# 3. Compose semantics: start-up order (kafka-init, migrate with
#    service_completed_successfully), processor replicas <= partitions,
#    containers listen on 0.0.0.0, no literal password, every ${VAR} used has a
#    default and is listed in .env.example, every TOUCHSTREAM_* variable is one
#    the binaries read (cmd/**/*.go).
# 4. Kubernetes, offline: `kubectl kustomize deploy/kubernetes`; typed decoding
#    of every built-in object (`kubectl set env --local --list`, which fails on
#    wrong field types, bad quantities, ...); every custom resource
#    (ServiceMonitor, Strimzi, Altinity) through `kubectl label --local`;
#    then semantic checks: selectors match pod labels, Services/HPA/PDB/
#    ServiceMonitors point at what exists, probes (collector /readyz and
#    /healthz, processor /healthz on 9101), resources, securityContext
#    (runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, drop ALL),
#    referenced ConfigMap/Secret keys exist, processor replicas <= the
#    partitions of clickstream.events.
# 5. Grafana: dashboards are valid JSON; every ClickHouse query reads only
#    tables and columns that sql/migrations creates, and reads events/sessions
#    with FINAL (grep-level SQL scan); every Prometheus metric exists in the Go
#    sources; data-source UIDs match deploy/grafana/provisioning.
# 6. Dashboard SQL executed (unless --no-sql, and only when bin/touchstream and
#    libchdb are there; otherwise skipped with a message): starts the embedded
#    ClickHouse (`touchstream clickhouse`) on a free loopback port, migrates,
#    loads a small fixture, runs every dashboard query with Grafana's macros
#    expanded, and compares the funnel, abandonment and time-on-site panels
#    with `touchstream report ... --format json` on the same data.
#
# Exits non-zero on any failure.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DEPLOY=$ROOT/deploy
RUN_SQL=1
for arg in "$@"; do
	case $arg in
	--no-sql) RUN_SQL=0 ;;
	-h | --help)
		sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "check-deploy: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

failures=0
skips=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
	printf 'FAIL  %s\n' "$*"
	failures=$((failures + 1))
}
skip() {
	printf 'skip  %s\n' "$*"
	skips=$((skips + 1))
}
TMP=$(mktemp -d)
CH_PID=
cleanup() {
	if [ -n "$CH_PID" ]; then
		kill "$CH_PID" 2>/dev/null
		wait "$CH_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# ------------------------------------------------------------ 1. compose
COMPOSE=()
if command -v docker-compose >/dev/null 2>&1; then
	COMPOSE=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
	COMPOSE=(docker compose)
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "..    docker-compose missing: apt-get install -y docker-compose"
	if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >"$TMP/apt.log" 2>&1 ||
		{ apt-get update -qq >>"$TMP/apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >>"$TMP/apt.log" 2>&1; }; then
		COMPOSE=(docker-compose)
	fi
fi
if [ ${#COMPOSE[@]} -eq 0 ]; then
	skip "docker compose: neither docker-compose nor the compose plugin is installed, and it could not be installed (apt-get needs root); compose file not validated"
else
	# No engine is needed for `config`; an unreachable DOCKER_HOST must not slow it down.
	if out=$("${COMPOSE[@]}" -f "$DEPLOY/docker-compose.yml" config -q 2>&1); then
		pass "docker compose config (${COMPOSE[*]}, built-in defaults)"
	else
		fail "docker compose config (built-in defaults): $out"
	fi
	if out=$("${COMPOSE[@]}" --env-file "$DEPLOY/.env.example" -f "$DEPLOY/docker-compose.yml" config -q 2>&1); then
		pass "docker compose config with deploy/.env.example"
	else
		fail "docker compose config with deploy/.env.example: $out"
	fi
fi

# ------------------------------------------------------------ python with PyYAML
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
		PY=$p
		break
	fi
done
PY_NOYAML=
if [ -z "$PY" ] && command -v python3 >/dev/null 2>&1; then
	PY_NOYAML=python3
fi

# ------------------------------------------------------------ 4a. kubectl
K8S=$DEPLOY/kubernetes
if ! command -v kubectl >/dev/null 2>&1; then
	skip "kubectl is not installed: Kubernetes manifests not decoded"
else
	if kubectl kustomize "$K8S" >"$TMP/kustomized.yaml" 2>"$TMP/kustomize.err"; then
		pass "kubectl kustomize deploy/kubernetes ($(grep -c '^kind:' "$TMP/kustomized.yaml") objects)"
	else
		fail "kubectl kustomize deploy/kubernetes: $(cat "$TMP/kustomize.err")"
	fi
	# Split every manifest into built-in kinds (typed decoding) and custom
	# resources (kinds kubectl's scheme does not know).
	: >"$TMP/builtin.yaml"
	: >"$TMP/custom.yaml"
	for f in "$K8S"/*.yaml "$K8S"/examples/*.yaml; do
		[ "$(basename "$f")" = kustomization.yaml ] && continue
		awk -v b="$TMP/builtin.yaml" -v c="$TMP/custom.yaml" '
			function flush() {
				if (doc ~ /(^|\n)apiVersion: *[^\n]*(monitoring\.coreos\.com|strimzi\.io|altinity\.com)/) print doc "\n---" >> c
				else if (doc ~ /(^|\n)kind:/) print doc "\n---" >> b
				doc = ""
			}
			/^---/ { flush(); next }
			{ doc = doc (doc == "" ? "" : "\n") $0 }
			END { flush() }' "$f"
	done
	if out=$(kubectl set env --local -f "$TMP/builtin.yaml" --list 2>&1 >/dev/null) && [ -z "$out" ]; then
		pass "kubectl typed decoding of $(grep -c '^kind:' "$TMP/builtin.yaml") built-in objects (kubectl set env --local)"
	else
		fail "kubectl typed decoding: $out"
	fi
	if out=$(kubectl label --local --dry-run=client -o name -f "$TMP/custom.yaml" touchstream.check=offline 2>&1); then
		pass "kubectl decoding of $(grep -c '^kind:' "$TMP/custom.yaml") custom resources: $(echo "$out" | sed 's#/.*##' | sort -u | tr '\n' ' ')"
	else
		fail "kubectl decoding of custom resources: $out"
	fi
	if [ -s "$TMP/kustomized.yaml" ]; then
		awk '/^---/{if(doc!~/monitoring\.coreos\.com/)print doc"\n---";doc="";next}{doc=doc"\n"$0}END{if(doc!~/monitoring\.coreos\.com/)print doc}' \
			"$TMP/kustomized.yaml" >"$TMP/kustomized-builtin.yaml"
		if out=$(kubectl set env --local -f "$TMP/kustomized-builtin.yaml" --list 2>&1 >/dev/null) && [ -z "$out" ]; then
			pass "kubectl typed decoding of the kustomize output"
		else
			fail "kubectl typed decoding of the kustomize output: $out"
		fi
	fi
	if [ -z "$PY" ]; then
		# No PyYAML: at least every YAML file under deploy/kubernetes parses.
		for f in "$K8S"/*.yaml "$K8S"/examples/*.yaml; do
			[ "$(basename "$f")" = kustomization.yaml ] && continue
			if ! out=$(kubectl label --local -o name -f "$f" touchstream.check=offline 2>&1); then
				fail "YAML $f: $out"
			fi
		done
	fi
fi

# ------------------------------------------------------------ 2,3,4b,5. python
if [ -n "$PY" ]; then
	"$PY" - "$ROOT" <<'PYEOF'
import glob, json, os, re, sys
import xml.dom.minidom
import yaml

ROOT = sys.argv[1]
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
fails = 0


def ok(msg):
    print(f"ok    {msg}")


def bad(msg):
    global fails
    fails += 1
    print(f"FAIL  {msg}")


def rel(p):
    return os.path.relpath(p, ROOT)


# ---------------------------------------------------------------- 2. parse all
docs_by_file = {}
n = 0
for dirpath, dirnames, files in os.walk(DEPLOY):
    for name in sorted(files):
        p = os.path.join(dirpath, name)
        try:
            if name.endswith((".yaml", ".yml")):
                with open(p) as f:
                    docs_by_file[p] = [d for d in yaml.safe_load_all(f) if d is not None]
            elif name.endswith(".json"):
                with open(p) as f:
                    docs_by_file[p] = [json.load(f)]
            elif name.endswith(".xml"):
                xml.dom.minidom.parse(p)
            else:
                continue
            n += 1
        except Exception as e:  # noqa: BLE001
            bad(f"parse {rel(p)}: {e}")
ok(f"{n} YAML/JSON/XML files under deploy/ parse")

# Environment variables the binaries read (flags fall back to them).
go_env = set()
for p in glob.glob(os.path.join(ROOT, "cmd", "**", "*.go"), recursive=True):
    with open(p) as f:
        go_env |= set(re.findall(r'"(TOUCHSTREAM_[A-Z0-9_]+)"', f.read()))


def check_env_names(where, names):
    unknown = sorted(v for v in names if v.startswith("TOUCHSTREAM_") and v not in go_env)
    if unknown:
        bad(f"{where}: variables no binary reads (cmd/**/*.go): {', '.join(unknown)}")


# ---------------------------------------------------------------- 3. compose
COMPOSE = os.path.join(DEPLOY, "docker-compose.yml")
compose = docs_by_file.get(COMPOSE, [{}])[0]
svcs = compose.get("services", {})
with open(COMPOSE) as f:
    compose_text = f.read()
partitions_compose = None
m = re.search(r"--topic clickstream\.events --partitions (\d+)", compose_text)
if m:
    partitions_compose = int(m.group(1))
else:
    bad("compose: kafka-init does not create clickstream.events with --partitions N")
if "--topic clickstream.rejected" not in compose_text:
    bad("compose: kafka-init does not create clickstream.rejected")


def dep(svc, on):
    d = svcs.get(svc, {}).get("depends_on", {})
    return d.get(on, {}).get("condition") if isinstance(d, dict) else None


expect = [
    ("kafka-init", "kafka", "service_healthy"),
    ("migrate", "clickhouse", "service_healthy"),
    ("collector", "kafka-init", "service_completed_successfully"),
    ("processor", "kafka-init", "service_completed_successfully"),
    ("processor", "migrate", "service_completed_successfully"),
]
for s, on, cond in expect:
    if dep(s, on) != cond:
        bad(f"compose: {s} must depend_on {on} with condition {cond} (has {dep(s, on)})")
for s in ("kafka", "kafka-init", "clickhouse", "migrate", "collector", "processor", "prometheus", "grafana"):
    if s not in svcs:
        bad(f"compose: service {s} missing")
for s, target in (("migrate", "cli"), ("collector", "collector"), ("processor", "processor")):
    b = svcs.get(s, {}).get("build", {})
    if b.get("target") != target or b.get("dockerfile") != "deploy/Dockerfile":
        bad(f"compose: {s} must build deploy/Dockerfile target {target}")
    if not svcs.get(s, {}).get("read_only"):
        bad(f"compose: {s} should run with read_only: true")
replicas = svcs.get("processor", {}).get("deploy", {}).get("replicas")
if not isinstance(replicas, int) or replicas < 2:
    bad(f"compose: processor deploy.replicas must be >= 2 (has {replicas})")
elif partitions_compose and replicas > partitions_compose:
    bad(f"compose: processor replicas {replicas} > partitions {partitions_compose}")
envs = {s: (v.get("environment") or {}) for s, v in svcs.items()}
if envs.get("collector", {}).get("TOUCHSTREAM_COLLECTOR_LISTEN", "").split(":")[0] != "0.0.0.0":
    bad("compose: the collector must listen on 0.0.0.0 inside its container")
if envs.get("processor", {}).get("TOUCHSTREAM_PROCESSOR_METRICS_LISTEN", "").split(":")[0] != "0.0.0.0":
    bad("compose: the processor metrics must listen on 0.0.0.0 inside its container")
check_env_names("compose", {k for e in envs.values() for k in e})
# Passwords only through ${VAR:-default}; every variable listed in .env.example.
for m in re.finditer(r"^\s*-?\s*([A-Z0-9_]*PASSWORD[A-Z0-9_]*)\s*[:=]\s*(\S+)", compose_text, re.M):
    if not m.group(2).strip("'\"").startswith("${"):
        bad(f"compose: literal password in {m.group(1)}; use ${{VAR:-default}} from .env")
for m in re.finditer(r"://[^:/@\s]+:([^@\s]+)@", compose_text):
    if not m.group(1).startswith("${"):
        bad(f"compose: literal password in DSN {m.group(0)!r}")
used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose_text))
no_default = sorted(set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", compose_text)))
if no_default:
    bad(f"compose: variables without a default: {', '.join(no_default)}")
with open(os.path.join(DEPLOY, ".env.example")) as f:
    example = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", f.read(), re.M))
missing = sorted(used - example)
if missing:
    bad(f"compose: variables not in deploy/.env.example: {', '.join(missing)}")
for vol in [v for s in svcs.values() for v in s.get("volumes", []) if isinstance(v, str) and v.startswith("./")]:
    src = os.path.join(DEPLOY, vol.split(":")[0])
    if not os.path.exists(src):
        bad(f"compose: bind-mount source {vol.split(':')[0]} does not exist")
prom = docs_by_file.get(os.path.join(DEPLOY, "prometheus", "prometheus.yml"), [{}])[0]
targets = {}
for sc in prom.get("scrape_configs", []):
    for sd in sc.get("dns_sd_configs", []):
        for nm in sd.get("names", []):
            targets[nm] = sd.get("port")
if targets.get("collector") != 8080 or targets.get("processor") != 9101:
    bad(f"prometheus.yml: must scrape collector:8080 and processor:9101 (has {targets})")
ok("compose semantics (order, replicas <= partitions, listen addresses, secrets via env, prometheus targets)")

# ---------------------------------------------------------------- 4b. kubernetes
kust = docs_by_file[os.path.join(K8S, "kustomization.yaml")][0]
objs = []
for r in kust.get("resources", []):
    p = os.path.join(K8S, r)
    if p not in docs_by_file:
        bad(f"kustomization: resource {r} does not exist")
        continue
    objs += [(p, d) for d in docs_by_file[p]]
examples = [(p, d) for p in sorted(glob.glob(os.path.join(K8S, "examples", "*.yaml"))) for d in docs_by_file.get(p, [])]
for p, d in objs + examples:
    if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") or not d.get("metadata", {}).get("name"):
        bad(f"{rel(p)}: a document without apiVersion, kind or metadata.name")
by_kind = {}
for p, d in objs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
cms = by_kind.get("ConfigMap", {})
secrets = by_kind.get("Secret", {})


def subset(sel, labels):
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())


def pod_spec(d):
    return d["spec"]["template"]["spec"]


def containers(d):
    return pod_spec(d).get("containers", [])


def named_port(c, port):
    if isinstance(port, int):
        return port
    for pp in c.get("ports", []):
        if pp.get("name") == port:
            return pp["containerPort"]
    return None


workloads = {**{f"Deployment/{n}": d for n, d in by_kind.get("Deployment", {}).items()},
             **{f"Job/{n}": d for n, d in by_kind.get("Job", {}).items()}}
for wname, d in workloads.items():
    ps = pod_spec(d)
    tlabels = d["spec"]["template"].get("metadata", {}).get("labels", {})
    if d["kind"] == "Deployment" and not subset(d["spec"].get("selector", {}).get("matchLabels"), tlabels):
        bad(f"{wname}: selector does not match the pod template labels")
    psc = ps.get("securityContext", {})
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        bad(f"{wname}: pod securityContext.seccompProfile must be RuntimeDefault")
    if ps.get("automountServiceAccountToken") is not False:
        bad(f"{wname}: automountServiceAccountToken should be false")
    for c in containers(d):
        cn = f"{wname}/{c['name']}"
        sc = c.get("securityContext", {})
        if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            bad(f"{cn}: runAsNonRoot not set")
        if sc.get("readOnlyRootFilesystem") is not True:
            bad(f"{cn}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            bad(f"{cn}: allowPrivilegeEscalation must be false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            bad(f"{cn}: capabilities must drop ALL")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory") if kind == "requests" else ("memory",):
                if r not in res.get(kind, {}):
                    bad(f"{cn}: resources.{kind}.{r} missing")
        env_names = {e["name"] for e in c.get("env", [])}
        for ef in c.get("envFrom", []):
            ref = ef.get("configMapRef", {}).get("name")
            if ref:
                if ref not in cms:
                    bad(f"{cn}: envFrom ConfigMap {ref} is not in the kustomization")
                else:
                    env_names |= set(cms[ref].get("data", {}))
        for e in c.get("env", []):
            sk = e.get("valueFrom", {}).get("secretKeyRef")
            if sk and sk["key"] not in secrets.get(sk["name"], {}).get("stringData", {}):
                bad(f"{cn}: env {e['name']} refers to missing secret key {sk['name']}/{sk['key']}")
        check_env_names(cn, env_names)

col = by_kind.get("Deployment", {}).get("touchstream-collector")
proc = by_kind.get("Deployment", {}).get("touchstream-processor")
if not col or not proc:
    bad("kubernetes: Deployments touchstream-collector and touchstream-processor are required")
else:
    c = containers(col)[0]
    rp, lp = c.get("readinessProbe", {}).get("httpGet", {}), c.get("livenessProbe", {}).get("httpGet", {})
    if rp.get("path") != "/readyz" or lp.get("path") != "/healthz" or named_port(c, rp.get("port")) != 8080 \
            or named_port(c, lp.get("port")) != 8080:
        bad("collector: readinessProbe must be /readyz and livenessProbe /healthz on 8080")
    if "replicas" in col["spec"]:
        bad("collector: the HPA owns the replica count; remove spec.replicas")
    c = containers(proc)[0]
    for probe in ("readinessProbe", "livenessProbe"):
        g = c.get(probe, {}).get("httpGet", {})
        if g.get("path") != "/healthz" or named_port(c, g.get("port")) != 9101:
            bad(f"processor: {probe} must be /healthz on 9101")
    cm_env = cms.get("touchstream-config", {}).get("data", {})
    if cm_env.get("TOUCHSTREAM_COLLECTOR_LISTEN", "").split(":")[0] != "0.0.0.0" or \
            cm_env.get("TOUCHSTREAM_PROCESSOR_METRICS_LISTEN") != "0.0.0.0:9101":
        bad("configmap: collector and processor metrics must listen on 0.0.0.0 (metrics on :9101)")
    topics = [d for _, d in examples if d.get("kind") == "KafkaTopic"
              and d.get("spec", {}).get("topicName", d["metadata"]["name"]) == "clickstream.events"]
    parts = topics[0]["spec"]["partitions"] if topics else None
    if parts is None:
        bad("examples: no Strimzi KafkaTopic clickstream.events")
    elif not proc["spec"].get("replicas") or proc["spec"]["replicas"] > parts:
        bad(f"processor: replicas {proc['spec'].get('replicas')} must be set and <= {parts} partitions")
    elif partitions_compose and parts != partitions_compose:
        bad(f"clickstream.events partitions differ: Strimzi {parts}, compose {partitions_compose}")

services = by_kind.get("Service", {})
for sname, s in services.items():
    targets = [d for d in by_kind.get("Deployment", {}).values()
               if subset(s["spec"].get("selector"), d["spec"]["template"]["metadata"].get("labels", {}))]
    if len(targets) != 1:
        bad(f"Service/{sname}: selector matches {len(targets)} Deployments (want 1)")
        continue
    for port in s["spec"].get("ports", []):
        if named_port(containers(targets[0])[0], port.get("targetPort", port["port"])) is None:
            bad(f"Service/{sname}: targetPort {port.get('targetPort')} is not a container port")
for hname, h in by_kind.get("HorizontalPodAutoscaler", {}).items():
    ref = h["spec"]["scaleTargetRef"]
    if ref.get("kind") != "Deployment" or ref.get("name") not in by_kind.get("Deployment", {}):
        bad(f"HorizontalPodAutoscaler/{hname}: scaleTargetRef {ref} does not exist")
    if h["spec"].get("minReplicas", 1) > h["spec"]["maxReplicas"]:
        bad(f"HorizontalPodAutoscaler/{hname}: minReplicas > maxReplicas")
if "touchstream-collector" not in by_kind.get("HorizontalPodAutoscaler", {}):
    bad("kubernetes: no HorizontalPodAutoscaler for the collector")
for pname, pdb in by_kind.get("PodDisruptionBudget", {}).items():
    if not any(subset(pdb["spec"]["selector"].get("matchLabels"), d["spec"]["template"]["metadata"].get("labels", {}))
               for d in by_kind.get("Deployment", {}).values()):
        bad(f"PodDisruptionBudget/{pname}: selector matches no Deployment")
if "touchstream-collector" not in by_kind.get("PodDisruptionBudget", {}):
    bad("kubernetes: no PodDisruptionBudget for the collector")
sms = by_kind.get("ServiceMonitor", {})
for comp in ("collector", "processor"):
    if not any(sm["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == comp for sm in sms.values()):
        bad(f"kubernetes: no ServiceMonitor for the {comp}")
for mname, sm in sms.items():
    matched = [s for s in services.values() if subset(sm["spec"]["selector"].get("matchLabels"), s["metadata"].get("labels", {}))]
    if not matched:
        bad(f"ServiceMonitor/{mname}: selector matches no Service")
    for ep in sm["spec"].get("endpoints", []):
        if not any(ep.get("port") in [p.get("name") for p in s["spec"]["ports"]] for s in matched):
            bad(f"ServiceMonitor/{mname}: port {ep.get('port')} is not a named Service port")
if "touchstream-migrate" not in by_kind.get("Job", {}):
    bad("kubernetes: no migrate Job")
elif containers(by_kind["Job"]["touchstream-migrate"])[0].get("args") != ["migrate"]:
    bad("Job/touchstream-migrate: must run `touchstream migrate`")
for s in secrets.values():
    if "data" in s or "stringData" not in s:
        bad(f"Secret/{s['metadata']['name']}: use stringData with example values")
kinds = {d.get("kind") for _, d in examples}
for k in ("Kafka", "KafkaTopic", "ClickHouseInstallation"):
    if k not in kinds:
        bad(f"kubernetes/examples: no {k} example")
ok(f"kubernetes semantics ({len(objs)} objects, {len(examples)} example custom resources)")

# ---------------------------------------------------------------- 5. grafana
tables = {}
for p in sorted(glob.glob(os.path.join(ROOT, "sql", "migrations", "*.sql"))):
    with open(p) as f:
        text = f.read().split("-- +goose Down")[0]
    for m in re.finditer(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\w+\.)?(\w+)\s*\((.*?)\n\)", text, re.S | re.I):
        cols = tables.setdefault(m.group(1), set())
        for line in m.group(2).split("\n"):
            cm = re.match(r"\s*`?([A-Za-z_]\w*)`?\s+[A-Z]\w*", line)
            if cm and cm.group(1).upper() not in ("INDEX", "PROJECTION", "CONSTRAINT", "PRIMARY"):
                cols.add(cm.group(1))
    for m in re.finditer(r"ALTER\s+TABLE\s+(?:\w+\.)?(\w+)\s+ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)", text, re.I):
        tables.setdefault(m.group(1), set()).add(m.group(2))
    for m in re.finditer(r"CREATE\s+(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\w+\.)?(\w+)", text, re.I):
        tables.setdefault(m.group(1), set()).add("*")  # columns not tracked
# The parameterized views `touchstream migrate` creates from the code, not
# from a migration: clickhouse.ReportViews, report.Views and FunnelViews (the run
# against the embedded ClickHouse below checks that they exist).
with open(os.path.join(ROOT, "clickhouse", "views.go")) as f:
    for v in re.findall(r'\{"(report_\w+)", "\w+"\}', f.read()):
        tables.setdefault(v, set()).add("*")
with open(os.path.join(ROOT, "report", "views.go")) as f:  # report_stages and the companion views
    text = f.read()
    for v in re.findall(r'Name: "(report_\w+)"', text) + ["report_" + c for c in re.findall(r'\{"\w+", "(\w+)"\}', text)]:
        tables.setdefault(v, set()).add("*")
with open(os.path.join(ROOT, "report", "funnel_views.go")) as f:
    m = re.search(r"maxFunnelViewSteps\s*=\s*(\d+)", f.read())
for n in range(2, int(m.group(1)) + 1 if m else 0):
    tables.setdefault(f"report_funnel_{n}", set()).add("*")
if not {"events", "sessions"} <= set(tables):
    bad(f"sql/migrations: expected tables events and sessions, found {sorted(tables)}")
all_cols = set().union(*tables.values()) if tables else set()

SQL_WORDS = set("""
select from where and or not in as with group by order having limit final left right inner outer full
join on using array asc desc rows range between unbounded preceding following current row over window
partition interval second minute hour day week month year is null case when then else end distinct
like ilike true false union all any exists settings format
""".split())

metric_names = set()
for p in glob.glob(os.path.join(ROOT, "**", "metrics.go"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "**", "doc.go"), recursive=True):
    with open(p) as f:
        metric_names |= set(re.findall(r"touchstream_[a-z0-9_]+", f.read()))


def strip_sql(sql):
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"'(?:[^'\\]|\\.|'')*'", " '' ", sql)
    sql = re.sub(r"\$\{[^}]*\}", " 0 ", sql)           # Grafana variables
    sql = re.sub(r"\$__\w+\(([^)]*)\)", r" (\1) ", sql)   # macros with a column argument
    sql = re.sub(r"\$__\w+", " 0 ", sql)                 # macros without
    return sql


def check_sql(where, sql):
    s = strip_sql(sql)
    aliases = set(re.findall(r"\bAS\s+([A-Za-z_]\w*)", s, re.I))
    aliases |= set(re.findall(r"\b([A-Za-z_]\w*)\s+AS\s*\(", s, re.I))           # CTEs
    aliases |= set(re.findall(r"\b([A-Za-z_]\w*)\s*->", s))                       # lambdas x ->
    for grp in re.findall(r"\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*\)\s*->", s):
        aliases |= {x.strip() for x in grp.split(",")}
    refs = re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)", s, re.I)
    used_tables = set()
    table_errors = 0
    for r in refs:
        db, _, t = r.rpartition(".")
        if db and db != "touchstream":
            bad(f"{where}: table {r} is outside the database touchstream")
            table_errors += 1
        elif t in tables:
            used_tables.add(t)
        elif t not in aliases:
            bad(f"{where}: table {r} does not exist in sql/migrations")
            table_errors += 1
    if table_errors:
        return  # the column check would only repeat it
    for t in ("events", "sessions"):
        for m in re.finditer(rf"\b(?:FROM|JOIN)\s+(?:touchstream\.)?{t}\b(\s+\w+)?", s, re.I):
            if not (m.group(1) or "").strip().upper() == "FINAL":
                bad(f"{where}: reads {t} without FINAL (sql/README.md)")
    known = set().union(*(tables[t] for t in used_tables)) if used_tables else set()
    if "*" in known:
        return  # a view whose columns (and parameters) are not tracked: the run below checks it
    for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?(?!\w)", s):
        a, b = m.group(1), m.group(2)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):
            continue  # a function call (or a CTE body)
        if b:
            if a == "touchstream":
                continue
            if a in tables and b not in tables[a]:
                bad(f"{where}: column {a}.{b} does not exist")
            elif a not in tables and b not in known | aliases:
                bad(f"{where}: column {a}.{b}: {b} is neither a column nor an alias")
            continue
        if a.lower() in SQL_WORDS or a in aliases or a in tables or a in known or re.fullmatch(r"\d.*", a):
            continue
        if a in all_cols:
            bad(f"{where}: column {a} is not in the tables this query reads ({', '.join(sorted(used_tables))})")
        else:
            bad(f"{where}: unknown identifier {a} (not a column of sql/migrations, an alias or an SQL word)")


provisioned = {}
for p in glob.glob(os.path.join(DEPLOY, "grafana", "provisioning", "datasources", "*.yaml")):
    for d in docs_by_file.get(p, []):
        for ds in d.get("datasources", []):
            provisioned[ds["uid"]] = ds
            if ds["type"] == "grafana-clickhouse-datasource":
                jd = ds.get("jsonData", {})
                if jd.get("protocol") != "http" or jd.get("username") != "bi":
                    bad(f"grafana: data source {ds['uid']} must use protocol http and the read-only user bi")
                if not str(ds.get("secureJsonData", {}).get("password", "")).startswith("$"):
                    bad(f"grafana: data source {ds['uid']}: the password must come from the environment ($VAR)")
if provisioned.get("touchstream-clickhouse", {}).get("type") != "grafana-clickhouse-datasource":
    bad("grafana: data source touchstream-clickhouse (grafana-clickhouse-datasource) is not provisioned")

dashboards = sorted(glob.glob(os.path.join(DEPLOY, "grafana", "dashboards", "*.json")))
nq = 0
uids = set()
for p in dashboards:
    if p not in docs_by_file:
        continue  # reported by the parse step
    d = docs_by_file[p][0]
    name = os.path.basename(p)
    if d.get("uid") in uids:
        bad(f"{name}: duplicate dashboard uid {d.get('uid')}")
    uids.add(d.get("uid"))
    ids = [pn["id"] for pn in d.get("panels", [])]
    if len(ids) != len(set(ids)):
        bad(f"{name}: duplicate panel ids")
    dsvars = {v["name"]: v for v in d.get("templating", {}).get("list", []) if v.get("type") == "datasource"}
    for v in dsvars.values():
        if v.get("current", {}).get("value") not in provisioned:
            bad(f"{name}: data-source variable {v['name']} defaults to an unprovisioned uid")
    for pn in d.get("panels", []):
        for t in pn.get("targets", []):
            ds = t.get("datasource") or pn.get("datasource") or {}
            uid = ds.get("uid", "")
            var = re.fullmatch(r"\$\{?(\w+)\}?", uid)
            if var and var.group(1) not in dsvars:
                bad(f"{name}/{pn['title']}: data source variable {uid} is not defined")
            elif not var and uid not in provisioned:
                bad(f"{name}/{pn['title']}: data source uid {uid} is not provisioned")
            where = f"{name}/{pn['title']}"
            if "rawSql" in t:
                nq += 1
                check_sql(where, t["rawSql"])
            if "expr" in t:
                nq += 1
                for mname in re.findall(r"touchstream_[a-z0-9_]+", t["expr"]):
                    base = re.sub(r"_(bucket|sum|count)$", "", mname)
                    if mname not in metric_names and base not in metric_names:
                        bad(f"{where}: metric {mname} is not defined in the Go sources")
for want in ("funnel", "abandonment", "time-on-site", "pipeline-health"):
    if not os.path.exists(os.path.join(DEPLOY, "grafana", "dashboards", want + ".json")):
        bad(f"grafana: dashboard {want}.json missing")
ok(f"grafana: {len(dashboards)} dashboards, {nq} queries against tables {sorted(tables)} and the Go metrics")
sys.exit(1 if fails else 0)
PYEOF
	rc=$?
	[ $rc -eq 0 ] || failures=$((failures + 1))
elif [ -n "$PY_NOYAML" ]; then
	skip "python3 has no PyYAML (apt-get install python3-yaml): compose/Kubernetes semantic checks not run"
	for f in $(find "$DEPLOY" -name '*.json'); do
		python3 -m json.tool "$f" >/dev/null 2>&1 || fail "JSON $f does not parse"
	done
else
	skip "python3 not installed: YAML/JSON semantic and dashboard checks not run"
fi

# ------------------------------------------------------------ 6. dashboard SQL
TS=$ROOT/bin/touchstream
LIB=${TOUCHSTREAM_CHDB_LIB:-}
if [ -z "$LIB" ]; then
	LIB=$(ls "${TOUCHSTREAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/touchstream}"/chdb/*/libchdb.so 2>/dev/null | head -n1)
fi
if [ $RUN_SQL = 0 ]; then
	skip "dashboard SQL not executed (--no-sql)"
elif [ ! -x "$TS" ] || [ -z "$LIB" ] || [ -z "$PY" ]; then
	skip "dashboard SQL not executed: needs bin/touchstream and libchdb (\`make build\`) and python3 with PyYAML"
else
	PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	TOUCHSTREAM_CHDB_LIB=$LIB "$TS" clickhouse --listen "127.0.0.1:$PORT" --path "$TMP/clickhouse" >"$TMP/clickhouse.log" 2>&1 &
	CH_PID=$!
	up=0
	for _ in $(seq 1 150); do
		if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/ping', timeout=1)" 2>/dev/null; then
			up=1
			break
		fi
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	DSN=http://127.0.0.1:$PORT/touchstream
	if [ $up = 0 ]; then
		fail "embedded ClickHouse did not start: $(tail -n 5 "$TMP/clickhouse.log")"
	elif ! out=$("$TS" migrate --clickhouse-dsn "$DSN" 2>&1); then
		fail "touchstream migrate on the embedded ClickHouse: $out"
	else
		"$PY" - "$ROOT" "$PORT" "$TS" <<'PYEOF'
import datetime, json, re, subprocess, sys, glob, os, time, urllib.error, urllib.parse, urllib.request

ROOT, PORT, TS = sys.argv[1], sys.argv[2], sys.argv[3]
BASE = f"http://127.0.0.1:{PORT}/"
DSN = f"http://127.0.0.1:{PORT}/touchstream"
fails = 0


def post(sql, data=None, fmt="JSONCompact"):
    q = {"database": "touchstream", "default_format": fmt}
    body = sql.encode() if data is None else data.encode()
    if data is not None:
        q["query"] = sql
    req = urllib.request.Request(BASE + "?" + urllib.parse.urlencode(q), data=body)
    return urllib.request.urlopen(req, timeout=30).read().decode()


# Fixture: five visitors five days ago. a: full funnel; b: viewed, added (cart
# abandoned); c: viewed; d: added, ordered two days later (recovered); e:
# added and ordered at the same millisecond (converted: the bound is inclusive).
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
t0 = now - datetime.timedelta(days=5)
M, D = datetime.timedelta(minutes=1), datetime.timedelta(days=1)
fmt = lambda d: (t0 + d).strftime("%Y-%m-%d %H:%M:%S")
events = [("a", "Product Viewed", 0 * M, ""), ("a", "Product Added", 1 * M, "c1"), ("a", "Checkout Started", 2 * M, "c1"),
          ("a", "Order Completed", 3 * M, "c1"), ("b", "Product Viewed", 0 * M, ""), ("b", "Product Added", 1 * M, "c2"),
          ("c", "Product Viewed", 0 * M, ""), ("d", "Product Added", 0 * M, "c3"), ("d", "Order Completed", 2 * D, "c3"),
          ("e", "Product Added", 5 * M, "c4"), ("e", "Order Completed", 5 * M, "c4")]
post("INSERT INTO events FORMAT JSONEachRow", "\n".join(json.dumps({
    "message_id": f"m{i}", "event_time": fmt(d), "received_at": fmt(d), "type": "track", "event_name": n,
    "touchpoint": "web", "visitor_id": v, "session_id": "s" + v, "cart_id": c, "write_key": "dev",
    "utm_source": "google" if v in "ab" else ""}) for i, (v, n, d, c) in enumerate(events)))
post("INSERT INTO sessions FORMAT JSONEachRow", "\n".join(json.dumps({
    "session_id": "s" + v, "visitor_id": v, "start_time": fmt(0 * M), "end_time": fmt(k * M), "events": k + 1,
    "page_views": k, "engaged_msec": k * 7000, "entry_page": "/p/" + v, "touchpoint": "web",
    "traffic_channel": "Organic Search", "device_type": "desktop", "conversions": int(v == "a"), "version": 1,
    "is_deleted": 0}) for k, v in [(3, "a"), (1, "b"), (0, "c"), (0, "d")]))

to_ms = int(time.time() * 1000)
from_ms = to_ms - 30 * 86400 * 1000


def render(sql, d):
    cur = {v["name"]: str(v.get("current", {}).get("value", v.get("query", "")))
           for v in d.get("templating", {}).get("list", [])}
    sql = sql.replace("$__fromTime_ms", f"fromUnixTimestamp64Milli({from_ms})")
    sql = sql.replace("$__toTime_ms", f"fromUnixTimestamp64Milli({to_ms})")
    sql = sql.replace("$__fromTime", f"toDateTime({from_ms // 1000})").replace("$__toTime", f"toDateTime({to_ms // 1000})")
    sql = re.sub(r"\$__timeFilter\((\w+)\)",
                 lambda m: f"{m[1]} >= toDateTime({from_ms // 1000}) AND {m[1]} <= toDateTime({to_ms // 1000})", sql)
    sql = re.sub(r"\$__timeInterval\((\w+)\)", lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL 3600 second)", sql)

    def var(m):
        v = cur[m[1]]
        return "'" + v.replace("\\", "\\\\").replace("'", "''") + "'" if m[2] == "sqlstring" else v
    sql = re.sub(r"\$\{(\w+)(?::(\w+))?\}", var, sql)
    if "$" in sql:
        raise ValueError("unexpanded macro or variable: " + sql[sql.index("$"):][:40])
    return sql


results = {}
n = 0
for p in sorted(glob.glob(os.path.join(ROOT, "deploy", "grafana", "dashboards", "*.json"))):
    try:
        with open(p) as f:
            d = json.load(f)
    except ValueError:
        continue  # reported by the parse step
    for pn in d["panels"]:
        for t in pn.get("targets", []):
            if "rawSql" not in t:
                continue
            where = f"{os.path.basename(p)}/{pn['title']}"
            try:
                out = json.loads(post(render(t["rawSql"], d)))
                results[where] = [dict(zip([m["name"] for m in out["meta"]], row)) for row in out["data"]]
                n += 1
            except (urllib.error.HTTPError, ValueError) as e:
                fails += 1
                msg = e.read().decode() if isinstance(e, urllib.error.HTTPError) else str(e)
                print(f"FAIL  {where}: {msg.strip()[:300]}")


def report(*args):
    out = subprocess.run([TS, "report", *args, "--clickhouse-dsn", DSN, "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return json.loads(out.stdout)


def same(a, b):
    return abs(float(a) - float(b)) < 1e-9


def compare(what, pairs):
    global fails
    bad = [f"{k}: dashboard {a} != report {b}" for k, a, b in pairs if not same(a, b)]
    if bad:
        fails += 1
        print(f"FAIL  {what} differs from `touchstream report`: " + "; ".join(bad))


def panels(prefix, *cols):
    """Every panel result of a dashboard whose rows carry all of cols."""
    return {k: v for k, v in results.items() if k.startswith(prefix) and v and all(c in v[0] for c in cols)}


try:
    steps = [v["query"] for v in json.load(open(os.path.join(ROOT, "deploy/grafana/dashboards/funnel.json")))
             ["templating"]["list"] if v["name"].startswith("step")]
    rep = report("funnel", "--steps", ",".join(steps))["steps"]
    if rep[0]["count"] != 3:
        raise RuntimeError(f"fixture: report funnel counts {rep[0]['count']} visitors at step 1, want 3")
    found = panels("funnel.json/", "step", "visitors")
    if len(found) < 2:
        raise RuntimeError(f"funnel.json: expected two panels with step and visitors, found {sorted(found)}")
    for where, dash in found.items():
        compare(where, [("steps", len(dash), len(rep))] + [
            (f"{s['step']}.{k}", r.get(dk, -1), s[k]) for s, r in zip(rep, dash)
            for k, dk in (("count", "visitors"), ("conversion_from_start", "conversion_from_start"),
                          ("conversion_from_previous", "conversion_from_previous"),
                          ("median_seconds_to_convert", "median_seconds_to_convert")) if dk in r])
    rep = report("abandonment", "--detail")
    if (rep["cart"]["carts"], rep["cart"]["abandoned"]) != (4, 2):
        raise RuntimeError(f"fixture: report abandonment gives {rep['cart']}, want 4 carts, 2 abandoned")
    found = panels("abandonment.json/", "kind", "carts", "abandonment_rate")
    if len(found) < 5:
        raise RuntimeError(f"abandonment.json: expected five abandonment panels, found {sorted(found)}")
    for where, rows in found.items():
        dash = {r["kind"]: r for r in rows}
        compare(where, [(f"{k}.{f}", dash[k][f], rep[k][rf]) for k in dash
                        for f, rf in (("carts", "carts" if k == "cart" else "checkouts"), ("abandoned", "abandoned"),
                                      ("recovered", "recovered"), ("abandonment_rate", "abandonment_rate"))])
    days = {r["day"]: r for r in rep["days"]}
    found = panels("abandonment.json/", "time", "carts", "abandoned_carts", "checkouts", "abandoned_checkouts")
    if len(found) != 1:
        raise RuntimeError(f"abandonment.json: expected one panel of carts by day, found {sorted(found)}")
    for where, rows in found.items():
        if sum(r["carts"] for r in rows) != 4:
            raise RuntimeError(f"fixture: {where} counts {sum(r['carts'] for r in rows)} carts, want 4")
        compare(where, [(f"{r['time'][:10]}.{f}", r[f], days.get(r["time"][:10], {}).get(k, {}).get(rf, -1)) for r in rows
                        for f, k, rf in (("carts", "cart", "carts"), ("abandoned_carts", "cart", "abandoned"),
                                         ("checkouts", "checkout", "checkouts"), ("abandoned_checkouts", "checkout", "abandoned"))])
    rep = report("time-on-site", "--detail")
    if rep["sessions"] != 4:
        raise RuntimeError(f"fixture: report time-on-site counts {rep['sessions']} sessions, want 4")
    found = panels("time-on-site.json/", "dimension", "value", "sessions", "engagement_rate")
    if len(found) != 3:
        raise RuntimeError(f"time-on-site.json: expected three breakdown panels, found {sorted(found)}")
    groups = {(g["dimension"], g["value"]): g for g in rep["breakdowns"]}
    for where, rows in found.items():
        compare(where, [(f"{r['dimension']}={r['value']}.{f}", r[f], groups.get((r["dimension"], r["value"]), {}).get(f, -1))
                        for r in rows for f in ("sessions", "bounce_rate", "engagement_rate")]
                + [(f"{r['dimension']}={r['value']}.{k}_{q}", r[f"{k}_{q}"],
                    groups.get((r["dimension"], r["value"]), {}).get(f"{k}_seconds", {}).get(q, -1))
                   for r in rows for k in ("duration", "engaged") for q in ("mean", "median", "p90")])
    found = {k: v for k, v in panels("time-on-site.json/", "sessions", "engagement_rate", "duration_p90").items()
             if "dimension" not in v[0]}
    if len(found) < 7:
        raise RuntimeError(f"time-on-site.json: expected seven summary panels, found {sorted(found)}")
    for where, rows in found.items():
        dash = rows[0]
        compare(where, [("sessions", dash["sessions"], rep["sessions"]),
                        ("bounce_rate", dash["bounce_rate"], rep["bounce_rate"]),
                        ("engagement_rate", dash["engagement_rate"], rep["engagement_rate"])]
                + [(f"{k}_{q}", dash[f"{k.split('_')[0]}_{q}"], rep[k][q])
                   for k in ("duration_seconds", "engaged_seconds") for q in ("mean", "median", "p90")])
except Exception as e:  # noqa: BLE001
    fails += 1
    print(f"FAIL  comparing dashboards with `touchstream report`: {e}")
if not fails:
    print(f"ok    dashboard SQL: {n} queries ran on the embedded ClickHouse; funnel, abandonment (and its days) and "
          "time on site (and its breakdowns) equal `touchstream report` on the fixture")
sys.exit(1 if fails else 0)
PYEOF
		[ $? -eq 0 ] || failures=$((failures + 1))
	fi
fi

echo
if [ $failures -gt 0 ]; then
	echo "check-deploy: $failures check(s) failed"
	exit 1
fi
echo "check-deploy: all checks passed ($skips skipped)"

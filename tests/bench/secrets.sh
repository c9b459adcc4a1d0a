#!/usr/bin/env bash
# Benchmark of `mlpol secrets` (the scanner of stdlib/src/secrets over a
# parallel walk, stdlib/src/secrets/tree.rs) against ripgrep with an
# equivalent pattern set and against detect-secrets.
#
# Generates a 20 000-file repository in a temporary directory (Python
# sources, YAML/JSON configs, docs, a .venv with 3 000 files, four 5 MB
# files, lockfiles and placeholder traps, 30 planted fake secrets), then
# times each tool and reports wall time (hyperfine when installed, else the
# median of /usr/bin/time runs), the ratio to mlpol, peak RSS and what each
# tool reported. All three tools leave `.venv/` out (mlpol skips it like the
# file collector does; rg and detect-secrets are told to).
#
# Tools (none is installed by this script):
#   apt-get install -y hyperfine ripgrep
#   python3 -m venv /tmp/ds && /tmp/ds/bin/pip install detect-secrets
#
# Environment: RUNS (default 5), DS (detect-secrets binary, default
# .ci/cache/bench-venv/bin/detect-secrets, else /tmp/ds/bin/detect-secrets),
# KEEP=1 keeps the generated repository, REPO_DIR=<dir> reuses one kept
# before. mlpol and rg both use every core.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
DS=${DS:-$ROOT/.ci/cache/bench-venv/bin/detect-secrets}
[ -x "$DS" ] || DS=/tmp/ds/bin/detect-secrets
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlpol-secrets-bench.XXXXXX")
REPO=$WORK/repo
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi

echo "== building mlpol (release)"
(cd "$ROOT" && cargo build --release -q -p mlpol)
MLPOL=${CARGO_TARGET_DIR:-$ROOT/target}/release/mlpol
[ -x "$MLPOL" ] || { echo "no $MLPOL" >&2; exit 1; }

if [ -n "${REPO_DIR:-}" ]; then
  REPO=$REPO_DIR; cp "$REPO_DIR/../planted.txt" "$WORK/planted.txt"
else
echo "== generating $REPO"
python3 - "$REPO" "$WORK/planted.txt" <<'PY'
import os, random, sys, base64, json
root, planted_path = sys.argv[1], sys.argv[2]
rnd = random.Random(20240601)
U, L, D = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"
def r(alpha, n): return "".join(rnd.choice(alpha) for _ in range(n))
def alnum(n): return r(U, 1) + r(L, 1) + r(D, 1) + r(U + L + D, n - 3)
def b64(n): return r(U, 1) + r(L, 1) + r(D, 1) + r(U + L + D + "+/", n - 3)
def hexs(n): return r("0123456789abcdef", n)
def write(rel, text):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f: f.write(text)
dash = "-" * 5
def pem(kind, body_lines):
    return f"{dash}BEGIN {kind}PRIVATE KEY{dash}\n" + "\n".join(b64(64) for _ in range(body_lines)) + f"\n{dash}END {kind}PRIVATE KEY{dash}\n"

py_tpl = '''"""Training step {i}."""
import os
import json
from transformers import AutoTokenizer

DB_PASSWORD = os.environ["DB_PASSWORD"]
TOKEN = os.getenv("HF_TOKEN")

def load(path, key="model"):
    tokenizer = AutoTokenizer.from_pretrained(path)
    with open(path) as f:
        cfg = json.load(f)
    for key, value in cfg.items():
        if key.startswith("secret_"):
            continue
    run_id = "{uuid}"
    checksum = "{sha}"
    max_tokens = {n}
    return tokenizer, cfg[key]

def train(batch, lr=3e-4):
    loss = 0.0
    for step, x in enumerate(batch):
        loss += float(x) * lr
    return loss
'''
yaml_tpl = '''model:
  name: bert-{i}
  max_tokens: 512
  checkpoint: s3://models/bert-{i}/{sha}
tracking:
  uri: http://mlflow:5000
  password: ${{MLFLOW_PASSWORD}}
  token: "{{{{ vault_token }}}}"
resources:
  cpu: 2
  memory: 4Gi
'''
def uuid(): return f"{hexs(8)}-{hexs(4)}-4{hexs(3)}-a{hexs(3)}-{hexs(12)}"

n = 0
for i in range(12000):
    write(f"src/pkg{i % 60}/mod_{i}.py", py_tpl.format(i=i, uuid=uuid(), sha=hexs(64), n=rnd.randint(64, 4096))); n += 1
for i in range(3000):
    write(f"configs/exp{i % 30}/run_{i}.yaml", yaml_tpl.format(i=i, sha=hexs(40))); n += 1
for i in range(1400):
    write(f"configs/json/cfg_{i}.json", json.dumps({"run_id": uuid(), "digest": "sha256:" + hexs(64), "params": {"lr": 0.001, "epochs": i % 50}, "eos_token": "</s>"}, indent=2) + "\n"); n += 1
for i in range(560):
    write(f"docs/page_{i}.md", f"# Page {i}\n\nSet your password in the vault. The API token is read from `HF_TOKEN`.\n\n```bash\nexport OPENAI_API_KEY=your-key-here\n```\n"); n += 1
for i in range(3000):
    write(f".venv/lib/python3.11/site-packages/dep{i % 100}/m{i}.py", py_tpl.format(i=i, uuid=uuid(), sha=hexs(64), n=i)); n += 1

# Four 5 MB files: CSV, a one-line minified bundle, JSON, a log.
MB5 = 5 * 1024 * 1024
rows = []
size = 0
while size < MB5:
    row = f"{rnd.randint(0, 10**6)},{rnd.random():.6f},{r(L, 12)},token_{rnd.randint(0, 99)}\n"; rows.append(row); size += len(row)
write("data/train.csv", "".join(rows))
chunks, size = [], 0
while size < MB5:
    c = f"var {r(L, 6)}=function(key,token){{return key+token+{rnd.randint(0, 999)}}};"; chunks.append(c); size += len(c)
write("static/app.min.js", "".join(chunks) + "\n")
items, size = [], 0
while size < MB5:
    it = json.dumps({"id": uuid(), "vec": [round(rnd.random(), 4) for _ in range(8)], "key": hexs(32)}); items.append(it); size += len(it) + 2
write("data/embeddings.json", "[\n" + ",\n".join(items) + "\n]\n")
lines, size = [], 0
while size < MB5:
    ln = f"2024-06-01T00:00:{rnd.randint(10, 59)} INFO step={rnd.randint(0, 10**5)} loss={rnd.random():.4f} tokens={rnd.randint(0, 4096)}\n"; lines.append(ln); size += len(ln)
write("logs/train.log", "".join(lines))
n += 4

# Lockfiles and placeholder traps.
write("uv.lock", "".join(f'[[package]]\nname = "keyring-{i}"\nsdist = {{ url = "https://files/keyring-{i}.tar.gz", hash = "sha256:{hexs(64)}" }}\n' for i in range(300)))
write("package-lock.json", json.dumps({"packages": {f"node_modules/js-tokens-{i}": {"resolved": f"https://registry.npmjs.org/js-tokens/-/js-tokens-{i}.tgz", "integrity": "sha512-" + b64(86) + "=="} for i in range(300)}}, indent=2))
write(".env.example", "OPENAI_API_KEY=your-openai-key\nDB_PASSWORD=<db password>\nSECRET_KEY=changeme\n")
write("docs/aws.md", "aws_access_key_id = " + "AKIAIOSFODNN7" + "EXAMPLE\naws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY\n")
n += 4

# 30 planted secrets: (path, line, rule).
planted = []
def plant(rel, lines, at_rules):
    write(rel, "".join(l + "\n" for l in lines))
    for line_no, rule in at_rules:
        planted.append((rel, line_no, rule))
akid = "AK" + "IA" + r(U + D, 16)
plant("config/aws.ini", ["[default]", f"aws_access_key_id = {akid}", f"aws_secret_access_key = {b64(40)}"], [(2, "aws-access-key-id"), (3, "aws-secret-access-key")])
plant(".env", ["APP=ml", "GITHUB_TOKEN=" + "ghp" + "_" + alnum(36), "SECRET_KEY=" + alnum(32), "WANDB_API_KEY=" + hexs(40)], [(2, "github-token"), (3, "generic-assignment"), (4, "wandb-api-key")])
plant("scripts/deploy.sh", ["#!/bin/sh", 'curl -H "Authorization: token ' + "ghp" + "_" + alnum(36) + '" https://api.github.com/user'], [(2, "github-token")])
plant(".gitlab-ci.yml", ["variables:", "  GL_API: " + "glpat" + "-" + alnum(20)], [(2, "gitlab-token")])
plant("src/notify.py", ["from slack_sdk import WebClient", 'client = WebClient("' + "xoxb" + f"-{r(D, 11)}-{r(D, 12)}-{alnum(24)}" + '")'], [(2, "slack-token")])
plant("config/alerts.yaml", ["alerts:", "  webhook: https://" + "hooks.slack.com" + f"/services/T{r(U + D, 8)}/B{r(U + D, 10)}/{alnum(24)}"], [(2, "slack-webhook")])
plant("src/pkg1/train_hf.py", ["from huggingface_hub import login", 'login("' + "hf" + "_" + r(U + L, 34) + '")'], [(2, "huggingface-token")])
plant("src/pkg2/push.py", ["import os", 'os.environ["HF_TOKEN"] = "' + "hf" + "_" + r(U + L, 34) + '"'], [(2, "huggingface-token")])
plant("src/agent.py", ["from openai import OpenAI", 'client = OpenAI(api_key="' + "sk" + "-" + alnum(20) + "T3Blbk" + "FJ" + alnum(20) + '")', 'claude = Anthropic(api_key="' + "sk" + "-ant-api03-" + alnum(93) + '")'], [(2, "openai-api-key"), (3, "anthropic-api-key")])
write("deploy/id_rsa", pem("RSA ", 25)); planted.append(("deploy/id_rsa", 1, "private-key"))
plant("k8s/values.yaml", ["ssh:", "  key: |"] + ["    " + l for l in pem("OPENSSH ", 6).splitlines()], [(3, "private-key")])
hdr = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
pay = base64.urlsafe_b64encode(b'{"sub":"svc","iat":1700000000}').decode().rstrip("=")
plant("tests/fixtures/req.http", ["GET /api/models", f"Authorization: Bearer {hdr}.{pay}.{alnum(43)}"], [(2, "jwt")])
plant("mlflow.env", [f"MLFLOW_BACKEND_STORE_URI=postgresql://mlflow:{alnum(16)}@db:5432/mlflow"], [(1, "database-url-password")])
plant("airflow/airflow.cfg", ["[core]", f"sql_alchemy_conn = mysql+pymysql://airflow:{alnum(14)}@mysql/airflow", f"fernet_key = {b64(43)}="], [(2, "database-url-password"), (3, "generic-assignment")])
plant("src/pkg3/db.py", ["import psycopg2", f'DB_PASSWORD = "{alnum(18)}"'], [(2, "generic-assignment")])
plant("configs/prod.yaml", ["database:", f"  password: {alnum(16)}"], [(2, "generic-assignment")])
plant("configs/service.json", ["{", f'  "api_key": "{alnum(32)}"', "}"], [(2, "generic-assignment")])
plant("docker-compose.yml", ["services:", "  db:", "    environment:", f"      - POSTGRES_PASSWORD={alnum(20)}"], [(4, "generic-assignment")])
plant(".pypirc", ["[pypi]", "username = __token__", f"password = pypi-{alnum(60)}"], [(3, "generic-assignment")])
plant("k8s/secret.yaml", ["apiVersion: v1", "kind: Secret", "data:", "  password: " + base64.b64encode(alnum(18).encode()).decode()], [(4, "generic-assignment")])
plant("config/azure.env", [f"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=mlprod;AccountKey={b64(86)}==;EndpointSuffix=core.windows.net", f"MODEL_URL=https://mlprod.blob.core.windows.net/m/model.onnx?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig={alnum(20)}%2B{alnum(21)}%3D"], [(1, "azure-storage-connection-string"), (2, "azure-sas-token")])
plant("gcp/sa.json", ["{", '  "type": "service_account",', f'  "private_key": "{dash}BEGIN PRIVATE KEY{dash}\\n{b64(64)}\\n{b64(64)}\\n{dash}END PRIVATE KEY{dash}\\n",', '  "client_email": "trainer@ml.iam.gserviceaccount.com"', "}"], [(3, "gcp-service-account")])
plant("configs/mongo.yaml", ["storage:", f"  uri: mongodb+srv://app:{alnum(12)}@cluster0.example.net/features"], [(2, "database-url-password")])
plant("web/maps.js", ["const KEY = '" + "AI" + "za" + alnum(35) + "';"], [(1, "gcp-api-key")])
n += 26
with open(planted_path, "w") as f:
    for p in planted: f.write(f"{p[0]}:{p[1]} {p[2]}\n")
print(f"{n} files, {len(planted)} planted secrets")
PY
fi
du -sh --exclude=.venv "$REPO" | sed 's/^/size without .venv: /'
du -sh "$REPO" | sed 's/^/size with .venv: /'

# The equivalent pattern set for ripgrep.
cat > "$WORK/rg.sh" <<EOF
#!/bin/sh
exec rg --hidden -c --no-messages -g '!.venv/' \\
  -e '(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}' \\
  -e '(?i)(aws_?secret_?(access_?)?key|secret_?access_?key).{0,6}[A-Za-z0-9/+]{40}' \\
  -e '"private_key"\\s*:\\s*"-----BEGIN' \\
  -e 'AIza[0-9A-Za-z_-]{35}' \\
  -e '(?i)AccountKey\\s*=\\s*[A-Za-z0-9+/]{40,}' \\
  -e '(?i)sig=[A-Za-z0-9%+/=]{30,}' \\
  -e 'gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,}' \\
  -e '(glpat|gldt|glptt|glrt|glcbt)-[A-Za-z0-9_-]{20,}' \\
  -e 'xox[abeoprs]-[A-Za-z0-9-]{10,}' \\
  -e 'hooks\\.slack\\.com/(services|workflows|triggers)/[A-Za-z0-9+/_-]{20,}' \\
  -e 'hf_[A-Za-z0-9]{34,40}' \\
  -e 'sk-[A-Za-z0-9_-]{20,}' \\
  -e '-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY' \\
  -e 'eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}' \\
  -e '(?i)(postgres(ql)?|mysql|mariadb|mongodb(\\+srv)?|rediss?|amqps?)(\\+[a-z0-9]+)?://[^\\s:/@]*:[^\\s@/]+@' \\
  -e '(?i)wandb.{0,20}key.{0,6}[0-9a-f]{40}' \\
  -e '(?i)[a-z0-9_.-]*(pass(word|wd)?|pwd|secret|token|api_?key|access_?key)[a-z0-9_.-]*["'"'"'\\]]?\\s*(:=|=>|=|:)\\s*["'"'"']?[^\\s"'"'"']{8,}' \\
  "$REPO"
EOF
cat > "$WORK/mlpol.sh" <<EOF
#!/bin/sh
exec "$MLPOL" secrets "$REPO"
EOF
cat > "$WORK/ds.sh" <<EOF
#!/bin/sh
cd "$REPO" && exec "$DS" scan --all-files --exclude-files '(^|/)\\.venv/'
EOF
chmod +x "$WORK"/*.sh

tools="mlpol"
command -v rg > /dev/null && tools="$tools rg" || echo "ripgrep not installed: apt-get install -y ripgrep"
[ -x "$DS" ] && tools="$tools ds" || echo "detect-secrets not found at $DS"

echo "== what each tool reports"
"$MLPOL" secrets "$REPO" > "$WORK/mlpol.out" 2> "$WORK/mlpol.err" || true
cat "$WORK/mlpol.err"
python3 - "$WORK/planted.txt" "$WORK/mlpol.out" <<'PY'
import sys
planted = [l.split() for l in open(sys.argv[1]) if l.strip()]
found = {}
for l in open(sys.argv[2]):
    loc, rule = l.split()[0], l.split()[1]
    path, line, _ = loc.rsplit(":", 2)
    found.setdefault(f"{path}:{line}", []).append(rule)
hit = [p for p in planted if p[1] in found.get(p[0], [])]
miss = [p for p in planted if p not in hit]
extra = sum(len(v) for v in found.values()) - len(hit)
print(f"mlpol: {len(hit)}/{len(planted)} planted secrets found, {extra} other findings")
for p in miss: print(f"  missed {p[0]} {p[1]}")
PY
if [[ " $tools " == *" rg "* ]]; then
  sh "$WORK/rg.sh" > "$WORK/rg.out" || true
  awk -F: '{n += $NF; f++} END {printf "rg: %d matching lines in %d files\n", n, f}' "$WORK/rg.out"
fi
if [[ " $tools " == *" ds "* ]]; then
  sh "$WORK/ds.sh" > "$WORK/ds.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(f"detect-secrets: {sum(len(v) for v in r.values())} results in {len(r)} files")' "$WORK/ds.json"
fi

echo "== timing ($RUNS runs each, after a warm-up)"
declare -A WALL CPU RSS
for t in $tools; do
  runs=$RUNS
  [ "$t" = ds ] && runs=$(( RUNS < 2 ? RUNS : 2 ))  # detect-secrets is slow
  if command -v hyperfine > /dev/null; then
    hyperfine -N -i -w 1 -r "$runs" --export-json "$WORK/$t.json" "sh $WORK/$t.sh" > /dev/null 2>&1 \
      || hyperfine -i -w 1 -r "$runs" --export-json "$WORK/$t.json" "sh $WORK/$t.sh" > /dev/null
    read -r WALL[$t] CPU[$t] < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["median"], r["user"] + r["system"])' "$WORK/$t.json")
  else
    sh "$WORK/$t.sh" > /dev/null 2>&1 || true
    : > "$WORK/times"
    for _ in $(seq "$runs"); do
      /usr/bin/time -f '%e %U %S' -o "$WORK/t" sh "$WORK/$t.sh" > /dev/null 2>&1 || true
      tail -1 "$WORK/t" >> "$WORK/times"
    done
    read -r WALL[$t] CPU[$t] < <(python3 -c 'import sys; t=[list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]; w=sorted(x[0] for x in t); print(w[(len(w)-1)//2], sum(x[1]+x[2] for x in t)/len(t))' "$WORK/times")
  fi
  /usr/bin/time -f '%M' -o "$WORK/rss" sh "$WORK/$t.sh" > /dev/null 2>&1 || true
  RSS[$t]=$(tail -1 "$WORK/rss")
done

echo
printf '%-16s %10s %9s %10s %9s %10s\n' tool "wall (s)" "vs mlpol" "CPU (s)" "vs mlpol" "peak RSS"
for t in $tools; do
  name=$t; [ "$t" = ds ] && name=detect-secrets; [ "$t" = rg ] && name=ripgrep
  printf '%-16s %10.3f %8.1fx %10.3f %8.1fx %7d MB\n' "$name" "${WALL[$t]}" \
    "$(python3 -c "print(${WALL[$t]} / ${WALL[mlpol]})")" "${CPU[$t]}" "$(python3 -c "print(${CPU[$t]} / ${CPU[mlpol]})")" \
    "$(( ${RSS[$t]} / 1024 ))"
done
echo "(cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg); wall time = median, CPU = user+system mean;"
echo " mlpol and rg use all cores; detect-secrets runs in one process)"

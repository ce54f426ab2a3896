#!/usr/bin/env python3
"""hook_paths.py: which hook path runs on a Codex release (the README's release table).

    tests/codex/hook_paths.py <codex> <config|hooksjson|plugin> <bypass|none>

Runs the shell scenario once against the mock (capture.py's config) with one capture handler
per event registered through ``config.toml`` ``[hooks]``, ``$CODEX_HOME/hooks.json`` or a copy
of this repository's plugin (``codex plugin marketplace add`` + ``plugin add``, its hooks.json
pointed at the capture handler), with or without ``--dangerously-bypass-hook-trust``, and prints
one line: the exit status, the hook events that ran, the plugin commands' outcome and any hook
warning Codex printed. Scratch in ``~/.cache/hp/``.
"""
import json, os, shutil, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import capture  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402
codex, path, trust = sys.argv[1], sys.argv[2], sys.argv[3]
version = subprocess.run([codex, "--version"], capture_output=True, text=True).stdout.split()[-1]
work = Path.home()/".cache/hp"/f"{version}-{path}-{trust}"
if work.exists(): shutil.rmtree(work)
sc = SCENARIOS["shell"]
run = capture.Run(sc, work, Path(codex))
for d in (run.home, run.project, run.captures): d.mkdir(parents=True)
port = run.start_mock()
cfg = capture.config_toml(port, run.captures, sc)
base = cfg.split("[[hooks.")[0]
cap = f'cat > "{run.captures}/$(date +%s%N)-$$.json"'
groups = {ev: [{**({"matcher": m} if m else {}), "hooks": [{"type": "command", "command": cap, "timeout": t}]}] for ev, m, t in capture.EVENTS}
env = {**os.environ, "CODEX_HOME": str(run.home), "MOCK_API_KEY": "sk-mock"}
notes = ""
if path == "config":
    (run.home/"config.toml").write_text(cfg)
else:
    (run.home/"config.toml").write_text(base)
if path == "hooksjson":
    (run.home/"hooks.json").write_text(json.dumps({"hooks": groups}))
if path == "plugin":
    src = work/"market"
    shutil.copytree(REPO/"plugin", src/"plugin")
    shutil.copytree(REPO/".agents", src/".agents")
    hj = json.load(open(src/"plugin/hooks/hooks.json"))
    hj["hooks"] = groups
    json.dump(hj, open(src/"plugin/hooks/hooks.json","w"))
    for a in (["plugin","marketplace","add",str(src)], ["plugin","add","codex-otel@codex-otel"]):
        r = subprocess.run([codex,*a], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        notes += f"{a[1:3]} rc={r.returncode} {r.stderr.strip()[-200:]!r} "
flag = ["--dangerously-bypass-hook-trust"] if trust == "bypass" else []
r = subprocess.run([codex,"exec",*flag,"--skip-git-repo-check","please run echo hello"], cwd=run.project, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
run.stop_mock()
names = [json.loads(p.read_text())["hook_event_name"] for p in sorted(run.captures.glob("*.json"))]
errs = [l for l in r.stderr.splitlines() if "hook" in l.lower() and ("error" in l.lower() or "warn" in l.lower() or "unknown" in l.lower() or "fail" in l.lower())][:3]
print(f"{version} {path} {trust}: rc={r.returncode} hooks={names} {notes} {errs}")

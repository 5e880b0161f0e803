#!/usr/bin/env python3
"""Checks docker-compose.yml and the Dockerfile against the binaries and the launcher, without Docker.

The launcher (scripts/lib/stack.sh) passes the flags that connect the three parts (binds, URLs,
the data dir) and exports the secrets; compose sets the same settings as environment variables.
This asks the built binaries which variable each flag reads (clap's `[env: NAME]` and
`[default: VALUE]` in `--help`) and the launcher for its commands (`stack.sh argv PART`), and
checks that compose sets no variable its binary does not read, sets every one the launcher's
flags and secrets stand for, and wires them together (ports, health checks, control endpoint,
RPC, volumes, profiles), and that the Dockerfile builds and installs what the services call.
One line per check; non-zero exit when any fails:

    python3 scripts/check-compose.py --indexer target/debug/indexer \\
        --query-api target/debug/query-api --fixture-node target/debug/fixture-node

Compose variables are interpolated with an empty environment, so the file's own defaults are what
is checked (`${VAR:?…}` becomes `<VAR>`). Needs Python 3.11 and PyYAML.
"""

import argparse
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
# service -> (binary, subcommand, the launcher's part starting the same process or None).
SERVICES = {
    "indexer": ("indexer", "run", "indexer"),
    "query-api": ("query-api", "serve", "api"),
    "fixture-node": ("fixture-node", "serve", "node"),
    "replica": ("indexer", "follow", None),
    "replica-api": ("query-api", "serve", None),
}
PROFILES = {"indexer": [], "query-api": [], "fixture-node": ["demo"], "nats": ["nats"], "replica": ["replica"], "replica-api": ["replica"]}
SECRETS = ("JWT_SECRET", "CONTROL_TOKEN")  # what stack_secrets exports, where the binary reads it
EXTRA_ENV = {"RUST_LOG", "RUST_BACKTRACE"}  # read outside clap (the logger, the Rust runtime)
HEALTH = {"indexer": "/metrics", "query-api": "/health", "fixture-node": None, "replica": "/metrics", "replica-api": "/health"}
PUBLIC = [("indexer", "METRICS_BIND"), ("query-api", "DFPN_BIND"), ("query-api", "PSY_BIND"), ("query-api", "METRICS_BIND")]
PAIRS = [("indexer", "query-api"), ("replica", "replica-api")]  # a writer and the API sharing its network and volume
PROGRAM_IDS = [f"DFPN_{p}_PROGRAM_ID" for p in ("MARKETPLACE", "WORKER_REGISTRY", "MODEL_REGISTRY", "CONTENT_REGISTRY", "REWARDS")] + ["PSY_PROGRAM_ID"]


def interpolate(value):
    """Compose's `${VAR:-default}` (the default), `${VAR:?error}` (`<VAR>`), `${VAR}` (empty)."""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if not isinstance(value, str):
        return value
    pattern = r"\$\{(\w+)(?::?([-?+])([^}]*))?\}"
    return re.sub(pattern, lambda m: m[3] if m[2] == "-" else f"<{m[1]}>" if m[2] == "?" else "", value)


def help_flags(binary, subcommand):
    """`binary subcommand --help` as {flag: (env or None, default or None)}."""
    done = subprocess.run([binary, subcommand, "--help"], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"})
    if done.returncode != 0:
        raise SystemExit(f"FAIL `{binary} {subcommand} --help` exited with {done.returncode}: {done.stderr[:200]}")
    flags = {}
    for block in re.split(r"\n(?=\s*(?:-\w,\s*)?--[\w-])", done.stdout):
        flag, env, default = re.search(r"--[\w-]+", block), re.search(r"\[env:\s*(\w+)", block), re.search(r"\[default:\s*([^\]]*)\]", block)
        if flag:
            flags[flag[0]] = (env and env[1], default and default[1].strip())
    return flags


def launcher_flags(part):
    """The flags of the launcher's canonical command of `part` (without values)."""
    argv = subprocess.run(["bash", str(ROOT / "scripts/lib/stack.sh"), "argv", part], capture_output=True,
                          text=True, check=True, env={**os.environ, "STACK_BIN": "bin", "RPC_PORT": "1", "DFPN_PORT": "2",
                          "PSY_PORT": "3", "METRICS_PORT": "4", "API_METRICS_PORT": "5", "CONTROL_PORT": "6"}).stdout
    return [word for word in argv.split("\0") if word.startswith("--")]


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def host_port(text):
    host, _, port = (text or "").rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else None


def published(service):
    """Container ports a service publishes, with the host address (None: every interface)."""
    ports = []
    for entry in service.get("ports") or []:
        parts = str(entry).split("/")[0].split(":")
        ports.append((parts[0] if len(parts) == 3 else None, int(parts[-1])))
    return ports


def words(service):
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


class Checker:
    def __init__(self, args):
        self.args, self.failed, self.total = args, 0, 0
        self.compose = interpolate(yaml.safe_load(Path(args.compose).read_text()))
        self.services = self.compose["services"]
        paths = {"indexer": args.indexer, "query-api": args.query_api, "fixture-node": args.fixture_node}
        self.flags = {name: help_flags(paths[b], sub) for name, (b, sub, _) in SERVICES.items()}

    def check(self, name, problems):
        self.total += 1
        problems = list(problems)
        self.failed += bool(problems)
        print(f"FAIL {name}: " + "; ".join(problems) if problems else f"ok   {name}")

    def env(self, name):
        return environment(self.services[name])

    def value(self, name, variable):
        """What the service's binary uses for `variable`: compose's value, else the flag's default."""
        defaults = {env: default for env, default in self.flags[name].values() if env}
        return self.env(name).get(variable) or defaults.get(variable)

    def owner(self, name):
        mode = self.services[name].get("network_mode") or ""
        return mode.split(":", 1)[1] if mode.startswith("service:") else name

    def listeners(self, owner):
        """({port: (service, variable, host)}, problems) of every *_BIND in `owner`'s network namespace."""
        found, problems = {}, []
        for name in SERVICES:
            if self.owner(name) != owner:
                continue
            for env, _ in self.flags[name].values():
                if env and env.endswith("_BIND") and self.value(name, env):
                    host, port = host_port(self.value(name, env))
                    if name == "query-api" and env == "PSY_BIND" and self.value(name, "PORT"):
                        port = int(self.value(name, "PORT"))  # --port overrides --psy-bind's port
                    if port in found:
                        problems.append(f"{name} {env} and {found[port][0]} {found[port][1]} both use port {port}")
                    found[port] = (name, env, host)
        return found, problems

    # ---- the checks: each yields its problems ----
    def commands(self):
        for name, (binary, sub, _) in SERVICES.items():
            if [Path(w).name for w in words(self.services[name])[:2]] != [binary, sub]:
                yield f"{name} runs {words(self.services[name])}, not `{binary} {sub}`"
        for name, profiles in PROFILES.items():
            if (self.services[name].get("profiles") or []) != profiles:
                yield f"{name} has profiles {self.services[name].get('profiles')}, not {profiles}"

    def env_known(self):
        for name, (binary, sub, _) in SERVICES.items():
            known = {env for env, _ in self.flags[name].values()} | EXTRA_ENV
            for variable in sorted(set(self.env(name)) - known):
                yield f"{name}: {variable} is read by no flag of `{binary} {sub}`"

    def launcher(self):
        for name, (binary, sub, part) in SERVICES.items():
            if part is None:
                continue
            for flag in launcher_flags(part):
                env = self.flags[name].get(flag, (None,))[0]
                if flag not in self.flags[name]:
                    yield f"the launcher passes {flag}, which `{binary} {sub}` does not have"
                elif env and env not in self.env(name):
                    yield f"the launcher passes {flag} to `{binary} {sub}`; {name} sets no {env}"
            readers = {env for env, _ in self.flags[name].values()}
            yield from (f"{name} sets no {s} (the launcher exports it)" for s in SECRETS if s in readers and s not in self.env(name))

    def network(self):
        for owner in {self.owner(name) for name in SERVICES}:
            found, problems = self.listeners(owner)
            yield from problems
            for _, port in published(self.services[owner]):
                if port not in found:
                    yield f"{owner} publishes port {port}, on which nothing in its network listens"
                elif found[port][2] != "0.0.0.0":
                    yield f"{owner} publishes port {port}, but {found[port][0]} {found[port][1]} binds {found[port][2]}"
            for name in SERVICES:
                if self.owner(name) == owner != name and self.services[name].get("ports"):
                    yield f"{name} shares {owner}'s network: its ports must be published on {owner}"
        for name, variable in PUBLIC:
            if host_port(self.value(name, variable))[1] not in {p for _, p in published(self.services[self.owner(name)])}:
                yield f"{name} {variable} is not published"
        host, port = host_port(self.value("indexer", "CONTROL_BIND"))
        if host != "127.0.0.1" or port in {p for _, p in published(self.services["indexer"])}:
            yield f"the indexer's CONTROL_BIND {host}:{port} must stay on loopback, unpublished"
        url = urlsplit(self.value("query-api", "CONTROL_URL") or "")
        if (url.hostname, url.port) != ("127.0.0.1", port):
            yield f"query-api CONTROL_URL {url.geturl()} does not reach CONTROL_BIND {host}:{port}"
        for writer, api in PAIRS:
            if self.owner(api) != writer:
                yield f"{api} is not in {writer}'s network (network_mode: service:{writer})"
        if len({self.env(name).get("CONTROL_TOKEN") for name in ("indexer", "query-api")}) != 1:
            yield "CONTROL_TOKEN differs between indexer and query-api"

    def healthchecks(self):
        for name, path in HEALTH.items():
            test = " ".join((self.services[name].get("healthcheck") or {}).get("test") or [])
            urls = [urlsplit(w) for w in test.split() if re.match(r"https?://", w)]
            ports = {port for port, (owner, _, _) in self.listeners(self.owner(name))[0].items() if owner == name}
            if "curl" not in test or not urls or urls[0].port not in ports or (path and urls[0].path != path):
                yield f"{name}'s health check {test!r} does not curl {path or 'a path'} on one of its ports {sorted(ports)}"

    def rpc_and_volumes(self):
        _, node_port = host_port(self.value("fixture-node", "FIXTURE_BIND"))
        for variable, scheme in (("RPC_URL", "http"), ("RPC_WS_URL", "ws")):
            url = urlsplit(self.value("indexer", variable) or "")
            if url.scheme != scheme or (url.hostname == "fixture-node" and url.port != node_port):
                yield f"indexer {variable} {url.geturl()} does not reach the fixture node's port {node_port} over {scheme}"
        yield from (f"{v} differs between indexer and fixture-node" for v in PROGRAM_IDS
                    if self.value("indexer", v) != self.value("fixture-node", v))
        if self.value("replica", "NATS_STREAM") != self.value("indexer", "NATS_STREAM") or not self.value("replica", "NATS_URL"):
            yield "the replica does not follow the indexer's NATS_STREAM over a NATS_URL"
        volumes = []
        for pair in PAIRS:
            data = {self.value(name, "INDEXER_DATA_DIR") for name in pair}
            mounts = {v for name in pair for v in self.services[name].get("volumes") or [] if str(v).split(":")[1:2] == list(data)}
            if len(data) != 1 or len(mounts) != 1 or str(next(iter(mounts))).endswith(":ro"):
                yield f"{' and '.join(pair)} must mount one volume read-write at the same INDEXER_DATA_DIR, got {data} {mounts}"
            else:
                volumes.append(str(next(iter(mounts))).split(":")[0])
        if len(set(volumes)) != len(volumes) or not set(volumes) <= set(self.compose.get("volumes") or {}):
            yield f"the pairs' data volumes {volumes} must be declared named volumes, one per pair"

    def dockerfile(self):
        path = Path(self.args.dockerfile)
        text = re.sub(r"\\\n", " ", path.read_text())
        stages = re.split(r"^FROM ", text, flags=re.M)[1:]
        build = next((line for line in text.splitlines() if "cargo build" in line), "")
        for flag in ("--release", "--locked"):
            if flag not in build:
                yield f"`cargo build` without {flag}"
        members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
        packages = {tomllib.loads((ROOT / m / "Cargo.toml").read_text())["package"]["name"]: m for m in members}
        built = set(re.findall(r"-p\s+([\w-]+)", build))
        runtime = stages[-1] if len(stages) > 1 else ""
        for binary in {b for b, _, _ in SERVICES.values()}:
            owners = [p for p, m in packages.items() if (ROOT / m / "src/bin" / f"{binary}.rs").exists()
                      or (p == binary and (ROOT / m / "src/main.rs").exists())
                      or binary in {b["name"] for b in tomllib.loads((ROOT / m / "Cargo.toml").read_text()).get("bin", [])}]
            if not set(owners) & built:
                yield f"`cargo build` builds no package of {binary} ({owners})"
            if f"target/release/{binary}" not in text or not re.search(rf"COPY --from=\S+ .*/{binary}\b.* /usr/local/bin/", runtime):
                yield f"{binary} is not copied from target/release into the runtime stage's /usr/local/bin"
        users = re.findall(r"^USER (\S+)", runtime, flags=re.M)
        if not users or users[-1].split(":")[0] in ("root", "0"):
            yield "the runtime stage runs as root"
        if not re.search(r"^RUN .*\bcurl\b", runtime, flags=re.M):
            yield "the runtime stage does not install curl (the health checks use it)"
        if self.value("indexer", "INDEXER_DATA_DIR") not in " ".join(re.findall(r"^VOLUME (.*)", runtime, flags=re.M)):
            yield "the runtime stage declares no VOLUME at INDEXER_DATA_DIR"
        for name in SERVICES:
            build_spec = self.services[name].get("build") or {}
            if (Path(self.args.compose).parent / build_spec.get("context", "?") / build_spec.get("dockerfile", "Dockerfile")).resolve() != path.resolve():
                yield f"{name} is not built from {path}"

    def run(self):
        self.check("commands and profiles of the five services", self.commands())
        self.check("every compose variable is read by a flag of its binary", self.env_known())
        self.check("every flag and secret of the launcher (scripts/lib/stack.sh) is set in compose", self.launcher())
        self.check("ports, control endpoint and shared networks", self.network())
        self.check("health checks curl the service's own listener", self.healthchecks())
        self.check("RPC URLs and program ids, NATS stream, data volumes", self.rpc_and_volumes())
        self.check("Dockerfile builds and installs the binaries the commands call", self.dockerfile())


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "indexer-target")) / "debug"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    for binary in ("indexer", "query-api", "fixture-node"):
        parser.add_argument(f"--{binary}", default=str(target / binary), help=f"path to the built {binary} binary")
    parser.add_argument("--compose", default=str(ROOT / "docker-compose.yml"))
    parser.add_argument("--dockerfile", default=str(ROOT / "Dockerfile"))
    checker = Checker(parser.parse_args())
    checker.run()
    print(f"check-compose: {checker.failed} of {checker.total} checks failed" if checker.failed
          else f"check-compose: all {checker.total} checks passed")
    return 1 if checker.failed else 0


if __name__ == "__main__":
    sys.exit(main())

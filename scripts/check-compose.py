#!/usr/bin/env python3
"""Checks docker-compose.yml and the Dockerfile against the real binaries, without Docker.

The compose plugin and a Docker engine are not available where the tests run, so this reads the
files and asks the built binaries themselves which environment variables their flags read (clap
prints `[env: NAME=]` and `[default: VALUE]` in `--help`). It prints one line per check and exits
non-zero when any check fails:

    python3 scripts/check-compose.py --indexer target/debug/indexer \\
        --query-api target/debug/query-api --fixture-node target/debug/fixture-node

Compose variables are interpolated with an empty environment, so the file's own defaults are what
is checked (`${VAR:?…}` becomes `<VAR>` and is listed as required). Needs Python 3.11 and PyYAML.
"""

import argparse
import ipaddress
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent

# service -> (binary, subcommand) that its command must call.
SERVICES = {"indexer": ("indexer", "run"), "query-api": ("query-api", "serve"), "fixture-node": ("fixture-node", "serve")}
# The query replica of profile `replica` (issue 16): `indexer follow` and a query-api in its network.
REPLICAS = {"replica": ("indexer", "follow"), "replica-api": ("query-api", "serve")}
# Variables the binaries read outside clap (shared::process's logger, the Rust runtime).
EXTRA_ENV = {"RUST_LOG", "RUST_BACKTRACE"}
# Listeners that must be reachable from the host, and the one that must stay on loopback.
PUBLIC = [("indexer", "METRICS_BIND"), ("query-api", "DFPN_BIND"), ("query-api", "PSY_BIND"), ("query-api", "METRICS_BIND")]
LOOPBACK_ONLY = [("indexer", "CONTROL_BIND")]
# service -> (listener whose port the health check must hit, path it must ask; None: any path).
HEALTH = {"indexer": ("METRICS_BIND", "/metrics"), "query-api": ("PSY_BIND", "/health"), "fixture-node": ("FIXTURE_BIND", None)}
DATA_ENV = "INDEXER_DATA_DIR"


class Problem(Exception):
    """A check cannot go on."""


# ---- compose interpolation ---------------------------------------------------------------------
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_]\w*))"
)


def interpolate(value, env, required):
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `${VAR:+alt}` and `$$`, recursively."""
    if isinstance(value, dict):
        return {key: interpolate(item, env, required) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env, required) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg, current = match.group("op"), match.group("arg") or "", env.get(name)
        missing = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":-", "-"):
            return arg if missing else current
        if op in (":?", "?"):
            if missing:
                required[name] = arg
                return f"<{name}>"
            return current
        if op in (":+", "+"):
            return "" if missing else arg
        return current or ""

    return VARIABLE.sub(substitute, value)


# ---- what the binaries read ----------------------------------------------------------------------
def help_options(binary, subcommand):
    """Maps every `[env: NAME]` of `binary subcommand --help` to its `[default: …]` (or None)."""
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
    try:
        done = subprocess.run(
            [binary, subcommand, "--help"], capture_output=True, text=True, env=clean_env, timeout=60, check=False
        )
    except OSError as err:
        raise Problem(f"cannot run {binary}: {err}") from err
    if done.returncode != 0:
        raise Problem(f"`{binary} {subcommand} --help` exited with {done.returncode}: {done.stderr.strip()[:200]}")
    options = {}
    # One block per option: from a line starting with `-x, --flag` or `--flag` to the next one.
    for block in re.split(r"\n(?=\s*(?:-\w,\s*)?--[\w-])", done.stdout):
        default = re.search(r"\[default:\s*([^\]]*)\]", block)
        for name in re.findall(r"\[env:\s*([A-Za-z_]\w*)", block):
            options[name] = default.group(1).strip() if default else None
    if not options:
        raise Problem(f"`{binary} {subcommand} --help` lists no [env: …] at all")
    return options


# ---- small parsers ---------------------------------------------------------------------------------
def environment(service):
    """A service's environment as a dict (None: passed through from the host)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    return {key: (None if value is None else str(value)) for key, value in env.items()}


def socket_addr(text):
    """`host:port` or `[v6]:port` -> (host, port)."""
    match = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text or "")
    if not match:
        raise Problem(f"{text!r} is not an address host:port")
    return (match.group(1), int(match.group(2))) if match.group(1) else (match.group(3), int(match.group(4)))


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_unspecified(host):
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def published_ports(service):
    """[(host_ip, host_port, container_port)] of a service's `ports`."""
    result = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            result.append((entry.get("host_ip"), str(entry.get("published", "")) or None, int(entry["target"])))
            continue
        text = str(entry).split("/", 1)[0]
        ip = None
        bracketed = re.match(r"\[([^\]]+)\]:(.*)", text)
        if bracketed:
            ip, text = bracketed.group(1), bracketed.group(2)
        parts = text.split(":")
        if len(parts) == 3:
            ip, parts = parts[0], parts[1:]
        host, container = (parts[0] or None, parts[1]) if len(parts) == 2 else (None, parts[0])
        if not container.isdigit():
            raise Problem(f"port {entry!r}: ranges and names are not supported here")
        result.append((ip, host, int(container)))
    return result


def command_words(service):
    words = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        words += value.split() if isinstance(value, str) else list(value or [])
    return words


def dockerfile_stages(path):
    """[(from_line, [(INSTRUCTION, arguments)])] with continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stages.append((rest.strip(), []))
        elif stages:
            stages[-1][1].append((word.upper(), rest.strip()))
    return stages


def workspace_binaries(root):
    """package name -> set of binary names, over the workspace's members."""
    members = tomllib.loads((root / "Cargo.toml").read_text()).get("workspace", {}).get("members", [])
    packages = {}
    for member in members:
        crate = root / member
        manifest = tomllib.loads((crate / "Cargo.toml").read_text())
        name = manifest["package"]["name"]
        bins = {entry["name"] for entry in manifest.get("bin", [])}
        if (crate / "src" / "main.rs").exists():
            bins.add(name)
        bin_dir = crate / "src" / "bin"
        if bin_dir.is_dir():
            bins |= {p.stem for p in bin_dir.glob("*.rs")} | {p.name for p in bin_dir.iterdir() if (p / "main.rs").exists()}
        packages[name] = bins
    return packages


# ---- the checks ------------------------------------------------------------------------------------
class Checker:
    def __init__(self, args):
        self.args = args
        self.failed = 0
        self.total = 0
        self.required = {}
        raw = yaml.safe_load(Path(args.compose).read_text())
        if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
            raise Problem(f"{args.compose} has no `services` mapping")
        self.compose = interpolate(raw, {}, self.required)
        self.services = self.compose["services"]
        self.options = {}

    def check(self, name, function):
        self.total += 1
        try:
            problems = function() or []
        except Problem as err:
            problems = [str(err)]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            problems = [f"unexpected shape: {type(err).__name__}: {err}"]
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            print(f"ok   {name}")

    def service(self, name):
        if name not in self.services:
            raise Problem(f"no service {name!r}")
        return self.services[name]

    def opts(self, name):
        if name not in self.options:
            binary, subcommand = {**SERVICES, **REPLICAS}[name]
            self.options[name] = help_options(getattr(self.args, binary.replace("-", "_")), subcommand)
        return self.options[name]

    def value(self, service, variable):
        """What the binary of `service` uses for `variable`: compose's value, else its default."""
        env = environment(self.service(service))
        if env.get(variable) is not None:
            return env[variable]
        return self.opts(service).get(variable)

    def listener(self, service, variable):
        host, port = socket_addr(self.value(service, variable))
        if service == "query-api" and variable == "PSY_BIND" and self.value(service, "PORT"):
            port = int(self.value(service, "PORT"))  # --port overrides the port of --psy-bind
        return host, port

    def owner(self, service):
        """The service whose network namespace `service` lives in."""
        mode = self.service(service).get("network_mode") or ""
        return mode.split(":", 1)[1] if mode.startswith("service:") else service

    # -- individual checks --
    def services_exist(self):
        return [f"missing service {name!r}" for name in SERVICES if name not in self.services]

    def profiles(self):
        problems = []
        if "demo" not in (self.service("fixture-node").get("profiles") or []):
            problems.append("fixture-node is not under profile `demo`")
        for name in ("indexer", "query-api"):
            if self.service(name).get("profiles"):
                problems.append(f"{name} has profiles {self.service(name)['profiles']}: it must always start")
        return problems

    def commands(self):
        problems = []
        for name, expected in SERVICES.items():
            words = command_words(self.service(name))
            if [Path(w).name if i == 0 else w for i, w in enumerate(words[:2])] != list(expected):
                problems.append(f"{name} runs {words!r}, not `{' '.join(expected)}`")
        return problems

    def env_names(self, name):
        def check():
            known = self.opts(name)
            unknown = sorted(set(environment(self.service(name))) - set(known) - EXTRA_ENV)
            binary, subcommand = SERVICES[name]
            return [f"{var} is read by no flag of `{binary} {subcommand}`" for var in unknown]

        return check

    def ports(self):
        problems, host_ports = [], {}
        groups = {}
        for name in SERVICES:
            groups.setdefault(self.owner(name), []).append(name)
        for owner, members in groups.items():
            listeners = {}
            for member in members:
                for variable in self.opts(member):
                    if variable.endswith("_BIND") and self.value(member, variable):
                        host, port = self.listener(member, variable)
                        if port in listeners:
                            problems.append(f"{member} {variable} and {listeners[port][0]} {listeners[port][1]} both use port {port}")
                        listeners[port] = (member, variable, host)
            for member in members:
                if member != owner and self.service(member).get("ports"):
                    problems.append(f"{member} shares {owner}'s network: its ports must be published on {owner}")
            for ip, host_port, container in published_ports(self.service(owner)):
                key = (ip or "0.0.0.0", host_port or str(container))
                if key in host_ports:
                    problems.append(f"host port {key[1]} published twice")
                host_ports[key] = owner
                if container not in listeners:
                    problems.append(f"{owner} publishes port {container}, on which nothing in its network listens")
                elif not is_unspecified(listeners[container][2]):
                    member, variable, host = listeners[container]
                    problems.append(f"{owner} publishes port {container}, but {member} {variable} binds {host} (unreachable)")
        for service, variable in PUBLIC:
            _, port = self.listener(service, variable)
            if port not in {c for _, _, c in published_ports(self.service(self.owner(service)))}:
                problems.append(f"{service} {variable} (port {port}) is not published on {self.owner(service)}")
        for service, variable in LOOPBACK_ONLY:
            host, port = self.listener(service, variable)
            if not is_loopback(host):
                problems.append(f"{service} {variable} binds {host}: it must stay on loopback")
            if port in {c for _, _, c in published_ports(self.service(self.owner(service)))}:
                problems.append(f"{service} {variable} (port {port}) is published")
        return problems

    def control(self):
        problems = []
        if self.owner("query-api") != "indexer":
            problems.append("query-api is not in the indexer's network (network_mode: service:indexer)")
        host, port = self.listener("indexer", "CONTROL_BIND")
        url = urlsplit(self.value("query-api", "CONTROL_URL") or "")
        if not url.hostname or not is_loopback(url.hostname) or url.port != port:
            problems.append(f"query-api CONTROL_URL {url.geturl()!r} does not reach the indexer's CONTROL_BIND {host}:{port}")
        tokens = [environment(self.service(name)).get("CONTROL_TOKEN") for name in ("indexer", "query-api")]
        if not all(tokens) or tokens[0] != tokens[1]:
            problems.append(f"CONTROL_TOKEN must be set, to the same value, on indexer and query-api (got {tokens})")
        return problems

    def rpc(self):
        problems = []
        _, node_port = self.listener("fixture-node", "FIXTURE_BIND")
        node_host, _ = self.listener("fixture-node", "FIXTURE_BIND")
        for variable, schemes in (("RPC_URL", ("http", "https")), ("RPC_WS_URL", ("ws", "wss"))):
            url = urlsplit(self.value("indexer", variable) or "")
            if url.scheme not in schemes:
                problems.append(f"indexer {variable} {url.geturl()!r} is not a {'/'.join(schemes)} URL")
            if url.hostname == "fixture-node":
                if url.port != node_port:
                    problems.append(f"indexer {variable} {url.geturl()!r}: the fixture node listens on port {node_port}")
                if is_loopback(node_host):
                    problems.append(f"fixture-node FIXTURE_BIND {node_host}: other containers cannot reach it")
        for variable in ("DFPN_MARKETPLACE_PROGRAM_ID", "DFPN_WORKER_REGISTRY_PROGRAM_ID", "DFPN_MODEL_REGISTRY_PROGRAM_ID",
                         "DFPN_CONTENT_REGISTRY_PROGRAM_ID", "DFPN_REWARDS_PROGRAM_ID", "PSY_PROGRAM_ID"):
            if self.value("indexer", variable) != self.value("fixture-node", variable):
                problems.append(f"{variable} differs between indexer and fixture-node")
        return problems

    def volume(self):
        problems = []
        declared = self.compose.get("volumes") or {}
        paths = {name: self.value(name, DATA_ENV) for name in ("indexer", "query-api")}
        if paths["indexer"] != paths["query-api"] or not str(paths["indexer"]).startswith("/"):
            problems.append(f"{DATA_ENV} must be the same absolute path on both services, got {paths}")
        mounts = {}
        for name in ("indexer", "query-api"):
            for entry in self.service(name).get("volumes") or []:
                if isinstance(entry, dict):
                    source, target, read_only = entry.get("source"), entry.get("target"), bool(entry.get("read_only"))
                else:
                    fields = str(entry).split(":")
                    source, target = (fields[0], fields[1]) if len(fields) > 1 else (None, fields[0])
                    read_only = len(fields) > 2 and "ro" in fields[2].split(",")
                if target == paths[name]:
                    mounts[name] = (source, read_only)
        for name in ("indexer", "query-api"):
            if name not in mounts:
                problems.append(f"{name} mounts nothing at {DATA_ENV} {paths[name]}")
            elif mounts[name][1]:
                problems.append(f"{name} mounts {paths[name]} read-only (tantivy readers need the meta lock)")
            elif mounts[name][0] not in declared:
                problems.append(f"{name} mounts {mounts[name][0]!r} at {paths[name]}: not a declared named volume")
        if len({m[0] for m in mounts.values()}) > 1:
            problems.append(f"indexer and query-api mount different volumes: {mounts}")
        return problems

    def healthchecks(self):
        problems = []
        for name, (variable, path) in HEALTH.items():
            test = (self.service(name).get("healthcheck") or {}).get("test")
            words = test.split() if isinstance(test, str) else list(test or [])
            if not words or words[0] == "NONE" or (self.service(name).get("healthcheck") or {}).get("disable"):
                problems.append(f"{name} has no health check")
                continue
            urls = [urlsplit(w) for w in words if re.match(r"https?://", w)]
            _, port = self.listener(name, variable)
            if "curl" not in " ".join(words) or not urls:
                problems.append(f"{name}'s health check does not curl a URL: {words}")
            elif urls[0].port != port or (path and urls[0].path != path):
                problems.append(f"{name}'s health check asks {urls[0].geturl()}, not port {port} {path or ''} ({variable})")
        return problems

    def dockerfile(self):
        problems = []
        path = Path(self.args.dockerfile)
        stages = dockerfile_stages(path)
        if len(stages) < 2:
            return [f"{path} is not multi-stage"]
        builds = [args for _, instructions in stages for kind, args in instructions if kind == "RUN" and "cargo build" in args]
        if not builds:
            return ["no `cargo build` step"]
        build = builds[0]
        for flag in ("--release", "--locked"):
            if flag not in build:
                problems.append(f"`cargo build` without {flag}")
        packages = workspace_binaries(Path(self.args.workspace))
        built = set(packages) if "--workspace" in build else set(re.findall(r"(?:-p|--package)\s+([\w-]+)", build))
        binaries = {b for p in built for b in packages.get(p, ())}
        runtime = stages[-1][1]
        copies = [args.split() for kind, args in runtime if kind == "COPY" and "--from" in args]
        copied = " ".join(" ".join(words) for words in copies)
        sources = [word for words in copies for word in words[:-1] if not word.startswith("--")]
        text = path.read_text()
        for name in SERVICES:
            words = command_words(self.service(name))
            binary = Path(words[0]).name if words else ""
            if binary not in binaries:
                problems.append(f"{name} calls {binary!r}, which the `cargo build` step does not build")
            if f"target/release/{binary}" not in text:
                problems.append(f"{binary!r} is never taken from target/release")
            if not any(Path(source).name == binary or source.endswith("/") for source in sources):
                problems.append(f"the runtime stage does not copy {binary!r} from the builder")
        if "/usr/local/bin" not in copied:
            problems.append("the runtime stage copies nothing into /usr/local/bin")
        users = [args for kind, args in runtime if kind == "USER"]
        if not users or users[-1].split(":")[0] in ("root", "0"):
            problems.append("the runtime stage runs as root")
        if not any(kind == "RUN" and re.search(r"\bcurl\b", args) for kind, args in runtime):
            problems.append("the runtime stage does not install curl (the health checks use it)")
        volumes = " ".join(args for kind, args in runtime if kind == "VOLUME")
        data_dir = self.value("indexer", DATA_ENV)
        if data_dir not in re.findall(r"[\w/.-]+", volumes):
            problems.append(f"the runtime stage declares no VOLUME {data_dir}")
        compose_dir = Path(self.args.compose).resolve().parent
        for name in SERVICES:
            build_spec = self.service(name).get("build")
            if build_spec is None:
                problems.append(f"{name} is not built from {path.name}")
                continue
            context = build_spec if isinstance(build_spec, str) else build_spec.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build_spec, str) else build_spec.get("dockerfile", "Dockerfile")
            if (compose_dir / context / dockerfile).resolve() != path.resolve():
                problems.append(f"{name} builds {compose_dir / context / dockerfile}, not {path}")
        return problems

    def replica(self):
        """Profile `replica`: `indexer follow` and a query-api in its network, on a volume of their own,
        following the indexer's stream; profile `nats` runs the JetStream server."""
        problems = []
        if "nats" not in (self.service("nats").get("profiles") or []):
            problems.append("nats is not under profile `nats`")
        for name, (binary, subcommand) in REPLICAS.items():
            service = self.service(name)
            if "replica" not in (service.get("profiles") or []):
                problems.append(f"{name} is not under profile `replica`")
            words = command_words(service)
            if [Path(w).name if i == 0 else w for i, w in enumerate(words[:2])] != [binary, subcommand]:
                problems.append(f"{name} runs {words!r}, not `{binary} {subcommand}`")
            unknown = sorted(set(environment(service)) - set(self.opts(name)) - EXTRA_ENV)
            problems += [f"{name}: {var} is read by no flag of `{binary} {subcommand}`" for var in unknown]
        if self.owner("replica-api") != "replica":
            problems.append("replica-api is not in the replica's network (network_mode: service:replica)")
        if not self.value("replica", "NATS_URL"):
            problems.append("the replica has no NATS_URL")
        if self.value("replica", "NATS_STREAM") != self.value("indexer", "NATS_STREAM"):
            problems.append("the replica follows another NATS_STREAM than the indexer publishes")
        mounts = {}
        for name in REPLICAS:
            for entry in self.service(name).get("volumes") or []:
                fields = str(entry).split(":")
                if len(fields) > 1 and fields[1] == self.value(name, DATA_ENV):
                    mounts[name] = fields[0]
        indexer_volumes = {str(entry).split(":")[0] for entry in self.service("indexer").get("volumes") or []}
        if len(mounts) != 2 or len(set(mounts.values())) != 1:
            problems.append(f"replica and replica-api must mount one volume at {DATA_ENV}, got {mounts}")
        elif set(mounts.values()) & indexer_volumes:
            problems.append("the replica mounts the indexer's volume: it needs its own")
        listeners = {}
        for name in REPLICAS:
            for variable in self.opts(name):
                if variable.endswith("_BIND") and self.value(name, variable):
                    host, port = socket_addr(self.value(name, variable))
                    if port in listeners:
                        problems.append(f"{name} {variable} and {listeners[port][0]} both use port {port}")
                    listeners[port] = (f"{name} {variable}", host)
        for _, _, container in published_ports(self.service("replica")):
            if container not in listeners:
                problems.append(f"replica publishes port {container}, on which nothing in its network listens")
            elif not is_unspecified(listeners[container][1]):
                problems.append(f"replica publishes port {container}, but {listeners[container][0]} binds loopback")
        return problems

    def run(self):
        self.check("services indexer, query-api and fixture-node exist", self.services_exist)
        if self.failed:
            return
        self.check("fixture-node under profile demo only", self.profiles)
        self.check("commands: indexer run, query-api serve, fixture-node serve", self.commands)
        for name, (binary, subcommand) in SERVICES.items():
            self.check(f"{name}: every environment variable is a flag env of `{binary} {subcommand}`", self.env_names(name))
        self.check("published ports match the listeners' binds", self.ports)
        self.check("control endpoint: loopback, shared network, same token", self.control)
        self.check("indexer RPC URLs reach the fixture node; same program ids", self.rpc)
        self.check(f"data volume: one named volume at {DATA_ENV}, read-write, on indexer and query-api", self.volume)
        self.check("health checks: indexer /metrics, query-api /health, fixture-node", self.healthchecks)
        self.check("Dockerfile builds and installs the binaries the commands call", self.dockerfile)
        self.check("profiles nats and replica: indexer follow + query-api on their own volume, same stream", self.replica)


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "indexer-target")) / "debug"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--indexer", default=str(target / "indexer"), help="path to the built indexer binary")
    parser.add_argument("--query-api", default=str(target / "query-api"), help="path to the built query-api binary")
    parser.add_argument("--fixture-node", default=str(target / "fixture-node"), help="path to the built fixture-node binary")
    parser.add_argument("--compose", default=str(ROOT / "docker-compose.yml"))
    parser.add_argument("--dockerfile", default=str(ROOT / "Dockerfile"))
    parser.add_argument("--workspace", default=str(ROOT), help="directory of the workspace's Cargo.toml")
    args = parser.parse_args()
    try:
        checker = Checker(args)
    except (OSError, yaml.YAMLError, Problem) as err:
        print(f"FAIL compose file: {err}")
        return 1
    checker.run()
    if checker.required:
        print("note required variables (no default): " + ", ".join(sorted(checker.required)))
    if checker.failed:
        print(f"check-compose: {checker.failed} of {checker.total} checks failed")
        return 1
    print(f"check-compose: all {checker.total} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load generators on loopback: wrk when installed, else a bounded Python one.

Both run a fixed duration against one URL with a fixed number of connections and
return a :class:`RunResult`. Responses other than 200 are counted per status code.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from bench.common import httpload


@dataclass
class RunResult:
    requests: int  # completed HTTP responses, any status
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)  # status code -> count
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def non_200(self) -> int:
        return sum(n for code, n in self.statuses.items() if code != "200")

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "requests_per_s": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "statuses": self.statuses,
            "non_200": self.non_200,
            "socket_errors": self.socket_errors,
        }


# --- wrk ---------------------------------------------------------------------

# Counts statuses per thread, then prints one machine-readable line from done().
# The Authorization header (if any) is set here so the token is not on a command line.
_WRK_SCRIPT = r"""
local auth = %s
if auth ~= "" then wrk.headers["Authorization"] = auth end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args) statuses = {} end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%%s":%%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d},"statuses":{%%s}}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0].split("Copyright")[0].strip() if text else "wrk"


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(
    url: str, *, connections: int, duration: float, authorization: str = "", threads: int = 1
) -> RunResult:
    seconds = max(1, round(duration))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        os.chmod(script.name, 0o600)
        script.write(_WRK_SCRIPT % _lua_string(authorization))
    try:
        proc = subprocess.run(
            [
                "wrk",
                "--latency",
                "-t",
                str(min(threads, connections)),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(script.name)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(line[len("BENCH_JSON ") :])
    return RunResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        statuses=dict(sorted(data["statuses"].items())),
        socket_errors={k: v for k, v in data["errors"].items() if v},
    )


# --- Python fallback ---------------------------------------------------------


def run_python(
    url_path: str, port: int, *, connections: int, duration: float, authorization: str = ""
) -> RunResult:
    """``bench.common.httpload`` with one GET per iteration: ``connections``
    threads, each with one keep-alive http.client connection (reopened when the
    server closes it, as gunicorn's sync worker does after every response)."""
    result = httpload.run_clients(
        port,
        clients=connections,
        duration=duration,
        iteration_of=lambda i: lambda client: client.call("get", "GET", url_path),
        headers={"Authorization": authorization} if authorization else {},
    )
    get = result.steps.get("get", {"count": 0, "p50_ms": math.nan, "p95_ms": math.nan, "p99_ms": math.nan})
    return RunResult(
        requests=get["count"],
        duration_s=result.elapsed_s,
        p50_ms=get["p50_ms"],
        p95_ms=get["p95_ms"],
        p99_ms=get["p99_ms"],
        statuses=get.get("statuses", {}),
        socket_errors={k.removeprefix("get: "): v for k, v in result.errors.items()},
    )

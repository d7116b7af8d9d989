"""One measurement of the load benchmark (run by benchmarks/load.py, in a process of its own
because Locust patches the standard library for gevent):

    python -m benchmarks.load_driver URL PATH --users 20 --seconds 12 [--email E --password P]

`--users` Locust users (FastHttpUser, no wait between requests) each sign in through the real
sign-in form (when --email is given), then request PATH again and again. Timing starts once every
user has signed in (the sign-ins are not counted) and --warmup seconds later, and lasts --seconds.
Prints one line of JSON: requests, failures (anything but a 200), requests/s and the 50th, 95th
and 99th percentiles in ms.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import gevent
from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, constant, task
from locust.env import Environment

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def measure(url: str, path: str, users: int, seconds: float, warmup: float, email: str | None,
            password: str | None, codes: list[str] | None = None) -> dict:
    signed_in, problems = [], []
    codes = list(codes or [])  # one-time recovery codes: one per user, for two-factor sign-in
    # One sign-in at a time: a new sign-in awaiting its code replaces the same person's earlier one
    # (as a new reset link replaces an older one), so the simulated users must not overlap there.
    signing_in = BoundedSemaphore(1)

    class PageUser(FastHttpUser):
        host = url
        wait_time = constant(0)

        def on_start(self):
            if email:
                with signing_in:
                    self.sign_in()
            signed_in.append(self)

        def sign_in(self):
            page = self.client.get("/sign-in", name="sign-in")
            token = CSRF.search(page.text or "")
            response = self.client.post(
                "/sign-in", name="sign-in", allow_redirects=False,
                data={"csrf_token": token.group(1) if token else "", "email": email, "password": password},
            )
            if response.status_code == 302 and "/sign-in/two-factor" in response.headers.get("Location", ""):
                page = self.client.get("/sign-in/two-factor", name="sign-in")
                token = CSRF.search(page.text or "")
                response = self.client.post(
                    "/sign-in/two-factor", name="sign-in", allow_redirects=False,
                    data={"csrf_token": token.group(1) if token else "", "code": codes.pop() if codes else ""},
                )
            if response.status_code != 302:
                problems.append(f"sign-in as {email}: {response.status_code}")

        @task
        def page(self):
            with self.client.get(path, name="page", allow_redirects=False, catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code}")

    env = Environment(user_classes=[PageUser])
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    deadline = time.monotonic() + 120
    while len(signed_in) < users and time.monotonic() < deadline:
        gevent.sleep(0.05)
    gevent.sleep(warmup)  # every gunicorn worker has compiled its templates and opened its connections
    env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(seconds)
    entry = env.stats.get("page", "GET")
    elapsed = time.monotonic() - started
    result = {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.num_requests / elapsed,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
        "errors": sorted({str(e.error) for e in env.stats.errors.values()})[:5],
        "problems": problems[:5] + ([f"only {len(signed_in)} of {users} users signed in"]
                                    if len(signed_in) < users else []),
    }
    runner.quit()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before the measured time")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--codes", default="", help="one-time recovery codes, comma-separated, one per user")
    args = parser.parse_args()
    codes = [c for c in args.codes.split(",") if c]
    print(json.dumps(measure(args.url, args.path, args.users, args.seconds, args.warmup, args.email, args.password,
                             codes)))


if __name__ == "__main__":
    main()

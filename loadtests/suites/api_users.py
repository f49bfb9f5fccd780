"""The API's load: dashboard viewers over REST and GraphQL (the closed model: each waits
for its answers, then thinks), and the open model's arrivals at a constant rate.

Every request is named `group:endpoint` (loadtests/sla_gate.py reads the group back).
A GraphQL answer that carries `errors` counts as failed, whatever its status.
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent
import gevent.event
from gevent.pool import Pool
from locust import FastHttpUser, task

from loadtests.suites.arrivals import ArrivalSchedule, latency_ms, paced
from loadtests.suites.catalogue import (
    ApiRequest,
    Viewers,
    dashboard_page,
    graphql_panels,
    graphql_user,
    mixed_request,
    user_events,
    user_sessions,
)
from loadtests.suites.options import SuiteOptions, suite_options

# The open model never waits for a free slot before its intended start is past: this
# many requests may be in flight at once (far above what a healthy API needs).
OPEN_MODEL_CONCURRENCY = 512
# Set once every request the open model offered has been answered (or has failed).
ARRIVALS_DONE = gevent.event.Event()


class ApiUser(FastHttpUser):
    abstract = True
    # Connections one user keeps to the API; the open model sends many at once.
    concurrency = 4

    def on_start(self) -> None:
        self.options: SuiteOptions = suite_options(self.environment.parsed_options)
        self.rng = random.Random()
        self.viewers = Viewers(self.options.settings.producer.users, self.rng)
        self.api_key = self.options.key(self.rng)

    def send(
        self, request: ApiRequest, intended_start: float | None = None, api_key: str = ""
    ) -> None:
        """Send one request and report it; in the open model its latency is counted from
        `intended_start` (a time.perf_counter reading), not from when it went out."""
        headers = {"X-API-Key": api_key or self.api_key}
        if request.graphql is not None:
            call: Any = self.client.post(
                request.path,
                json=request.graphql,
                headers=headers,
                name=request.name,
                catch_response=True,
            )
        else:
            call = self.client.get(
                request.path,
                params=request.params,
                headers=headers,
                name=request.name,
                catch_response=True,
            )
        with call as response:
            if intended_start is not None:
                response.request_meta["response_time"] = latency_ms(
                    intended_start, time.perf_counter()
                )
            if request.graphql is not None and response.ok and _graphql_errors(response):
                response.failure(f"GraphQL errors: {_graphql_errors(response)}")


def _graphql_errors(response: Any) -> str:
    try:
        errors = response.json().get("errors")
    except ValueError:
        return "the answer is not JSON"
    return "; ".join(str(error.get("message")) for error in errors) if errors else ""


class RestViewer(ApiUser):
    """A dashboard viewer over REST: page loads (four panel queries at once, as the
    dashboard makes them) and, less often, a drill-down to one user."""

    weight = 3

    def wait_time(self) -> float:
        return self.rng.expovariate(1.0 / self.options.think_time_s)

    @task(4)
    def load_dashboard(self) -> None:
        page = [gevent.spawn(self.send, request) for request in dashboard_page(self.viewers)]
        gevent.joinall(page)

    @task(1)
    def open_user_events(self) -> None:
        self.send(user_events(self.viewers))

    @task(1)
    def open_user_sessions(self) -> None:
        self.send(user_sessions(self.viewers))


class GraphqlViewer(ApiUser):
    """The same viewer through /graphql: one query for the panels, one for a user."""

    weight = 1

    def wait_time(self) -> float:
        return self.rng.expovariate(1.0 / self.options.think_time_s)

    @task(4)
    def load_dashboard(self) -> None:
        self.send(graphql_panels(self.viewers))

    @task(1)
    def open_user(self) -> None:
        self.send(graphql_user(self.viewers))


class OpenModelArrivals(ApiUser):
    """Offers `--rtap-rate` requests per second of the dashboard mix for the run's
    duration, each sent when it is due whether or not earlier ones have answered."""

    fixed_count = 1
    concurrency = 64

    def wait_time(self) -> float:
        return 0.0

    @task
    def offer(self) -> None:
        options = self.options
        start = time.perf_counter()
        schedule = ArrivalSchedule(options.rate / options.arrival_users, start)
        pool = Pool(OPEN_MODEL_CONCURRENCY)
        until = start + options.warmup_s + options.duration_s
        for _, intended in paced(schedule, time.perf_counter, gevent.sleep, until):
            request = mixed_request(self.viewers)
            # A different key per request: many dashboards, each within its rate limit.
            pool.spawn(self.send, request, intended, options.key(self.rng))
        pool.join()
        ARRIVALS_DONE.set()
        while True:  # the shape ends the run once every answer is in
            gevent.sleep(1.0)

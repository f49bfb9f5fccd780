"""rtap: a real-time analytics platform as code.

Locally (the embedded default) the commands run the whole pipeline on real engines: an
Apache Kafka broker in KRaft mode, Spark Structured Streaming, the chDB ClickHouse
engine and redis-server. Settings come from `stacks/Pulumi.STACK.yaml` (`--stack`,
default `local`); `RTAP_SECTION__KEY` environment variables override single keys.
"""

from __future__ import annotations

from rtap.cli import bench, drill, keys, lifecycle, loadtest, produce, render
from rtap.cli.common import command_group

app = command_group(help=__doc__, no_args_is_help=True)
# One module per command group, each added the same way: its commands join the top level,
# or sit under the group's name (`rtap bench`, `rtap keys`).
for group in (lifecycle, produce, loadtest, drill, render, bench, keys):
    app.add_typer(group.app)

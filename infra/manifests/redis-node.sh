#!/bin/sh
# Starts one member of rtap's Redis group: `redis-node.sh server` runs the data node,
# `redis-node.sh sentinel` the Sentinel beside it. In the cluster each pod of the redis
# StatefulSet runs both (Valkey); tests/integration/test_redis_sentinel.py runs this same
# file against redis-server on loopback, so the failover logic is tested on a real engine.
#
# Environment:
#   NODE_SELF       this node, host:port:sentinel-port (one of NODE_PEERS)
#   NODE_PEERS      every node, space separated, in the same form; the first one starts as
#                   the primary when no Sentinel knows the group yet (a fresh group)
#   MASTER_SET      Sentinel's name for the group
#   REDIS_PASSWORD  AUTH of the data nodes, of replication and of the Sentinels
#   QUORUM          Sentinels that must agree the primary is down before a failover
#   DATA_DIR        the data node's files; CONF_DIR: where the configs are written
#   BIND_ADDRESS    (0.0.0.0), DOWN_AFTER_MS (5000), FAILOVER_TIMEOUT_MS (60000)
#   SERVER_BIN, CLI_BIN (valkey-server, valkey-cli)
set -eu

BIND_ADDRESS=${BIND_ADDRESS:-0.0.0.0}
DOWN_AFTER_MS=${DOWN_AFTER_MS:-5000}
FAILOVER_TIMEOUT_MS=${FAILOVER_TIMEOUT_MS:-60000}
SERVER_BIN=${SERVER_BIN:-valkey-server}
CLI_BIN=${CLI_BIN:-valkey-cli}

log() { echo "redis-node: $*" >&2; }
host_of() { echo "$1" | cut -d: -f1; }
port_of() { echo "$1" | cut -d: -f2; }
sentinel_port_of() { echo "$1" | cut -d: -f3; }

ask() {  # ask HOST PORT COMMAND...: one command, 2 s at most, empty output on failure
  ask_host=$1 ask_port=$2
  shift 2
  timeout 2 "$CLI_BIN" -h "$ask_host" -p "$ask_port" -a "$REDIS_PASSWORD" --no-auth-warning --raw "$@" \
    2>/dev/null || true
}

# The primary some other node's Sentinel names, as host:port; empty if none answers.
# Our own Sentinel is skipped: it starts after our data node and asks the same peers.
known_primary() {
  for peer in $NODE_PEERS; do
    [ "$peer" = "$NODE_SELF" ] && continue
    answer=$(ask "$(host_of "$peer")" "$(sentinel_port_of "$peer")" \
      SENTINEL get-master-addr-by-name "$MASTER_SET")
    host=$(echo "$answer" | sed -n 1p)
    port=$(echo "$answer" | sed -n 2p)
    case "$port" in
      '' | *[!0-9]*) continue ;;  # no answer, or an error such as an unknown group
    esac
    echo "$host:$port"
    return
  done
}

# The primary to follow: what the Sentinels say, else (a fresh group) the first peer.
primary() {
  found=$(known_primary)
  if [ -n "$found" ]; then
    echo "$found"
  else
    first=$(echo "$NODE_PEERS" | cut -d' ' -f1)
    echo "$(host_of "$first"):$(port_of "$first")"
  fi
}

run_server() {
  self_host=$(host_of "$NODE_SELF") self_port=$(port_of "$NODE_SELF")
  target=$(primary)
  conf="$CONF_DIR/server.conf"
  cat > "$conf" <<EOF
bind $BIND_ADDRESS
port $self_port
dir $DATA_DIR
requirepass "$REDIS_PASSWORD"
masterauth "$REDIS_PASSWORD"
replica-announce-ip $self_host
replica-announce-port $self_port
appendonly yes
protected-mode no
EOF
  if [ "$target" != "$self_host:$self_port" ]; then
    echo "replicaof $(host_of "$target") $(port_of "$target")" >> "$conf"
    log "starting as a replica of $target"
  else
    log "starting as the primary"
  fi
  exec "$SERVER_BIN" "$conf"
}

run_sentinel() {
  self_host=$(host_of "$NODE_SELF") self_port=$(port_of "$NODE_SELF")
  until [ "$(ask "$self_host" "$self_port" PING)" = "PONG" ]; do
    log "waiting for the data node at $self_host:$self_port"
    sleep 1
  done
  target=$(primary)
  conf="$CONF_DIR/sentinel.conf"
  # Sentinel rewrites its config as it learns the group, so it gets a writable copy.
  cat > "$conf" <<EOF
bind $BIND_ADDRESS
port $(sentinel_port_of "$NODE_SELF")
protected-mode no
requirepass "$REDIS_PASSWORD"
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self_host
sentinel announce-port $(sentinel_port_of "$NODE_SELF")
sentinel monitor $MASTER_SET $(host_of "$target") $(port_of "$target") $QUORUM
sentinel auth-pass $MASTER_SET "$REDIS_PASSWORD"
sentinel down-after-milliseconds $MASTER_SET $DOWN_AFTER_MS
sentinel failover-timeout $MASTER_SET $FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $MASTER_SET 1
EOF
  log "Sentinel monitoring $MASTER_SET at $target"
  exec "$SERVER_BIN" "$conf" --sentinel
}

case "${1:-}" in
  server) run_server ;;
  sentinel) run_sentinel ;;
  *) echo "usage: redis-node.sh server|sentinel" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The network of `make test-cluster`: six hosts as network namespaces on two bridges.
#
#   scripts/cluster-net.sh up      # create them (fails if they already exist)
#   scripts/cluster-net.sh down    # SIGKILL every process inside them, then delete them (idempotent)
#   scripts/cluster-net.sh replug HOST   # a rebooted back-network host: a fresh namespace, same address
#   scripts/cluster-net.sh status
#
# Back network 10.77.0.0/24: db .2, mail .3, app1 .11, app2 .12, proxy .20.
# Front network 10.77.1.0/24: proxy .20, client .30 (the users' phones reach only the proxy).
# Both bridges live in their own namespace (${CLUSTER_PREFIX}-sw); nothing is added to the
# machine's own network namespace, so no route, address or port outside these hosts changes.
set -euo pipefail
prefix=${CLUSTER_PREFIX:-walk}
switch="$prefix-sw"
back_hosts=(db:10.77.0.2 mail:10.77.0.3 app1:10.77.0.11 app2:10.77.0.12 proxy:10.77.0.20)
front_hosts=(proxy:10.77.1.20 client:10.77.1.30)
all_hosts=(db mail app1 app2 proxy client)

need_iproute2() {
  command -v ip >/dev/null 2>&1 && return
  echo "iproute2 is not installed; installing it with apt." >&2
  apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null
}

exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# attach HOST ADDRESS BRIDGE IFNAME: a veth pair, one end in the host, the other on the bridge.
attach() {
  local host=$1 address=$2 bridge=$3 ifname=$4 port="$1-$3"
  ip -n "$switch" link add "$port" type veth peer name "$ifname" netns "$prefix-$host"
  ip -n "$switch" link set "$port" master "$bridge" up
  ip -n "$prefix-$host" addr add "$address/24" dev "$ifname"
  ip -n "$prefix-$host" link set "$ifname" up
}

up() {
  need_iproute2
  for name in "$switch" "${all_hosts[@]/#/$prefix-}"; do
    if exists "$name"; then
      echo "namespace $name already exists: run 'scripts/cluster-net.sh down' (make test-cluster-clean) first" >&2
      exit 1
    fi
  done
  ip netns add "$switch"
  ip -n "$switch" link set lo up
  for bridge in back front; do
    ip -n "$switch" link add "$bridge" type bridge
    ip -n "$switch" link set "$bridge" up
  done
  for host in "${all_hosts[@]}"; do
    ip netns add "$prefix-$host"
    ip -n "$prefix-$host" link set lo up
  done
  for entry in "${back_hosts[@]}"; do attach "${entry%%:*}" "${entry#*:}" back eth0; done
  for entry in "${front_hosts[@]}"; do
    host=${entry%%:*}
    attach "$host" "${entry#*:}" front "$([ "$host" = proxy ] && echo eth1 || echo eth0)"
  done
}

# replug HOST: the host after a power cycle. Its old namespace and veth pair are deleted, so
# nothing its kernel still held (unsent data of killed processes' sockets) reaches anyone when
# it comes back, as after a real power loss; then it gets a fresh namespace with its address.
replug() {
  local host=$1 entry address=""
  for entry in "${back_hosts[@]}"; do [ "${entry%%:*}" = "$host" ] && address=${entry#*:}; done
  [ -n "$address" ] || { echo "no back-network host $host" >&2; exit 2; }
  [ -z "$(ip netns pids "$prefix-$host")" ] || { echo "$prefix-$host still runs processes" >&2; exit 1; }
  ip -n "$switch" link del "$host-back"
  ip netns del "$prefix-$host"
  ip netns add "$prefix-$host"
  ip -n "$prefix-$host" link set lo up
  attach "$host" "$address" back eth0
}

down() {
  for host in "${all_hosts[@]}" sw; do
    name="$prefix-$host"
    exists "$name" || continue
    # Only processes inside our own namespaces, each by its id (started by the cluster driver).
    for _ in 1 2 3 4 5; do
      pids=$(ip netns pids "$name" 2>/dev/null || true)
      [ -z "$pids" ] && break
      for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.2
    done
    ip netns del "$name"
  done
}

status() {
  for host in "${all_hosts[@]}"; do
    name="$prefix-$host"
    if exists "$name"; then
      echo "$name: $(ip -n "$name" -brief addr show | awk '$1 != "lo" {print $1, $3}' | tr '\n' ' ')" \
        "processes: $(ip netns pids "$name" | wc -l)"
    else
      echo "$name: absent"
    fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  replug) replug "${2:?usage: $0 replug HOST}" ;;
  *)
    echo "usage: $0 up|down|replug HOST|status" >&2
    exit 2
    ;;
esac

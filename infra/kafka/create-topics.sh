#!/usr/bin/env bash
# Creates the CityOps topics from topics.txt (idempotent). Used by the compose file's init
# container; at megacity scale raise partitions and replication (see infra/README.md).
set -euo pipefail
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
REPLICATION="${REPLICATION:-1}"
grep -v '^#' "$(dirname "$0")/topics.txt" | while read -r topic partitions retention policy _; do
  [ -n "${topic:-}" ] || continue
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICATION" \
    --config "retention.ms=$retention" --config "cleanup.policy=$policy" \
    --config min.insync.replicas="$(( REPLICATION > 1 ? 2 : 1 ))"
done

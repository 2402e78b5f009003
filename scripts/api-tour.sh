#!/usr/bin/env bash
# A tour of the HTTP API with curl, against a running `ates serve`:
#   scripts/api-tour.sh http://127.0.0.1:8080 ADMIN_PASSWORD
# ADMIN_PASSWORD is the first admin's: shown at the first start when stdout
# was a terminal, else in the data directory:
#   scripts/api-tour.sh http://127.0.0.1:8080 "$(cat ates-data/initial-admin-password)"
# The system tests run it, so it stays true.
set -euo pipefail
base="${1:-http://127.0.0.1:8080}"
admin_password="${2:?the password of the first admin: shown by ates serve at its first start on a terminal, else in DATA/initial-admin-password}"
json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "== the host"
curl -fsS "$base/readyz"; echo

echo "== a popug registers (role worker) and logs in"
name="popug$RANDOM"
curl -fsS -X POST "$base/api/v1/auth/register" \
  -d "{\"username\":\"$name\",\"password\":\"correct-horse\",\"email\":\"$name@popug.example\"}"; echo
token=$(curl -fsS -X POST "$base/api/v1/auth/login" \
  -d "{\"username\":\"$name\",\"password\":\"correct-horse\"}" | json "['token']")

echo "== who am I (the host verifies the token itself)"
until curl -fsS "$base/api/v1/auth/me" -H "Authorization: Bearer $token"; do sleep 0.2; done; echo

echo "== a worker may not list users: 403, as problem+json"
curl -sS "$base/api/v1/auth/users" -H "Authorization: Bearer $token"; echo

echo "== the admin may"
admin=$(curl -fsS -X POST "$base/api/v1/auth/login" \
  -d "{\"username\":\"admin\",\"password\":\"$admin_password\"}" | json "['token']")
curl -fsS "$base/api/v1/auth/users?limit=10" -H "Authorization: Bearer $admin"; echo

echo "== the keys any JWT library can verify tokens with"
curl -fsS "$base/.well-known/jwks.json"; echo

echo "== streams, heads and consumers (admin)"
curl -fsS "$base/api/v1/events/streams" -H "Authorization: Bearer $admin"; echo

echo "== the popug creates a task; it goes to an active worker or accountant (here: the popug)"
until task=$(curl -fsS -X POST "$base/api/v1/tracker/tasks" -H "Authorization: Bearer $token" \
  -d '{"title":"Feed the parrots","jira_id":"UBERPOP-42"}'); do sleep 0.2; done
echo "$task"
task_id=$(echo "$task" | json "['task']['id']")

echo "== my open tasks, then done"
curl -fsS "$base/api/v1/tracker/tasks/mine" -H "Authorization: Bearer $token"; echo
curl -fsS -X POST "$base/api/v1/tracker/tasks/$task_id/complete" -H "Authorization: Bearer $token"; echo

echo "== my account: the fee of the assignment and the reward of the completion, once accounting has them"
until [ "$(curl -fsS "$base/api/v1/accounting/accounts/me/entries" -H "Authorization: Bearer $token" \
  | json "['entries'].__len__()")" = 2 ]; do sleep 0.2; done
curl -fsS "$base/api/v1/accounting/accounts/me" -H "Authorization: Bearer $token"; echo
curl -fsS "$base/api/v1/accounting/accounts/me/entries" -H "Authorization: Bearer $token"; echo

echo "== management's earnings today and the days (admin)"
curl -fsS "$base/api/v1/accounting/earnings" -H "Authorization: Bearer $admin"; echo
curl -fsS "$base/api/v1/accounting/days?limit=3" -H "Authorization: Bearer $admin"; echo

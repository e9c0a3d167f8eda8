#!/bin/sh
# One-shot set-up of MinIO, run by the minio-init service on every `docker compose up`:
# the buckets `raw` (landing zone) and `lake` (Parquet lake, CSV exports), and the account
# Dagster uses, limited to those two buckets by customer-analytics-policy.json.
# Every step is idempotent, so running it again changes nothing.
set -eu

: "${MINIO_ROOT_USER:?}"
: "${MINIO_ROOT_PASSWORD:?}"
: "${MINIO_APP_ACCESS_KEY:?}"
: "${MINIO_APP_SECRET_KEY:?}"

# Compose only starts this once minio is healthy; the retry covers a slow first answer.
attempt=0
until mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do
	attempt=$((attempt + 1))
	if [ "$attempt" -ge 30 ]; then
		echo "MinIO did not answer at http://minio:9000" >&2
		exit 1
	fi
	sleep 2
done

mc mb --ignore-existing local/raw
mc mb --ignore-existing local/lake

# `policy create` replaces a policy of the same name, and `user add` resets the secret of an
# existing user, so edits to infra/.env or to the policy file take effect on the next `up`.
mc admin policy create local customer-analytics /init/customer-analytics-policy.json
mc admin user add local "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY"
# Attaching a policy that is already attached is an error; that case is checked, not ignored
# (with the shell alone: nothing but mc and sh is assumed of the image).
if ! mc admin policy attach local customer-analytics --user "$MINIO_APP_ACCESS_KEY"; then
	case "$(mc admin user info local "$MINIO_APP_ACCESS_KEY")" in
	*customer-analytics*) echo "policy customer-analytics already attached" ;;
	*) exit 1 ;;
	esac
fi

echo "MinIO ready: buckets raw and lake, account $MINIO_APP_ACCESS_KEY"

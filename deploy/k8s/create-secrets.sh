#!/usr/bin/env bash
# Creates the Secrets the manifests reference. Each is created only when it does not exist yet,
# so running this again never changes a password or a key the services already use. Nothing it
# makes is written to the repository.
#
#   deploy/k8s/create-secrets.sh [--namespace NS] [--db-host HOST] [--db-port PORT]
#                                [--db-name NAME] [--sslmode MODE]
#
# Defaults suit the CloudNativePG component: namespace callcenter, host cc-pg-rw, port 5432,
# database callcenter, sslmode require. Needs kubectl (pointed at the cluster) and openssl.
#
#   cc-db-<service>  username, password, url   one PostgreSQL role per service
#   cc-jwt-private   private.pem               ES256 signing key (gateway only)
#   cc-jwt-public    public.pem                its public key (every service)
#   cc-secrets-key   secrets.key               encrypts per-organization Twilio credentials
set -euo pipefail

ns=callcenter db_host=cc-pg-rw db_port=5432 db_name=callcenter sslmode=require
while [ $# -gt 0 ]; do
	case $1 in
	--namespace) ns=$2 ;;
	--db-host) db_host=$2 ;;
	--db-port) db_port=$2 ;;
	--db-name) db_name=$2 ;;
	--sslmode) sslmode=$2 ;;
	*)
		sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
	shift 2
done

k() { kubectl -n "$ns" "$@"; }
exists() { k get secret "$1" >/dev/null 2>&1; }

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077

for s in gateway telephony sms sentiment analytics; do
	name=cc-db-$s
	if exists "$name"; then
		echo "secret/$name exists, kept"
		continue
	fi
	# Hex keeps the password safe to embed in a URL without escaping. Values go through files
	# so the password never appears on a command line.
	pw=$(openssl rand -hex 24)
	printf '%s' "cc_$s" >"$tmp/username"
	printf '%s' "$pw" >"$tmp/password"
	printf '%s' "postgresql://cc_$s:$pw@$db_host:$db_port/$db_name?sslmode=$sslmode" >"$tmp/url"
	k create secret generic "$name" --type=kubernetes.io/basic-auth \
		--from-file=username="$tmp/username" --from-file=password="$tmp/password" \
		--from-file=url="$tmp/url"
	# CloudNativePG re-reads a role's password when a labelled secret changes.
	k label secret "$name" cnpg.io/reload=true >/dev/null
done

if exists cc-jwt-private && exists cc-jwt-public; then
	echo "secret/cc-jwt-private and secret/cc-jwt-public exist, kept"
elif exists cc-jwt-private || exists cc-jwt-public; then
	echo "only one of cc-jwt-private and cc-jwt-public exists; delete it or create the other" \
		"from the same key pair" >&2
	exit 1
else
	openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ec.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$tmp/ec.pem" -out "$tmp/private.pem"
	openssl ec -in "$tmp/private.pem" -pubout -out "$tmp/public.pem" 2>/dev/null
	k create secret generic cc-jwt-private --from-file=private.pem="$tmp/private.pem"
	k create secret generic cc-jwt-public --from-file=public.pem="$tmp/public.pem"
fi

if exists cc-secrets-key; then
	echo "secret/cc-secrets-key exists, kept"
else
	openssl rand -hex 32 >"$tmp/secrets.key"
	k create secret generic cc-secrets-key --from-file=secrets.key="$tmp/secrets.key"
fi

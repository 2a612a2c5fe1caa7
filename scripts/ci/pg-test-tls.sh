#!/usr/bin/env bash
# Turns on TLS with a certificate for `localhost` on the local PostgreSQL cluster (Debian's
# pg_ctlcluster layout), for the store's TLS test: a throwaway CA and a server certificate it
# signs, and a user `pbtnas_tls` (a member of `pbtnas`) that the server admits over TLS only.
# Prints the CA's path.
# Usage: scripts/ci/pg-test-tls.sh PASSWORD   (run as root; idempotent)
set -euo pipefail
password=${1:?usage: $0 PASSWORD}
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
dir=/etc/postgresql/pbtnas-test-tls
mkdir -p "$dir"
cd "$dir"
if ! [ -f server.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
    -subj /CN=pbtnas-test-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
    -days 30 -extfile ext 2>/dev/null
  chown postgres:postgres server.key server.crt
  chmod 600 server.key
fi
psql_admin() { su postgres -c "psql -qtAc \"$1\""; }
psql_admin "ALTER SYSTEM SET ssl = on"
psql_admin "ALTER SYSTEM SET ssl_cert_file = '$dir/server.crt'"
psql_admin "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'"
psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'pbtnas_tls'" | grep -q 1 ||
  psql_admin "CREATE USER pbtnas_tls"
psql_admin "ALTER USER pbtnas_tls WITH PASSWORD '$password'"
# The tables of the test database belong to `pbtnas`.
psql_admin "GRANT pbtnas TO pbtnas_tls"
hba=$(psql_admin "SHOW hba_file")
rule='hostnossl all pbtnas_tls all reject'
grep -qxF "$rule" "$hba" || sed -i "1i $rule" "$hba"
psql_admin "SELECT pg_reload_conf()" >/dev/null
sleep 1
echo "$dir/ca.crt"

#!/usr/bin/env bash
# Debian's headers that python-ldap (the `ldap` extra, django-auth-ldap's client) compiles against, installed
# when missing (root, or sudo) before pip builds it: `make install-dev` runs this first. Needs gcc and the
# Python headers, which the Python image has.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -e /usr/include/ldap.h ] || [ ! -e /usr/include/sasl/sasl.h ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libldap2-dev libsasl2-dev >/dev/null
fi

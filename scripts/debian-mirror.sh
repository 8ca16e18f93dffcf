#!/usr/bin/env bash
# Sourced by the provisioning scripts: the first http(s) mirror URI of the machine's own Debian
# sources (deb822 or one-line format), so no mirror host name is ever written into the repo.
# Needs a `log` function from the caller.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { log "cannot find a Debian mirror in /etc/apt/sources*"; exit 1; }
  printf '%s\n' "$uri"
}

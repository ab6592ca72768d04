#!/usr/bin/env bash
# Install the Debian packages named as arguments that are not installed yet.
# Quick when everything is there (one dpkg-query), so `make setup` can call it every time.
# The packaged services must never start on their default ports by themselves: while we
# install, a policy-rc.d that refuses service starts is put in place unless one exists already.
set -euo pipefail

missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "Need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
else
  SUDO=
fi

echo "Installing Debian packages: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# temporary, from leanvibe-controlpanel setup: do not start services\nexit 101\n' \
    | $SUDO tee $policy >/dev/null
  $SUDO chmod 755 $policy
  created_policy=1
fi
cleanup() { if ((created_policy)); then $SUDO rm -f $policy; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Update the lists only when they are missing or older than a day.
if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1) ]]; then
  $SUDO apt-get update -qq
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The packaged Prometheus services would start at the next boot on the very ports the local
# stack uses (and on every interface), and the packaged supervisord and haproxy as system
# daemons: the stack runs its own of each, in the foreground, so keep them off.
for pkg in "${missing[@]}"; do
  case $pkg in
    prometheus|prometheus-alertmanager|prometheus-node-exporter|prometheus-redis-exporter|supervisor|haproxy)
      if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        $SUDO systemctl disable --now "$pkg" >/dev/null 2>&1 || true
      elif command -v update-rc.d >/dev/null && [[ -e /etc/init.d/$pkg ]]; then
        $SUDO update-rc.d "$pkg" disable >/dev/null 2>&1 || true
      fi
      ;;
  esac
done

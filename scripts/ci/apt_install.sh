#!/bin/bash
# Install Debian packages quickly and quietly (root). Usage: apt_install.sh PKG...
# Skips everything when all packages are installed already; runs `apt-get update` only
# when the package lists are missing or an install from the current lists fails.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
# keep the packages' init scripts from auto-starting daemons with a default config
NOPOL=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; NOPOL=1
fi
trap 'if [ $NOPOL = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
install() { apt-get install -y -q --no-install-recommends "${missing[@]}"; }
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || ! install; then
  apt-get update -q
  install
fi

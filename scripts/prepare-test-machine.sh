#!/usr/bin/env bash
# What the test suite needs of the machine itself, beyond the venv: Debian's Chromium for the
# browser tests, a Java runtime >= 17 for PySpark, and MariaDB answering on 127.0.0.1:3306 as root
# with an empty password. Brings in what is missing (Debian 12, apt-get, root or passwordless sudo),
# prints one line per thing it does and nothing when all is there; run it as often as you like.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
JAVA_MIN=17
MARIADBD=/usr/sbin/mariadbd
MARIADB_WAIT_SECONDS=60

say() { echo "prepare-test-machine: $*"; }
fail() {
  echo "prepare-test-machine: $*" >&2
  exit 1
}

# Root's commands run as they are for root, through sudo for a user allowed it without a password.
as_root=()
have_root() {
  if [[ $EUID -eq 0 ]]; then
    return 0
  fi
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
    return 0
  fi
  return 1
}

java_major() {
  local version
  version=$(java -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p')
  version=${version#1.} # Java 8 and older call themselves 1.N
  echo "${version%%[!0-9]*}"
}

java_ok() {
  command -v java >/dev/null || return 1
  local major
  major=$(java_major)
  [[ -n $major && $major -ge $JAVA_MIN ]]
}

# `ping` counts a server that refuses root's host (a fresh install's) as down: an open port is up.
mariadb_up() {
  mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 ||
    (: </dev/tcp/127.0.0.1/3306) 2>/dev/null
}

# `ping` answers 0 even when root is refused: the tests need root in, and allowed to set globals.
mariadb_root_in() {
  mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -u root -e 'SET GLOBAL local_infile = 1' \
    >/dev/null 2>&1
}

# 1. The Debian packages of whatever is missing, installed in one go.
packages=()
[[ -x $CHROMIUM ]] || packages+=(chromium chromium-driver)
java_ok || packages+=("openjdk-$JAVA_MIN-jre-headless")
if ! { command -v mariadb-admin >/dev/null && mariadb_root_in; }; then
  [[ -x $MARIADBD ]] || packages+=(mariadb-server)
  command -v mariadb-admin >/dev/null || packages+=(mariadb-client)
fi

if ((${#packages[@]})); then
  install_command="apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
  command -v apt-get >/dev/null ||
    fail "missing ${packages[*]} and there is no apt-get here: install them by hand"
  have_root ||
    fail "missing ${packages[*]}; installing them needs root. Run: sudo sh -c '$install_command'"
  say "installing ${packages[*]}"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  # env, not a plain assignment: sudo would drop the variable.
  if ! { "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${packages[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fail "installing ${packages[*]} failed (above). Run: sudo sh -c '$install_command'"
  fi
fi

# 2. What the packages should have brought.
[[ -x $CHROMIUM ]] ||
  fail "$CHROMIUM is missing. Run: sudo apt-get install -y --no-install-recommends chromium chromium-driver"
if ! java_ok; then
  found="no java"
  command -v java >/dev/null && found="$(command -v java), Java $(java_major)"
  fail "PySpark needs Java >= $JAVA_MIN on PATH, found $found." \
    "Run: sudo apt-get install -y --no-install-recommends openjdk-$JAVA_MIN-jre-headless" \
    "(and sudo update-alternatives --config java if an older one stays first)"
fi

# 3. MariaDB running, as the test fixtures start it; its socket folder lives under /run, which a
# reboot empties.
if ! mariadb_up; then
  have_root ||
    fail "MariaDB is not running on 127.0.0.1:3306 and starting it needs root." \
      "Run: sudo start-stop-daemon --start --oknodo --background --exec $MARIADBD -- --user=mysql"
  say "starting MariaDB"
  "${as_root[@]}" install -d -o mysql -g mysql /run/mysqld
  "${as_root[@]}" start-stop-daemon --start --oknodo --background --exec "$MARIADBD" \
    -- --user=mysql
  for _ in $(seq 1 "$MARIADB_WAIT_SECONDS"); do
    mariadb_up && break
    sleep 1
  done
  mariadb_up ||
    fail "MariaDB did not answer on 127.0.0.1:3306 within ${MARIADB_WAIT_SECONDS}s; see its error log (/var/log/mysql/ or journalctl)"
fi

# 4. Root over TCP with an empty password. A fresh Debian install lets root in only over the
# socket (unix_socket, with the password 'invalid'), so root also gets a passwordless login from
# 127.0.0.1: its own account where the server skips name resolution, root@localhost's where
# 127.0.0.1 resolves to localhost. A root password someone set is never replaced.
GRANT_LOOPBACK="CREATE USER IF NOT EXISTS root@'127.0.0.1'"
GRANT_LOOPBACK+="; GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION"
OPEN_LOCALHOST="ALTER USER root@localhost"
OPEN_LOCALHOST+=" IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket"
if ! mariadb_root_in; then
  have_root ||
    fail "MariaDB refuses root on 127.0.0.1:3306 and fixing that needs root." \
      "Run: sudo mariadb -e \"$GRANT_LOOPBACK\""
  say "letting MariaDB's root in from 127.0.0.1 without a password"
  "${as_root[@]}" mariadb -u root -e "$GRANT_LOOPBACK" ||
    fail "could not log in to MariaDB as root over its socket to grant root@127.0.0.1"
  if ! mariadb_root_in &&
    "${as_root[@]}" mariadb -u root -N -e 'SHOW CREATE USER root@localhost' |
    grep "USING 'invalid' OR unix_socket" >/dev/null; then
    "${as_root[@]}" mariadb -u root -e "$OPEN_LOCALHOST"
  fi
  mariadb_root_in ||
    fail "MariaDB still refuses root from 127.0.0.1 with an empty password (or refuses it" \
      "SET GLOBAL local_infile = 1). If root@localhost has a password, run: sudo mariadb -e" \
      "\"$OPEN_LOCALHOST\"   (or add skip-name-resolve under [mysqld] and restart MariaDB)"
fi

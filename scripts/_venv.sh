# Sourced by scripts/demo and scripts/test: create or update .venv and install xsweep.
# Usage: ensure_venv EXTRAS   (e.g. ensure_venv "test,dask" or ensure_venv "plot")
ensure_venv() {
    local extras=$1
    local py=${PYTHON:-python3}
    if [ ! -x .venv/bin/python ]; then
        if ! "$py" -m venv .venv 2>/dev/null; then
            # Debian splits venv out of python3; install it when we can.
            rm -rf .venv
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
                    apt-get install -y -q python3-venv >/dev/null
                "$py" -m venv .venv
            else
                echo "error: '$py -m venv' failed; install python3-venv (sudo apt-get install python3-venv) and run again" >&2
                return 1
            fi
        fi
    fi
    local stamp=.venv/.xsweep-installed-$extras
    # Reinstall when pyproject.toml changed since the last install with these extras.
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[$extras]"
        touch "$stamp"
    fi
}

# Sourced by scripts/serve and scripts/test: make .venv match a lock file, then return.
# Needs only Python 3.11+ with venv; everything else comes from PyPI, pinned and hash-checked.
set -eu
cd "$(dirname "$0")/.."

find_python() {
    for candidate in ${CHARTER_PYTHON:-} python3.13 python3.12 python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "charter: Python 3.11 or newer is needed (set CHARTER_PYTHON to its path)" >&2
    return 1
}

bootstrap() {
    lock="$1"
    if [ ! -x .venv/bin/python ]; then
        python=$(find_python)
        echo "Creating .venv with $python ..." >&2
        "$python" -m venv .venv
    fi
    stamp=".venv/.stamp-$(basename "$lock")-$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()+open("pyproject.toml","rb").read()).hexdigest()[:16])' "$lock")"
    if [ ! -f "$stamp" ]; then
        echo "Installing the locked dependencies ($lock) ..." >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
        rm -f .venv/.stamp-"$(basename "$lock")"-*
        touch "$stamp"
    fi
}

#!/bin/sh
# The pre-push hook (.pre-commit-config.yaml): DVC's own (`dvc push` of every cached output) when a
# default DVC remote is configured; without one, `dvc push` would fail and block every `git push`,
# so it says so and lets the push through (README: Share results through a DVC remote).
in_venv=$(dirname "$0")/in_venv
if "$in_venv" dvc remote default >/dev/null 2>&1; then
    exec "$in_venv" dvc git-hook pre-push "$@"
fi
echo "no default DVC remote: data and models not pushed (dvc remote add --default NAME URL)"

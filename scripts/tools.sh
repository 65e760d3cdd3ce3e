# Sourced by scripts/test, scripts/demo and .ci/run: installs the test tools from PyPI into
# one virtual environment outside the clone (reused between runs) and puts it on PATH.
#   moto[server]  the local AWS emulator the integration tests and the demo run against
#   cfn-lint      checks template.yaml
#   cargo-lambda  the Lambda runtime emulator for the black-box run (cargo lambda watch/invoke)
# Versions are pinned so every machine tests against the same emulator.
TOOLS_DIR="${EKS_REMEDIATOR_TOOLS:-$HOME/.cache/eks-remediator/tools}"
TOOLS_REQUIREMENTS=("moto[server]==5.2.1" "cfn-lint==1.51.0" "cargo-lambda==1.9.2" "PyYAML>=6")
if [ ! -x "$TOOLS_DIR/bin/python" ]; then
  echo "tools: creating $TOOLS_DIR" >&2
  python3 -m venv "$TOOLS_DIR"
fi
if ! "$TOOLS_DIR/bin/python" -m pip install --disable-pip-version-check -q "${TOOLS_REQUIREMENTS[@]}"; then
  echo "tools: could not install ${TOOLS_REQUIREMENTS[*]} from PyPI" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="$TOOLS_DIR/bin:$PATH"
# The integration tests start moto's server with this interpreter.
export MOTO_PYTHON="$TOOLS_DIR/bin/python"
# One build cache outside the clone, so repeated runs stay fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eks-remediator/target}"

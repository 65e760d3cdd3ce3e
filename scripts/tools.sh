# Sourced by scripts/test, scripts/demo and .ci/run: installs the test tools from PyPI into
# virtual environments outside the clone (reused between runs) and puts them on PATH.
#   moto[server]  the local AWS emulator the integration tests and the demo run against
#   waitress      serves moto with keep-alive connections in bench/sweep.py's second run
#   cfn-lint      checks template.yaml
#   cargo-lambda  the Lambda runtime emulator for the black-box run (cargo lambda watch/invoke),
#                 and the builder `sam build` calls (it brings zig, for the arm64 cross build)
#   aws-sam-cli   `sam validate --lint` and `sam build` (scripts/template-checks)
#   checkov       the template's security scan (scripts/template-checks)
# and from Debian's archive (apt, when missing):
#   chromium      headless, loads the CLI's HTML report in tests/scan_org.rs (CHROMIUM names
#                 another browser); fonts-liberation gives it fonts to render text with
# Versions are pinned so every machine tests against the same emulator and checkers.
# aws-sam-cli pins cfn-lint<1.59,>=1.52, boto3==1.43.108 and click==8.1.8, and checkov pins
# boto3 1.35 and networkx 2.6: neither fits the first environment, nor each other, so each
# has its own, and only their `sam` and `checkov` commands are put on PATH (through
# $TOOLS_DIR-bin), so that `python`, `cfn-lint` and `boto3` stay the first environment's.
# An environment is (re)installed only when its pinned list changed, so a run that finds
# them in place costs nothing and says nothing.
TOOLS_DIR="${EKS_REMEDIATOR_TOOLS:-$HOME/.cache/eks-remediator/tools}"
TOOLS_REQUIREMENTS=("moto[server]==5.2.1" "cfn-lint==1.51.0" "cargo-lambda==1.9.2" "PyYAML>=6" "waitress==3.0.2")
TOOLS_SAM_REQUIREMENTS=("aws-sam-cli==1.170.0")
TOOLS_CHECKOV_REQUIREMENTS=("checkov==3.3.30")

# _tools_venv DIR REQUIREMENT...: creates the virtual environment DIR if needed and installs
# the requirements into it unless DIR/.requirements already lists exactly these.
_tools_venv() {
  local dir="$1"; shift
  local wanted; wanted="$(printf '%s\n' "$@")"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.requirements" 2>/dev/null)" = "$wanted" ]; then
    return 0
  fi
  if [ ! -x "$dir/bin/python" ]; then
    echo "tools: creating $dir" >&2
    python3 -m venv "$dir" || return 1
  fi
  echo "tools: installing $* into $dir" >&2
  "$dir/bin/python" -m pip install --disable-pip-version-check -q "$@" || return 1
  printf '%s\n' "$wanted" > "$dir/.requirements"
}

if ! _tools_venv "$TOOLS_DIR" "${TOOLS_REQUIREMENTS[@]}" \
  || ! _tools_venv "$TOOLS_DIR-sam" "${TOOLS_SAM_REQUIREMENTS[@]}" \
  || ! _tools_venv "$TOOLS_DIR-checkov" "${TOOLS_CHECKOV_REQUIREMENTS[@]}"; then
  echo "tools: could not install the test tools from PyPI" >&2
  return 1 2>/dev/null || exit 1
fi
# Chromium is a system package: a browser build downloaded by playwright or pyppeteer comes
# from a CDN, which is not a package registry.
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "tools: installing chromium from the Debian archive" >&2
  _tools_sudo=""; [ "$(id -u)" -eq 0 ] || _tools_sudo="sudo"
  if ! { $_tools_sudo apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $_tools_sudo apt-get install -y -qq \
        --no-install-recommends chromium fonts-liberation >/dev/null; }; then
    echo "tools: could not install chromium (apt-get)" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
mkdir -p "$TOOLS_DIR-bin"
ln -sf "$TOOLS_DIR-sam/bin/sam" "$TOOLS_DIR-bin/sam"
ln -sf "$TOOLS_DIR-checkov/bin/checkov" "$TOOLS_DIR-bin/checkov"
export PATH="$TOOLS_DIR/bin:$TOOLS_DIR-bin:$PATH"
# The integration tests start moto's server with this interpreter.
export MOTO_PYTHON="$TOOLS_DIR/bin/python"
# One build cache outside the clone, so repeated runs stay fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eks-remediator/target}"
# No usage reports from the SAM CLI (there is no network but the package registries).
export SAM_CLI_TELEMETRY=0

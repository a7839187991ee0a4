# Sourced by the scripts that install what a test needs from Debian (browser.sh,
# haproxy.sh): one way to install, through sudo unless already root.
# debian_install "REASON" PACKAGE...: installs the packages, or exits 2 on a system
# without apt-get, naming them.
debian_install() {
  local reason=$1
  shift
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $* missing and this is not a Debian-like system; install $([ $# -gt 1 ] && echo them || echo it)" >&2
    exit 2
  fi
  echo "installing Debian's $* $reason..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
